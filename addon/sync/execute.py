"""Carry out planned actions: provider calls, conditional write-backs, record updates.

Every provider call carries an idempotency key derived from the event version it applies
(``kind:calendar:event:etag``). A sync that crashed after the provider call but before the
record was written lists the same event version again, plans the same action, and the
provider recognises the key: nothing is applied twice. Provider failures are retried a few
times; if the provider is still down the change is stored as *pending* (see the store) and
replayed on the next sync, so the sync token can advance without losing it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from addon.calendar.client import CalendarClient
from addon.calendar.errors import CalendarUnavailable, NotFound, PreconditionFailed
from addon.conference_data import carried_conference, conference_data_resource, owner_parameters
from addon.providers.base import (
    ConferenceProvider,
    Meeting,
    MeetingRequest,
    OccurrenceChange,
    ProviderError,
    ProviderRefused,
    ProviderUnavailable,
)
from addon.settings import Solution
from addon.store.datastore import Store
from addon.store.records import Conference, EventSnapshot, PendingChange
from addon.sync.plan import (
    Action,
    ChangeOccurrence,
    Confirm,
    CreateForCopy,
    DeleteMeeting,
    UpdateMeeting,
    WriteBack,
)

log = logging.getLogger(__name__)

WRITE_BACK_ATTEMPTS = 5


class RetryLater(Exception):
    """The action could not finish now (write-back conflicts, Calendar overloaded); it is
    kept as a pending change and replayed on the next sync."""


@dataclass
class Outcome:
    """What one run did; becomes the calendar's ``last_result``."""

    provider_calls: dict[str, int] = field(default_factory=dict)
    applied: int = 0
    pending: int = 0
    failed: int = 0
    write_backs: int = 0
    conflicts: int = 0

    def count(self, kind: str) -> None:
        self.provider_calls[kind] = self.provider_calls.get(kind, 0) + 1


def meeting_request(
    calendar_id: str, event_id: str, solution: Solution, event: Mapping[str, Any] | None
) -> MeetingRequest:
    snap = EventSnapshot.from_event(event or {})
    organizer = (event or {}).get("organizer")
    return MeetingRequest(
        calendar_id=calendar_id,
        event_id=event_id,
        solution_id=solution.id,
        summary=snap.summary,
        start=snap.start,
        end=snap.end,
        time_zone=snap.time_zone,
        attendees=snap.attendees,
        organizer=organizer.get("email") if isinstance(organizer, Mapping) else None,
        recurrence=snap.recurrence,
        options=solution.options,
    )


def idempotency_key(kind: str, calendar_id: str, event_id: str, version: str | None) -> str:
    return f"{kind}:{calendar_id}:{event_id}:{version or '-'}"


class Executor:
    def __init__(
        self,
        *,
        store: Store,
        calendar: CalendarClient,
        providers: Mapping[str, ConferenceProvider],
        solutions: Mapping[str, Solution],
        provider_attempts: int = 3,
        provider_backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._calendar = calendar
        self._providers = providers
        self._solutions = solutions
        self._attempts = provider_attempts
        self._backoff = provider_backoff
        self._sleep = sleep
        # Once a provider is found down in this run, later actions go straight to pending
        # instead of waiting through the same retries again.
        self._down: set[str] = set()
        self.outcome = Outcome()
        # event id -> the record as we last stored it in this run. Only the lease holder
        # writes records, so this is current; the engine plans later changes against it
        # without reading Datastore again.
        self.latest: dict[str, Conference] = {}

    def _save(self, conference: Conference) -> Conference:
        stored = self._store.put_conference(conference)
        self.latest[stored.event_id] = stored
        return stored

    def _current(self, conference: Conference) -> Conference:
        return self.latest.get(conference.event_id) or conference

    # ---- provider calls with bounded retries ------------------------------------------
    def _call(self, solution_id: str, kind: str, fn: Callable[[], Any]) -> Any:
        if solution_id in self._down:
            raise ProviderUnavailable("provider marked down earlier in this run")
        for attempt in range(self._attempts):
            try:
                self.outcome.count(kind)
                return fn()
            except ProviderUnavailable:
                if attempt + 1 == self._attempts:
                    self._down.add(solution_id)
                    raise
                self._sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")

    def run(self, calendar_id: str, action: Action, event: Mapping[str, Any]) -> bool:
        """Apply one action. True = done (or given up for good); False = stored as pending."""
        try:
            self._apply(calendar_id, action)
        except (ProviderUnavailable, RetryLater, CalendarUnavailable) as exc:
            self._store.put_pending(
                PendingChange(calendar_id, str(event.get("id")), event, last_error=str(exc))
            )
            self.outcome.pending += 1
            return False
        except (ProviderRefused, ProviderError) as exc:
            # Retrying a refusal cannot succeed; record it and move on rather than block
            # every later change of this calendar behind it.
            log.warning("provider refused %s: %s", type(action).__name__, exc)
            self.outcome.failed += 1
            return True
        self.outcome.applied += 1
        return True

    def _apply(self, calendar_id: str, action: Action) -> None:
        if isinstance(action, DeleteMeeting):
            self._delete(action)
        elif isinstance(action, UpdateMeeting):
            self._update(action)
        elif isinstance(action, Confirm):
            self._save(action.conference.with_(confirmed=True, snapshot=action.snapshot))
        elif isinstance(action, ChangeOccurrence):
            self._occurrence(action)
        elif isinstance(action, CreateForCopy):
            self._copy(calendar_id, action)
        elif isinstance(action, WriteBack):
            self._write_back(action.conference, action.event)

    def _provider(self, solution_id: str) -> tuple[ConferenceProvider, Solution]:
        return self._providers[solution_id], self._solutions[solution_id]

    def _delete(self, action: DeleteMeeting) -> None:
        conf = action.conference
        if conf.solution_id in self._providers:
            provider, _ = self._provider(conf.solution_id)
            key = idempotency_key("delete", conf.calendar_id, conf.event_id, None)
            self._call(
                conf.solution_id,
                "delete",
                lambda: provider.delete(conf.meeting, idempotency_key=key),
            )
        self._save(conf.with_(state="deleted"))

    def _update(self, action: UpdateMeeting) -> None:
        conf, event = action.conference, action.event
        provider, solution = self._provider(conf.solution_id)
        request = meeting_request(conf.calendar_id, conf.event_id, solution, event)
        key = idempotency_key("update", conf.calendar_id, conf.event_id, action.snapshot.etag)
        meeting = self._call(
            conf.solution_id,
            "update",
            lambda: provider.update(conf.meeting, request, idempotency_key=key),
        )
        carried = carried_conference(event)
        confirmed = conf.confirmed or (
            carried is not None and carried.conference_id == conf.conference_id
        )
        updated = conf.with_(meeting=meeting, snapshot=action.snapshot, confirmed=confirmed)
        self._save(updated)
        if meeting.entry_points != conf.meeting.entry_points and confirmed:
            # The join data changed (e.g. a JWT bound to the event's time): put it on the event.
            self._write_back(updated, event)

    def _occurrence(self, action: ChangeOccurrence) -> None:
        series, event = action.series, action.event
        provider, _ = self._provider(series.solution_id)
        snap = EventSnapshot.from_event(event)
        original = event.get("originalStartTime")
        change = OccurrenceChange(
            recurring_event_id=series.event_id,
            occurrence_event_id=str(event.get("id")),
            original_start=dict(original) if isinstance(original, Mapping) else {},
            cancelled=action.cancelled,
            start=snap.start,
            end=snap.end,
        )
        key = idempotency_key(
            "occurrence", series.calendar_id, str(event.get("id")), action.fingerprint
        )
        self._call(
            series.solution_id,
            "occurrence",
            lambda: provider.update_occurrence(series.meeting, change, idempotency_key=key),
        )
        # Several occurrences of one series may change in the same page.
        current = self._current(series)
        occurrences = {**current.occurrences, change.occurrence_event_id: action.fingerprint}
        self._save(current.with_(occurrences=occurrences))

    def _copy(self, calendar_id: str, action: CreateForCopy) -> None:
        event = action.event
        event_id = str(event.get("id"))
        provider, solution = self._provider(action.solution_id)
        request = meeting_request(calendar_id, event_id, solution, event)
        key = idempotency_key("create", calendar_id, event_id, solution.id)
        meeting: Meeting = self._call(
            solution.id, "create", lambda: provider.create(request, idempotency_key=key)
        )
        record = Conference.new(calendar_id, event_id, solution.id, meeting, event, "copy")
        stored, _ = self._store.create_conference_if_absent(record)
        self.latest[stored.event_id] = stored
        self._write_back(stored, event)

    def _write_back(self, conf: Conference, event: Mapping[str, Any]) -> None:
        """Put ``conf``'s conference data on its event with If-Match; on 412 re-read and retry.

        The user may be editing the same event in another client: If-Match makes sure we
        never overwrite their change, and the re-read picks it up before trying again.
        """
        solution = self._solutions.get(conf.solution_id)
        if solution is None:
            return
        data = conference_data_resource(
            conf.meeting,
            solution_name=solution.name,
            icon_uri=solution.logo_url,
            parameters=owner_parameters(conf.calendar_id, conf.event_id, conf.solution_id),
        )
        current: Mapping[str, Any] | None = event
        for _ in range(WRITE_BACK_ATTEMPTS):
            if current is None or current.get("status") == "cancelled":
                return  # gone meanwhile; the next sync sees the tombstone and deletes
            etag = current.get("etag")
            if not isinstance(etag, str):
                current = self._calendar.get_event(conf.calendar_id, conf.event_id)
                continue
            try:
                self._calendar.patch_conference_data(conf.calendar_id, conf.event_id, etag, data)
            except PreconditionFailed:
                self.outcome.conflicts += 1
                current = self._calendar.get_event(conf.calendar_id, conf.event_id)
                if current is not None and carried_conference(current) is None:
                    # The concurrent edit removed the conference: that is the user's call,
                    # and the next sync deletes the meeting if it was confirmed.
                    return
                continue
            except NotFound:
                return
            self.outcome.write_backs += 1
            # Keep the snapshot: it is what the provider was told. The written event may carry
            # a concurrent user edit (that is why we retried); the next sync must still see it
            # as a change and update the meeting.
            self._save(self._current(conf).with_(confirmed=True))
            return
        raise RetryLater("write-back kept conflicting with concurrent edits")
