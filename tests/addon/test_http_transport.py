"""``PoolTransport`` (the providers' default) keeps ``HttpTransport.send``'s contract: JSON,
form and raw bodies as requests sent them, query parameters, lower-case headers, and
``TransportError`` for anything that is not an HTTP answer."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from addon.providers.http import (
    PoolTransport,
    RequestsTransport,
    TransportError,
    default_transport,
)


@pytest.fixture
def echo() -> Iterator[str]:
    @Request.application
    def app(request: Request) -> Response:
        body = {
            "method": request.method,
            "args": request.args.to_dict(flat=False),
            "content_type": request.headers.get("Content-Type"),
            "data": request.get_data(as_text=True),
            "key": request.headers.get("Idempotency-Key"),
        }
        return Response(json.dumps(body), 201, {"X-Echo": "yes", "Retry-After": "3"})

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def _send(transport: Any, url: str, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
    r = transport.send("POST", url, headers={"Idempotency-Key": "k1"}, timeout=5, **kwargs)
    return r.status, r.json(), dict(r.headers)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"a": [1, "é"]}},
        {"data": {"grant_type": "refresh_token", "x": "a b&c"}},
        {"data": b"raw bytes"},
        {"json": None, "params": {"q": "1 2", "r": "é"}},
    ],
)
def test_pool_transport_sends_what_requests_sent(echo: str, kwargs: dict[str, Any]) -> None:
    ours = _send(PoolTransport(), echo + "/m?z=0", **kwargs)
    theirs = _send(RequestsTransport(), echo + "/m?z=0", **kwargs)
    assert ours[0] == theirs[0] == 201
    assert ours[1] == theirs[1]
    assert ours[2]["x-echo"] == "yes" and ours[2]["retry-after"] == "3"


def test_pool_transport_raises_transport_error_without_an_answer() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: the connection is refused
        with pytest.raises(TransportError):
            PoolTransport().send("GET", f"http://127.0.0.1:{port}/x", headers={}, timeout=2)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, PoolTransport),
        ({"HTTPS_PROXY": "http://proxy.example:3128"}, RequestsTransport),
        ({"http_proxy": "http://proxy.example:3128"}, RequestsTransport),
        ({"ALL_PROXY": "socks5://proxy.example:1080"}, RequestsTransport),
        ({"NO_PROXY": "vendor.example"}, PoolTransport),
    ],
)
def test_the_default_transport_honours_a_proxy_named_by_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: type
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert type(default_transport()) is expected
