"""The Calendar API client the add-on uses: the real google-api-python-client, built once per
process from the discovery document shipped with the library (no network at build time).
Calls are executed over one ``httplib2.Http`` per thread (httplib2 is not thread-safe), so a
thread reuses its connection to Calendar across calls and users; each call wraps it with the
caller's credentials (``AuthorizedHttp`` holds no connection of its own).

Retries live here, not in the sync algorithm: 429, 403 ``rateLimitExceeded`` /
``userRateLimitExceeded`` and 5xx are retried with exponential backoff and full jitter, a
bounded number of times (Calendar's quota guide asks for exactly that). Everything else is
raised at once as a ``CalendarError`` subclass.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from addon.calendar.errors import (
    BadRequest,
    CalendarError,
    CalendarUnavailable,
    Forbidden,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    SyncTokenInvalid,
    Unauthorized,
)

RETRYABLE_403 = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
QUOTA_403 = frozenset({"quotaExceeded", "dailyLimitExceeded"})
MAX_PAGE_SIZE = 2500  # events.list maxResults upper bound (calendar.v3 discovery document)
# A partial response (the ``fields`` parameter, Google's performance guide): only what the sync
# reads from a listed event (plan, snapshot, meeting request, pending replay, If-Match), so a
# 2,500-event page is smaller to send, parse and hold. A write-back that needs more re-reads
# the whole event with events.get.
LIST_FIELDS = (
    "nextPageToken,nextSyncToken,accessRole,"
    "items(id,status,etag,updated,summary,start,end,attendees,recurrence,recurringEventId,"
    "originalStartTime,organizer,conferenceData)"
)

_resources: dict[tuple[str | None, str], Any] = {}
_resources_lock = threading.Lock()
_local = threading.local()


def _resource(api_endpoint: str | None, name: str) -> Any:
    """A discovery-built resource (``events``, ``channels``), once per endpoint (building the
    service and its resources costs milliseconds); credentials and connections come per call."""
    with _resources_lock:
        resource = _resources.get((api_endpoint, name))
        if resource is None:
            options = {"api_endpoint": api_endpoint} if api_endpoint else None
            service = build(
                "calendar",
                "v3",
                http=httplib2.Http(),  # placeholder; every execute() passes its own
                static_discovery=True,
                cache_discovery=False,
                client_options=options,
            )
            resource = _resources[(api_endpoint, name)] = getattr(service, name)()
        return resource


def _events_resource(api_endpoint: str | None) -> Any:
    return _resource(api_endpoint, "events")


def _thread_http(timeout: float) -> httplib2.Http:
    """This thread's ``httplib2.Http`` for ``timeout`` (it keeps its connections open)."""
    pool: dict[float, httplib2.Http] | None = getattr(_local, "http", None)
    if pool is None:
        pool = _local.http = {}
    http = pool.get(timeout)
    if http is None:
        http = pool[timeout] = httplib2.Http(timeout=timeout)
    return http


@dataclass
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 16.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def error_reason(exc: HttpError) -> str | None:
    """The machine reason of a Google error (``error.errors[0].reason``)."""
    details = getattr(exc, "error_details", None)
    if isinstance(details, list) and details and isinstance(details[0], dict):
        reason = details[0].get("reason")
        if isinstance(reason, str):
            return reason
    try:
        body = json.loads(exc.content)
        return str(body["error"]["errors"][0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def classify(exc: HttpError, *, single_event: bool = False) -> CalendarError:
    status = int(exc.resp.status)
    reason = error_reason(exc)
    message = f"Calendar API {status} {reason or ''}".strip()
    if status == 410 and reason == "fullSyncRequired":
        return SyncTokenInvalid(message, status, reason)
    if status == 404 or (status == 410 and single_event):
        return NotFound(message, status, reason)
    if status == 412:
        return PreconditionFailed(message, status, reason)
    if status == 401:
        return Unauthorized(message, status, reason)
    if status == 403 and reason in QUOTA_403:
        return QuotaExceeded(message, status, reason)
    if status == 403 and reason not in RETRYABLE_403:
        return Forbidden(message, status, reason)
    if status == 400:
        return BadRequest(message, status, reason)
    return CalendarUnavailable(message, status, reason)


def _retryable(exc: HttpError) -> bool:
    status = int(exc.resp.status)
    return status == 429 or status >= 500 or (status == 403 and error_reason(exc) in RETRYABLE_403)


class CalendarClient:
    """Calendar calls made on behalf of one user (their OAuth token) or a delegated account."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_endpoint: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._credentials = credentials
        self._endpoint = api_endpoint
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self.calls: dict[str, int] = {}
        self._calls_lock = threading.Lock()  # a sync's lanes share the client

    def _execute(self, name: str, request: Any, *, single_event: bool = False) -> Any:
        http = google_auth_httplib2.AuthorizedHttp(
            self._credentials, http=_thread_http(self._timeout)
        )
        attempt = 0
        while True:
            with self._calls_lock:
                self.calls[name] = self.calls.get(name, 0) + 1
            try:
                return request.execute(http=http)
            except HttpError as exc:
                if not _retryable(exc) or attempt + 1 >= self._retry.attempts:
                    raise classify(exc, single_event=single_event) from None
            except google.auth.exceptions.RefreshError:
                # A 401 makes AuthorizedHttp refresh the credentials; a user's access token
                # handed to us by Google cannot be refreshed: it expired or was revoked.
                raise Unauthorized(
                    "Calendar API 401: the user's token expired or was revoked", 401, "authError"
                ) from None
            except (OSError, httplib2.HttpLib2Error) as exc:
                if attempt + 1 >= self._retry.attempts:
                    raise CalendarUnavailable(f"Calendar API unreachable: {exc}") from None
            self._retry.sleep(self._retry.delay(attempt))
            attempt += 1

    @property
    def _events(self) -> Any:
        return _events_resource(self._endpoint)

    def get_event(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        """The event, or None when it does not exist (404/410)."""
        req = self._events.get(calendarId=calendar_id, eventId=event_id)
        try:
            return dict(self._execute("events.get", req, single_event=True))
        except NotFound:
            return None

    def access_role(self, calendar_id: str) -> str | None:
        """The caller's access role on the calendar (``owner``, ``writer``, ``reader``...), as
        events.list reports it: one page of at most one event, only that field."""
        req = self._events.list(calendarId=calendar_id, maxResults=1, fields="accessRole")
        role = dict(self._execute("events.list", req)).get("accessRole")
        return role if isinstance(role, str) else None

    def list_page(
        self,
        calendar_id: str,
        *,
        sync_token: str | None = None,
        page_token: str | None = None,
        time_min: str | None = None,
    ) -> dict[str, Any]:
        """One page of events.list. With a sync token only the token, the page token and the
        page size are sent: Calendar refuses window and ordering parameters with it."""
        params: dict[str, Any] = {
            "calendarId": calendar_id,
            "maxResults": MAX_PAGE_SIZE,
            "showDeleted": True,
            "fields": LIST_FIELDS,
        }
        if sync_token:
            params["syncToken"] = sync_token
        elif time_min:
            params["timeMin"] = time_min
        if page_token:
            params["pageToken"] = page_token
        return dict(self._execute("events.list", self._events.list(**params)))

    def iter_pages(
        self, calendar_id: str, *, sync_token: str | None = None, time_min: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every page, empty ones included, until the page carrying ``nextSyncToken``."""
        page_token: str | None = None
        while True:
            page = self.list_page(
                calendar_id, sync_token=sync_token, page_token=page_token, time_min=time_min
            )
            yield page
            page_token = page.get("nextPageToken")
            if not page_token:
                return

    def watch_events(
        self, calendar_id: str, *, channel_id: str, address: str, token: str, ttl_seconds: int
    ) -> dict[str, Any]:
        """Open a push channel on the calendar's events (``events.watch``): Calendar answers
        with the channel's ``resourceId`` and ``expiration`` (epoch milliseconds, a string)."""
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "params": {"ttl": str(ttl_seconds)},
        }
        req = self._events.watch(calendarId=calendar_id, body=body)
        return dict(self._execute("events.watch", req))

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        """``channels.stop``; a channel Calendar no longer knows (404) is stopped already."""
        req = _resource(self._endpoint, "channels").stop(
            body={"id": channel_id, "resourceId": resource_id}
        )
        try:
            self._execute("channels.stop", req)
        except NotFound:
            return

    def patch_conference_data(
        self, calendar_id: str, event_id: str, etag: str, conference_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Write conference data onto the event only if it is still at ``etag``.

        ``conferenceDataVersion=1`` or Calendar ignores the field; ``sendUpdates=none``
        because guests need no e-mail for our bookkeeping write.
        """
        req = self._events.patch(
            calendarId=calendar_id,
            eventId=event_id,
            body={"conferenceData": conference_data},
            conferenceDataVersion=1,
            sendUpdates="none",
        )
        req.headers["If-Match"] = etag
        return dict(self._execute("events.patch", req, single_event=True))
