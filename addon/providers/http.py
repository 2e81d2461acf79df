"""The HTTP seam of providers that call a conferencing system's API.

``HttpTransport`` is the one method a provider needs; tests pass a small fake or point the
default ``RequestsTransport`` at a local fake server. Transports raise ``TransportError`` for
anything that is not an HTTP response (refused connection, timeout, TLS failure), never a
library exception.
"""

from __future__ import annotations

import json as jsonlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import requests
import requests.auth


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
