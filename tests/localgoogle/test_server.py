"""``localgoogle.server``: HTTP/1.1 keep-alive that stays correct, and a shutdown that is quick
with idle kept-alive connections open."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from localgoogle.server import KEEP_ALIVE_ENV, KeepAlive, default_keep_alive, serve


def _app() -> Flask:
    app = Flask(__name__)

    @app.route("/port", methods=["GET", "POST"])
    def port() -> ResponseReturnValue:
        # The client's port: the same port twice means the same TCP connection.
        return jsonify(port=request.environ["REMOTE_PORT"])

    @app.post("/ignore-body")
    def ignore_body() -> ResponseReturnValue:
        return jsonify(ok=True)  # leaves the request body unread

    @app.get("/stream")
    def stream() -> Response:
        def parts() -> Iterator[bytes]:
            yield b"one,"
            yield b"two"

        return Response(parts())  # no Content-Length: sent chunked

    return app


@pytest.fixture(params=["always", "requested"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    # requests asks for keep-alive on every request: both policies keep its connections.
    with serve(_app(), keep_alive=request.param) as base:
        yield base


def _port(session: requests.Session, url: str) -> int:
    r = session.get(url + "/port", timeout=5)
    assert r.status_code == 200
    return int(r.json()["port"])


def test_two_requests_share_one_connection(url: str) -> None:
    with requests.Session() as session:
        first = _port(session, url)
        second = _port(session, url)
        adapter = session.get_adapter(url)
        assert isinstance(adapter, requests.adapters.HTTPAdapter)
        pools = adapter.poolmanager.pools
        # urllib3's pool container refuses iteration; keys() is its way to list the pools.
        opened = [pools[key].num_connections for key in pools.keys()]  # noqa: SIM118
        assert first == second
        assert opened == [1]  # urllib3 opened one connection for both


def test_unread_body_is_skipped_and_the_connection_kept(url: str) -> None:
    with requests.Session() as session:
        before = _port(session, url)
        r = session.post(url + "/ignore-body", data=b"x" * 200_000, timeout=5)
        assert r.json() == {"ok": True}
        assert _port(session, url) == before


def test_response_without_length_is_chunked_and_the_connection_kept(url: str) -> None:
    with requests.Session() as session:
        before = _port(session, url)
        r = session.get(url + "/stream", timeout=5)
        assert r.headers["Transfer-Encoding"] == "chunked"
        assert r.content == b"one,two"
        assert _port(session, url) == before


def test_client_asking_to_close_gets_a_closed_connection(url: str) -> None:
    with requests.Session() as session:
        r = session.get(url + "/port", headers={"Connection": "close"}, timeout=5)
        assert r.headers["Connection"] == "close"
        assert _port(session, url) != r.json()["port"]


def _plain_client_request(base: str) -> http.client.HTTPConnection:
    """One GET by a client that sends no Connection header (as httplib2 does)."""
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=5)
    conn.request("GET", "/port")
    response = conn.getresponse()
    assert response.read()
    return conn


def test_requested_policy_closes_clients_that_do_not_ask() -> None:
    # httplib2 and http.client send no Connection header and are often dropped unclosed in
    # tests: the server closes instead of leaving their sockets to the garbage collector.
    with serve(_app(), keep_alive="requested") as base:
        conn = _plain_client_request(base)
        try:
            assert conn.sock is None  # http.client closed it, as the server said
        finally:
            conn.close()


def test_always_policy_keeps_clients_that_do_not_ask() -> None:
    with serve(_app(), keep_alive="always") as base:
        conn = _plain_client_request(base)
        try:
            assert conn.sock is not None
            conn.request("GET", "/port")
            port = json.loads(conn.getresponse().read())["port"]
            assert port == conn.sock.getsockname()[1]  # the same connection again
        finally:
            conn.close()


@pytest.mark.parametrize(("value", "policy"), [("", "requested"), ("always", "always"),
                                               ("requested", "requested")])  # fmt: skip
def test_default_policy_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, policy: KeepAlive
) -> None:
    monkeypatch.setenv(KEEP_ALIVE_ENV, value)
    assert default_keep_alive() == policy


def test_unknown_policy_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEEP_ALIVE_ENV, "sometimes")
    with pytest.raises(ValueError, match=KEEP_ALIVE_ENV):
        default_keep_alive()


def test_http_1_0_client_without_keep_alive_is_closed_after_the_response() -> None:
    with serve(_app(), keep_alive="always") as url:
        data = _http_1_0_exchange(url)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"chunked" not in head.lower()
    assert body == b"one,two"


def _http_1_0_exchange(url: str) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /stream HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):  # ends at EOF: the server closed
            data += chunk
    return data


def _handler_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "process_request_thread" in t.name}


def test_shutdown_is_quick_with_an_idle_kept_alive_connection() -> None:
    before = _handler_threads()
    with serve(_app(), keep_alive="always") as base:
        conn = _plain_client_request(base)
        assert conn.sock is not None  # kept alive, now idle on the server's side
        started = time.monotonic()
    # Generous bound: without closing idle connections a handler thread would wait forever.
    assert time.monotonic() - started < 3
    try:
        assert conn.sock.recv(1) == b""  # the server closed the idle connection
    finally:
        conn.close()
    deadline = time.monotonic() + 5
    while _handler_threads() - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _handler_threads() - before  # its handler thread ended
