"""What the kinds of credentials share: the Calendar scope, the HTTP transport for token
calls, and the one error meaning "Google's token service is unavailable, try later"."""

from __future__ import annotations

import threading

import google.auth.transport.requests
import requests

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.events"

_local = threading.local()


class TokenServiceUnavailable(Exception):
    """Google's token endpoint (or IAM Credentials) could not be reached or failed; the
    credentials may well work later, so the work is retried, not given up."""


def token_transport() -> google.auth.transport.requests.Request:
    """google-auth's transport over one requests session per thread (connections reused)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    # google-auth is typed in some of its modules only: which ones mypy sees typed varies.
    return google.auth.transport.requests.Request(session=session)  # type: ignore[no-untyped-call,unused-ignore]
