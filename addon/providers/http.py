"""The HTTP seam of providers that call a conferencing system's API.

``HttpTransport`` is the one method a provider needs; tests pass a small fake or point the
default ``RequestsTransport`` at a local fake server. Transports raise ``TransportError`` for
anything that is not an HTTP response (refused connection, timeout, TLS failure), never a
library exception.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

import requests
import requests.auth


class TransportError(Exception):
    """No HTTP response was received (connection failed or timed out)."""


class HttpTransport(Protocol):
    def request(
        self,
        method: str,
        url: str,
        json: Any,
        headers: Mapping[str, str],
        timeout: float,
    ) -> tuple[int, Any]:
        """Send one request; return the status and the JSON body (None if empty or not JSON)."""
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

    def request(
        self,
        method: str,
        url: str,
        json: Any,
        headers: Mapping[str, str],
        timeout: float,
    ) -> tuple[int, Any]:
        try:
            response = self._session().request(
                method, url, json=json, headers=dict(headers), timeout=(timeout, timeout)
            )
        except requests.RequestException as exc:
            raise TransportError(f"{method} {url}: {exc}") from exc
        if not response.content:
            return response.status_code, None
        try:
            return response.status_code, response.json()
        except ValueError:  # an HTML error page from a proxy, say
            return response.status_code, None
