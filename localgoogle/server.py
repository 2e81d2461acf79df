"""Serve a WSGI app on a loopback port with HTTP/1.1 keep-alive (tests, tools, benchmarks).

werkzeug's threaded server answers every request with ``Connection: close`` (werkzeug 3.x
does so whatever the handler's ``protocol_version``), so each call a client makes pays a new
TCP connection and a new thread, and benchmarks end up measuring reconnects.
``KeepAliveHandler`` keeps connections open the way HTTP/1.1 allows:

* which connections stay open is the server's ``keep_alive`` policy. ``"always"``: every
  HTTP/1.1 connection unless the client says ``Connection: close`` (as Google's servers do).
  ``"requested"``: only when the request asks with ``Connection: keep-alive``, which
  requests/urllib3 send on every request; the others are answered ``Connection: close`` as
  before. HTTP/1.1 lets a server close after any response, and the clients that do not ask
  (httplib2 under google-api-python-client, ``http.client``) are often dropped unclosed in
  tests: kept open, their sockets are left to the garbage collector, a ``ResourceWarning``
  that the test suites turn into errors. Hence ``serve()`` defaults to ``"requested"`` (or
  to ``$LOCALGOOGLE_KEEP_ALIVE``, which ``python -m bench`` sets to ``always`` for its own
  process), and the standalone servers (``python -m localgoogle``, the local emulator
  stack) use ``"always"``;
* a response without ``Content-Length`` is sent chunked (to an HTTP/1.0 client: the
  connection closes after it instead);
* the request body the app did not read is skipped, exactly ``Content-Length`` bytes (never
  the next request); more than ``MAX_DRAIN`` unread bytes, or a chunked request body, closes
  the connection instead;
* ``TCP_NODELAY``: a response's head and body are separate writes, and Nagle's algorithm
  would hold the second one for the client's delayed ACK (tens of milliseconds per request).

``KeepAliveServer`` handles each connection on a daemon thread of its own and remembers the
open ones: ``server_close()`` shuts them down, so a client's idle kept-alive connection never
keeps a handler thread (or a test) waiting after the server stopped.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Literal, cast

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication as WSGIApp

KeepAlive = Literal["always", "requested"]
KEEP_ALIVE_POLICIES: tuple[KeepAlive, ...] = ("always", "requested")
KEEP_ALIVE_ENV = "LOCALGOOGLE_KEEP_ALIVE"
# Unread request body we skip to keep the connection; beyond it closing is cheaper.
MAX_DRAIN = 1 << 20
_BODYLESS = frozenset({204, 304})


class _Exchange:
    """One request's response: WSGI ``start_response``/``write`` over the handler's socket."""

    def __init__(self, handler: KeepAliveHandler, environ: dict[str, Any]) -> None:
        self.handler = handler
        self.environ = environ
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        self.chunked = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called twice")
        self.status, self.headers = status, list(headers)
        return self.write

    def _send_head(self) -> None:
        assert self.status is not None, "write() before start_response"
        h = self.handler
        code_text, _, reason = self.status.partition(" ")
        code = int(code_text)
        h.send_response(code, reason)
        names = set()
        for name, value in self.headers:
            h.send_header(name, value)  # a "Connection: close" here closes, as it should
            names.add(name.lower())
        bodyless = self.environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in _BODYLESS
        if "content-length" not in names and not bodyless:
            if h.request_version >= "HTTP/1.1":
                self.chunked = True
                h.send_header("Transfer-Encoding", "chunked")
            else:
                h.close_connection = True  # an HTTP/1.0 client reads the body until EOF
        if h.close_connection and "connection" not in names:
            h.send_header("Connection", "close")
        h.end_headers()
        self.head_sent = True

    def write(self, data: bytes) -> None:
        if not self.head_sent:
            self._send_head()
        if not data:
            return
        wfile = self.handler.wfile
        if self.chunked:
            wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            wfile.write(data)

    def run(self, app: WSGIApp) -> None:
        body = app(self.environ, self.start_response)
        try:
            for data in body:
                self.write(data)
            if not self.head_sent:
                self.write(b"")
            if self.chunked:
                self.handler.wfile.write(b"0\r\n\r\n")
            self.handler.wfile.flush()
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler speaking HTTP/1.1 with persistent connections."""

    protocol_version = "HTTP/1.1"

    server: KeepAliveServer

    def parse_request(self) -> bool:
        ok = super().parse_request()
        asked = "keep-alive" in self.headers.get("Connection", "").lower()
        if ok and self.server.keep_alive == "requested" and not asked:
            self.close_connection = True  # see the module docstring
        return ok

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):  # not a TCP socket (a Unix one): nothing to tune
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body = self._limit_body(environ)
        exchange = _Exchange(self, environ)
        try:
            exchange.run(self.server.app)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away mid-exchange
            return
        except Exception:
            if self.server.passthrough_errors:
                raise
            self.close_connection = True
            if not exchange.head_sent:
                with contextlib.suppress(Exception):
                    _Exchange(self, environ).run(InternalServerError())
            self.log_error("Error on request:\n%s", traceback.format_exc())
            return
        if not self.close_connection and not _skip_unread(body):
            self.close_connection = True

    def _limit_body(self, environ: dict[str, Any]) -> LimitedStream | None:
        """Bound the app's input to this request's body, so what it leaves unread can be
        skipped exactly. None: the body cannot be skipped safely (chunked or a malformed
        length) and the connection closes after the response."""
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug decodes it
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if length < 0:
            return None
        stream = LimitedStream(cast(IO[bytes], self.rfile), length)  # a buffered socket reader
        environ["wsgi.input"] = stream
        return stream


def _skip_unread(body: LimitedStream | None) -> bool:
    """Read past what the app left of the request body; False: close the connection."""
    if body is None:
        return False
    if body.limit - body.tell() > MAX_DRAIN:
        return False
    try:
        body.exhaust()
    except Exception:  # the client disconnected mid-body (ClientDisconnected, OSError)
        return False
    return True


class KeepAliveServer(ThreadedWSGIServer):
    """Threaded werkzeug server with ``KeepAliveHandler``, tracking its open connections."""

    def __init__(self, host: str, port: int, app: WSGIApp, keep_alive: KeepAlive) -> None:
        if keep_alive not in KEEP_ALIVE_POLICIES:
            raise ValueError(f"keep_alive must be one of {KEEP_ALIVE_POLICIES}: {keep_alive!r}")
        self.keep_alive = keep_alive
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(host, port, app, handler=KeepAliveHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open connection: an idle handler's read returns at once and its
        thread ends; a client sees the connection closed."""
        with self._open_lock:
            open_now = list(self._open)
        for conn in open_now:
            with contextlib.suppress(OSError):  # closed by its own thread meanwhile
                conn.shutdown(socket.SHUT_RDWR)

    def server_close(self) -> None:
        super().server_close()
        self.close_connections()


def make_keepalive_server(
    host: str, port: int, app: WSGIApp, keep_alive: KeepAlive = "always"
) -> KeepAliveServer:
    """``werkzeug.serving.make_server(host, port, app, threaded=True)`` with keep-alive."""
    return KeepAliveServer(host, port, app, keep_alive)


def default_keep_alive() -> KeepAlive:
    """``$LOCALGOOGLE_KEEP_ALIVE`` (``always`` or ``requested``), else ``requested``."""
    value = os.environ.get(KEEP_ALIVE_ENV) or "requested"
    for policy in KEEP_ALIVE_POLICIES:
        if value == policy:
            return policy
    raise ValueError(f"{KEEP_ALIVE_ENV} must be one of {KEEP_ALIVE_POLICIES}: {value!r}")


@contextmanager
def serve(
    app: WSGIApp, host: str = "127.0.0.1", port: int = 0, keep_alive: KeepAlive | None = None
) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT``) while ``app`` is served (``keep_alive``
    None: ``default_keep_alive()``)."""
    server = make_keepalive_server(host, port, app, keep_alive or default_keep_alive())
    # A short poll interval makes shutdown quick (tests start and stop many servers).
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="emulator-http",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()  # also ends idle kept-alive connections
        thread.join(timeout=5)
