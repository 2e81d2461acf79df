"""The HTTP seam of providers that call a conferencing system's API.

``HttpTransport`` is the one method a provider needs; tests pass a small fake or point the
default transport at a local fake server. Transports raise ``TransportError`` for anything that
is not an HTTP response (refused connection, timeout, TLS failure), never a library exception.

The default, ``PoolTransport``, sends through one urllib3 ``PoolManager`` per transport
(thread-safe, keep-alive connections per host, up to ``POOL_CONNECTIONS`` per host so a sync's
lanes each keep theirs). ``RequestsTransport`` (a ``requests.Session`` per thread) does the
same through requests, whose per-request work (preparing, merging environment settings and
proxies, cookies, hooks) cost about as much CPU as the rest of a provider call in a sync's
profile. ``PoolTransport`` reads no proxy settings from the environment; ``RequestsTransport``
honours them, so ``default_transport`` picks it when the environment names a proxy.
"""

from __future__ import annotations

import json as jsonlib
import os
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
import requests.auth
import urllib3


class TransportError(Exception):
    """No HTTP response was received (connection failed or timed out)."""


@dataclass(frozen=True)
class HttpResponse:
    """One HTTP answer; ``headers`` with lower-case names."""

    status: int
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON; None when empty or not JSON (an HTML error page from a proxy)."""
        if not self.content:
            return None
        try:
            return jsonlib.loads(self.content)
        except ValueError:
            return None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def retry_after(self, now: float) -> float | None:
        """Seconds from ``now`` (epoch) the answer's ``Retry-After`` asks to wait, or None.
        Both forms of RFC 9110 10.2.3: delay-seconds and an HTTP date."""
        value = self.headers.get("retry-after")
        if not value:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - now)


class HttpTransport(Protocol):
    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        json: Any = None,
        data: Mapping[str, str] | bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Send one request (a JSON body, a form or raw bytes, query parameters) and return
        the whole answer, headers included."""
        ...


class _HeadersOnly(requests.auth.AuthBase):
    """Vendor credentials travel in headers the provider sets. A session with an ``auth``
    of its own skips requests' per-request ``.netrc`` lookup (a path expansion and a file
    check on every call: a sizeable share of a sync's provider-call time in profiles)."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


def _new_session() -> requests.Session:
    session = requests.Session()
    session.auth = _HeadersOnly()
    return session


class RequestsTransport:
    """``HttpTransport`` over ``requests``, one pooled session per thread.

    A ``requests.Session`` is not documented as thread-safe, and the add-on serves requests
    and sync runs on several threads.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _new_session()
        return session

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        json: Any = None,
        data: Mapping[str, str] | bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        try:
            response = self._session().request(
                method,
                url,
                json=json,
                data=data,
                params=params,
                headers=dict(headers),
                timeout=(timeout, timeout),
            )
        except requests.RequestException as exc:
            raise TransportError(f"{method} {url}: {exc}") from exc
        return HttpResponse(
            response.status_code,
            response.content,
            {k.lower(): v for k, v in response.headers.items()},
        )


# Connections kept per host: at least a sync's provider pool (ADDON_SYNC_POOL_SIZE, at most
# 32) plus the request threads of a worker; more threads than this still work, their extra
# connections are closed after use instead of kept.
POOL_CONNECTIONS = 32
# Redirects followed (requests' default limit); vendor APIs seldom redirect.
MAX_REDIRECTS = 30
_DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate"}


def _body(
    json: Any, data: Mapping[str, str] | bytes | None, headers: dict[str, str]
) -> bytes | None:
    """The request body as requests would send it (JSON, a form, or raw bytes); sets its
    ``Content-Type`` unless the caller gave one."""
    given = {k.lower() for k in headers}
    if data is not None:
        if isinstance(data, bytes | bytearray):
            return bytes(data)
        if "content-type" not in given:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urlencode(list(data.items()), doseq=True).encode()
    if json is not None:
        if "content-type" not in given:
            headers["Content-Type"] = "application/json"
        return jsonlib.dumps(json, allow_nan=False).encode()
    return None


class PoolTransport:
    """``HttpTransport`` over urllib3 directly: one thread-safe ``PoolManager``, no retries
    (a provider's own policy retries), redirects followed, gzip decoded."""

    def __init__(self) -> None:
        self._pool = urllib3.PoolManager(maxsize=POOL_CONNECTIONS, block=False)
        # Providers are built before gunicorn forks its workers (--preload): a worker makes
        # its own pool, so no connection is ever shared between processes.
        self._pid = os.getpid()
        self._retries = urllib3.Retry(
            total=None,
            connect=0,
            read=0,
            status=0,
            other=0,
            redirect=MAX_REDIRECTS,
            raise_on_redirect=False,
            raise_on_status=False,
            respect_retry_after_header=False,
        )

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        json: Any = None,
        data: Mapping[str, str] | bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        out = {**_DEFAULT_HEADERS, **headers}
        body = _body(json, data, out)
        if params:
            url += ("&" if "?" in url else "?") + urlencode(list(params.items()), doseq=True)
        if self._pid != os.getpid():
            self._pool = urllib3.PoolManager(maxsize=POOL_CONNECTIONS, block=False)
            self._pid = os.getpid()
        try:
            response = self._pool.request(
                method,
                url,
                body=body,
                headers=out,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                retries=self._retries,
                preload_content=True,
            )
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise TransportError(f"{method} {url}: {exc}") from exc
        return HttpResponse(
            response.status,
            response.data,
            {k.lower(): v for k, v in response.headers.items()},
        )


def default_transport() -> HttpTransport:
    """What a provider sends through when it is given no transport: ``PoolTransport``, unless
    the environment names an HTTP proxy (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, in
    either case): then ``RequestsTransport``, which honours it and ``NO_PROXY`` as requests
    does, since ``PoolTransport`` reaches vendors directly."""
    proxies = urllib.request.getproxies_environment()
    if any(scheme in proxies for scheme in ("http", "https", "all")):
        return RequestsTransport()
    return PoolTransport()
