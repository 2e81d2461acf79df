"""Calendar state: users, calendars, events and their change log (the moto "models" layer).

Concurrency: one ``RLock`` guards all state; every API operation runs entirely inside
it, so each is atomic. Change listeners and push notifications run after the lock is
released (``_after_commit``), never while holding it.

Change tracking (what makes sync tokens cheap and paging safe): each calendar has a
monotonically increasing change sequence number ``seq``. Every committed change of an
event stores the new ``seq`` on the event and appends ``(seq, event_id)`` to the
calendar's change log (two parallel lists, sorted by construction). An incremental list
bisects the log to the token's seq, so its cost grows with the number of changes since
the token, not with the calendar's size. Stale log entries (the event changed again
later) are skipped by comparing with the event's current seq. See ``listing.py``.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from localgoogle.calendar import exceptions as exc
from localgoogle.calendar import invitations, resources
from localgoogle.calendar.access_tokens import IssuedTokens
from localgoogle.calendar.clock import Clock, rfc3339
from localgoogle.calendar.faults import FaultInjector
from localgoogle.calendar.push import PushHub
from localgoogle.calendar.records import (
    ROLES,
    TIME_FIELDS,
    WRITABLE_FIELDS,
    CalendarData,
    Changes,
    EventRecord,
    new_event_id,
)
from localgoogle.calendar.tokens import TokenCodec
from localgoogle.seams import ChangeListener

_log = logging.getLogger(__name__)
_ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")


class CalendarState:
    """All emulator state; implements ``localgoogle.seams.HostCalendarAccess`` and
    ``localgoogle.seams.OAuthCalendarAccess``."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.push = PushHub(self.clock)
        self.faults = FaultInjector()
        self._listeners: list[ChangeListener] = []
        self._stats_lock = threading.Lock()
        self._init_state()

    def _init_state(self) -> None:
        self.tokens = TokenCodec(os.urandom(32))
        self.users: dict[str, str] = {}  # email -> token
        self.token_users: dict[str, str] = {}
        self.issued_tokens = IssuedTokens()  # minted by the OAuth endpoints
        self.calendars: dict[str, CalendarData] = {}
        self.stats: dict[str, int] = {}
        self._etag_counter = int(self.clock.now().timestamp() * 1000) * 1000

    # ----- lifecycle and control -------------------------------------------------
    def reset(self) -> None:
        self.push.reset()
        self.faults.clear()
        self.clock.reset()
        with self.lock:
            self._init_state()

    def count_request(self, method: str) -> None:
        with self._stats_lock:
            self.stats[method] = self.stats.get(method, 0) + 1

    def stats_snapshot(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self.stats)

    def reset_stats(self) -> None:
        with self._stats_lock:
            self.stats = {}

    def create_user(self, email: str, time_zone: str = "UTC") -> str:
        with self.lock:
            if email in self.users:
                return self.users[email]
            token = "emu-" + base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
            self.users[email] = token
            self.token_users[token] = email
            self.calendars[email] = CalendarData(
                id=email, owner=email, summary=email, time_zone=time_zone,
                updated=rfc3339(self.clock.now()), etag=self._next_etag(),
            )  # fmt: skip
            return token

    def user_for_token(self, token: str) -> str | None:
        found = self.authenticate(token)
        return found[0] if found else None

    def authenticate(self, token: str) -> tuple[str, frozenset[str] | None] | None:
        """(user, scopes) for a bearer token, or None when it is unknown, expired or
        revoked. Scopes are None for the fixed tokens of ``create_user`` (every method)."""
        with self.lock:
            email = self.token_users.get(token)
            if email is not None:
                return email, None
            issued = self.issued_tokens.lookup(token, self.clock.now())
            return (issued.email, issued.scopes) if issued else None

    def share(self, calendar_id: str, email: str, role: str) -> None:
        if role not in ROLES:
            raise exc.bad_request(f"role must be one of {ROLES}")
        self.create_user(email)
        with self.lock:
            cal = self._calendar(calendar_id)
            cal.acl[email] = role

    def expire_sync_tokens(self, calendar_id: str) -> None:
        with self.lock:
            self._calendar(calendar_id).epoch += 1

    def admin_events(self, calendar_id: str) -> list[dict[str, Any]]:
        with self.lock:
            cal = self._calendar(calendar_id)
            return [cal.events[eid].resource for eid in cal.order]

    def add_change_listener(self, listener: ChangeListener) -> None:
        with self.lock:
            self._listeners.append(listener)

    # ----- helpers -----------------------------------------------------------------
    def _next_etag(self) -> str:
        self._etag_counter += 1
        return f'"{self._etag_counter}"'

    def _calendar(self, calendar_id: str) -> CalendarData:
        cal = self.calendars.get(calendar_id)
        if cal is None:
            raise exc.not_found()
        return cal

    def role_of(self, cal: CalendarData, user: str) -> str | None:
        return "owner" if cal.owner == user else cal.acl.get(user)

    def access(self, user: str, calendar_id: str, *, write: bool = False) -> CalendarData:
        with self.lock:
            resolved = user if calendar_id == "primary" else calendar_id
            cal = self.calendars.get(resolved)
            role = self.role_of(cal, user) if cal else None
            if cal is None or role is None:
                raise exc.not_found()
            if write and role == "reader":
                raise exc.forbidden_access()
            return cal

    def _after_commit(self, changes: Iterable[tuple[str, str]]) -> None:
        changes = list(changes)
        for calendar_id in dict.fromkeys(c for c, _ in changes):
            self.push.notify(calendar_id)
        for calendar_id, event_id in changes:
            for listener in list(self._listeners):
                try:
                    listener(calendar_id, event_id)
                except Exception:
                    # The change is committed; a broken listener must not fail the API call.
                    _log.exception("change listener failed for %s/%s", calendar_id, event_id)

    def _commit(self, cal: CalendarData, resource: dict[str, Any]) -> EventRecord:
        """Store a new version of an event (lock held); it becomes one change."""
        now = self.clock.now()
        resource["etag"] = self._next_etag()
        resource["updated"] = rfc3339(now)
        start, end = resources.bounds(cal, resource)
        cal.seq += 1
        event_id = resource["id"]
        old = cal.events.get(event_id)
        if old is None:
            record = EventRecord(resource, cal.seq, len(cal.order), start, end)
            cal.order.append(event_id)
            cal.events[event_id] = record
        else:
            record = EventRecord(resource, cal.seq, old.ordinal, start, end)
            cal.events[event_id] = record
        cal.log_seqs.append(cal.seq)
        cal.log_ids.append(event_id)
        cal.updated = resource["updated"]
        return record

    # ----- event API -----------------------------------------------------------------
    def events_insert(
        self, user: str, calendar_id: str, body: dict[str, Any], conference_version: int = 0
    ) -> dict[str, Any]:
        with self.lock:
            cal = self.access(user, calendar_id, write=True)
            event_id = body.get("id") or new_event_id()
            if not isinstance(event_id, str) or not _ID_RE.match(event_id):
                raise exc.bad_request("Invalid resource id value.")
            if event_id in cal.events:
                raise exc.duplicate()
            resource: dict[str, Any] = {"kind": "calendar#event", "etag": "", "id": event_id}
            resource["status"] = "confirmed"
            resource.update(resources.writable(body))
            resources.validate(cal, resource)
            resources.apply_conference(resource, body, conference_version, replace=True)
            now = rfc3339(self.clock.now())
            resource.update(
                htmlLink=f"https://www.google.com/calendar/event?eid={event_id}",
                created=now,
                creator={"email": user, **({"self": True} if user == cal.id else {})},
                # The calendar an event is created on organizes it (Google: a secondary
                # calendar appears as the organizer, with its summary as display name).
                organizer={
                    "email": cal.id,
                    **({} if cal.id == cal.owner else {"displayName": cal.summary}),
                    "self": True,
                },
                iCalUID=f"{event_id}@google.com",
                sequence=0,
            )
            resource.setdefault("reminders", {"useDefault": True})
            resource.setdefault("eventType", "default")
            self._commit(cal, resource)
            changes = [(cal.id, event_id), *invitations.fan_out(self, cal, event_id, None)]
        self._after_commit(changes)
        return resource

    def _current(self, cal: CalendarData, event_id: str) -> tuple[dict[str, Any], bool]:
        """(resource, stored) for a stored event or a generated instance; 404 otherwise."""
        record = cal.events.get(event_id)
        if record is not None:
            return record.resource, True
        virtual = resources.virtual_instance(cal, event_id)
        if virtual is None:
            raise exc.not_found()
        return virtual, False

    def events_get(self, user: str, calendar_id: str, event_id: str) -> dict[str, Any]:
        with self.lock:
            cal = self.access(user, calendar_id)
            return self._current(cal, event_id)[0]

    def _write(
        self, cal: CalendarData, event_id: str, body: dict[str, Any], version: int,
        if_match: str | None, *, replace: bool,
    ) -> dict[str, Any]:  # fmt: skip
        old, _stored = self._current(cal, event_id)
        resources.check_if_match(old["etag"], if_match)
        touches_conference = (
            version >= 1
            and "conferenceData" in body
            and body["conferenceData"] != old.get("conferenceData")
        )
        if touches_conference and not invitations.organizes(cal, old):
            raise exc.forbidden_for_non_organizer()
        if replace:
            keep = {k: v for k, v in old.items() if k not in WRITABLE_FIELDS}
            new = {**keep, **resources.writable(body)}
            new.setdefault("status", "confirmed")
        else:
            new = resources.merge(old, resources.writable(body))
        # conferenceData is not in WRITABLE_FIELDS: it survives unless version >= 1 says so.
        resources.apply_conference(new, body, version, replace=replace)
        if "recurringEventId" in old:
            new.pop("recurrence", None)
        resources.validate(cal, new)
        invitations.check_attendee_write(cal, old, new)
        if any(old.get(k) != new.get(k) for k in TIME_FIELDS):
            new["sequence"] = int(old.get("sequence", 0)) + 1
        self._commit(cal, new)
        return new

    def _spread(self, cal: CalendarData, event_id: str, old: dict[str, Any] | None) -> Changes:
        """After a write of ``event_id`` in ``cal``: the invitations it reaches (lock held)."""
        if old is not None and not invitations.organizes(cal, old):
            return invitations.answer_organizer(self, cal, event_id)
        return invitations.fan_out(self, cal, event_id, old)

    def _write_and_spread(
        self, calendar_of: Callable[[], CalendarData], event_id: str, body: dict[str, Any],
        version: int, if_match: str | None, *, replace: bool,
    ) -> dict[str, Any]:  # fmt: skip
        """Resolve the calendar (``calendar_of`` raises if the caller may not write), write
        the event and reach its invitations, all under the lock; listeners run after it."""
        with self.lock:
            cal = calendar_of()
            old = self._current(cal, event_id)[0]
            new = self._write(cal, event_id, body, version, if_match, replace=replace)
            changes = [(cal.id, event_id), *self._spread(cal, event_id, old)]
        self._after_commit(changes)
        return new

    def events_patch(
        self, user: str, calendar_id: str, event_id: str, body: dict[str, Any],
        conference_version: int = 0, if_match: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        return self._write_and_spread(
            lambda: self.access(user, calendar_id, write=True),
            event_id, body, conference_version, if_match, replace=False,
        )  # fmt: skip

    def events_update(
        self, user: str, calendar_id: str, event_id: str, body: dict[str, Any],
        conference_version: int = 0, if_match: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        return self._write_and_spread(
            lambda: self.access(user, calendar_id, write=True),
            event_id, body, conference_version, if_match, replace=True,
        )  # fmt: skip

    def events_delete(
        self, user: str, calendar_id: str, event_id: str, if_match: str | None = None
    ) -> None:
        with self.lock:
            cal = self.access(user, calendar_id, write=True)
            old, _stored = self._current(cal, event_id)
            if old.get("status") == "cancelled":
                raise exc.deleted()
            resources.check_if_match(old["etag"], if_match)
            changes = [(cal.id, event_id)]
            self._commit(cal, {**old, "status": "cancelled"})
            if not invitations.organizes(cal, old):
                # An attendee deletes their invitation: it leaves their calendar for good.
                cal.left.add(event_id)
                changes += invitations.answer_organizer(self, cal, event_id, "declined")
                self._after_commit(changes)
                return
            changes += invitations.fan_out(self, cal, event_id, old)
            if "recurrence" in old:
                prefix = event_id + "_"
                for other_id, record in list(cal.events.items()):
                    status = record.resource.get("status")
                    if other_id.startswith(prefix) and status != "cancelled":
                        before = record.resource
                        self._commit(cal, {**before, "status": "cancelled"})
                        changes.append((cal.id, other_id))
                        changes += invitations.fan_out(self, cal, other_id, before)
        self._after_commit(changes)

    def events_watch(
        self, user: str, calendar_id: str, body: dict[str, Any], resource_uri_base: str
    ) -> dict[str, Any]:
        with self.lock:
            cal = self.access(user, calendar_id)
        uri = f"{resource_uri_base}calendars/{cal.id}/events?alt=json"
        return self.push.create_channel(cal.id, body, uri)

    def seed(
        self, calendar_id: str, count: int, start: datetime, *, interval: timedelta,
        duration: timedelta, summary: str = "Seeded event",
    ) -> dict[str, Any]:  # fmt: skip
        """Insert many plain events fast (benchmarks); each insert is one change."""
        with self.lock:
            cal = self._calendar(calendar_id)
            prefix = new_event_id()[:10]
            base = len(cal.order)
            # Nested objects are shared between seeded events: stored resources are never
            # mutated in place, so sharing is safe and keeps 100k events small.
            creator = {"email": cal.owner, "self": True}
            reminders = {"useDefault": True}
            now = rfc3339(self.clock.now())
            changes = []
            for i in range(count):
                event_id = f"{prefix}{base + i:08d}"
                begin = start + interval * i
                end = begin + duration
                cal.seq += 1
                self._etag_counter += 1
                resource = {
                    "kind": "calendar#event", "etag": f'"{self._etag_counter}"', "id": event_id,
                    "status": "confirmed",
                    "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
                    "created": now, "updated": now, "summary": f"{summary} {base + i}",
                    "creator": creator, "organizer": creator,
                    "start": {"dateTime": begin.isoformat()},
                    "end": {"dateTime": end.isoformat()},
                    "iCalUID": f"{event_id}@google.com", "sequence": 0,
                    "reminders": reminders, "eventType": "default",
                }  # fmt: skip
                cal.events[event_id] = EventRecord(resource, cal.seq, len(cal.order), begin, end)
                cal.order.append(event_id)
                cal.log_seqs.append(cal.seq)
                cal.log_ids.append(event_id)
                changes.append((cal.id, event_id))
            cal.updated = now
        self._after_commit(changes)
        return {"calendarId": cal.id, "count": count, "firstId": f"{prefix}{base:08d}"}

    # ----- calendars -------------------------------------------------------------------
    def calendars_get(self, user: str, calendar_id: str) -> dict[str, Any]:
        with self.lock:
            return resources.calendar_resource(self.access(user, calendar_id))

    def calendars_insert(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        summary = body.get("summary")
        if not isinstance(summary, str) or not summary:
            raise exc.required("Missing summary.")
        with self.lock:
            cal_id = f"{new_event_id()}@group.calendar.google.com"
            home = self.calendars.get(user)  # None: a service account acting as itself
            cal = CalendarData(
                id=cal_id, owner=user, summary=summary,
                time_zone=body.get("timeZone") or (home.time_zone if home else "UTC"),
                description=body.get("description", ""),
                updated=rfc3339(self.clock.now()), etag=self._next_etag(),
            )  # fmt: skip
            self.calendars[cal_id] = cal
            return resources.calendar_resource(cal)

    def calendar_list(self, user: str) -> list[dict[str, Any]]:
        with self.lock:
            items = []
            for cal in self.calendars.values():
                role = self.role_of(cal, user)
                if role is None:
                    continue
                entry = {
                    **resources.calendar_resource(cal), "kind": "calendar#calendarListEntry",
                    "accessRole": role, "defaultReminders": [], "selected": True,
                    "backgroundColor": "#9fe1e7", "foregroundColor": "#000000", "colorId": "14",
                }  # fmt: skip
                if cal.id == user:
                    entry["primary"] = True
                items.append(entry)
            return items

    # ----- HostCalendarAccess seam ------------------------------------------------------
    def host_get_event(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        with self.lock:
            cal = self.calendars.get(calendar_id)
            if cal is None:
                return None
            try:
                return self._current(cal, event_id)[0]
            except exc.ApiError:
                return None

    def host_set_conference_data(
        self, calendar_id: str, event_id: str, conference_data: dict[str, Any]
    ) -> dict[str, Any]:
        def calendar_of() -> CalendarData:
            cal = self.calendars.get(calendar_id)
            if cal is None:
                raise KeyError(calendar_id)
            try:
                self._current(cal, event_id)
            except exc.ApiError as error:
                raise KeyError(event_id) from error
            return cal

        body = {"conferenceData": conference_data}
        return self._write_and_spread(calendar_of, event_id, body, 1, None, replace=False)

    def host_user_token(self, email: str) -> str:
        return self.create_user(email)

    def host_calendar_owner(self, calendar_id: str) -> str | None:
        with self.lock:
            cal = self.calendars.get(calendar_id)
            return cal.owner if cal else None

    # ----- OAuthCalendarAccess seam -----------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def user_exists(self, email: str) -> bool:
        with self.lock:
            return email in self.users

    def user_emails(self) -> list[str]:
        with self.lock:
            return sorted(self.users)

    def issue_access_token(
        self, email: str, *, expires_at: datetime, grant_id: str, scopes: frozenset[str]
    ) -> str:
        with self.lock:
            return self.issued_tokens.issue(email, expires_at, grant_id, scopes)

    def revoke_grant(self, grant_id: str) -> int:
        with self.lock:
            return self.issued_tokens.revoke_grant(grant_id)
