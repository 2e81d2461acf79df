"""Calendar API failures as types, classified from the *machine* reason of Google's error body
(``error.errors[0].reason``), never from the human message."""

from __future__ import annotations


class CalendarError(Exception):
    """Base of every Calendar API failure; ``status``/``reason`` as Google sent them."""

    def __init__(self, message: str, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class SyncTokenInvalid(CalendarError):
    """410 ``fullSyncRequired``: the sync token is no longer valid; do a full sync."""


class PreconditionFailed(CalendarError):
    """412 ``conditionNotMet``: the event changed since the etag we sent with If-Match."""


class NotFound(CalendarError):
    """404 (or 410 ``deleted`` on a single event): the event or calendar is gone."""


class Unauthorized(CalendarError):
    """401: the user's token expired or was revoked; stop and keep state."""


class QuotaExceeded(CalendarError):
    """403 ``quotaExceeded``/``dailyLimitExceeded``: not cleared in seconds; stop and record."""


class Forbidden(CalendarError):
    """403 for other reasons (no access to the calendar, ...)."""


class CalendarUnavailable(CalendarError):
    """Rate limits or 5xx persisted through every retry, or the network failed."""


class BadRequest(CalendarError):
    """400: we sent something Calendar refuses (a bug on our side, or an invalid event)."""
