"""Carry out planned actions: provider calls, conditional write-backs, record updates.

Provider calls with bounded retries live in ``provider_calls``, the If-Match write-back in
``write_back``, what a run writes in ``ledger``.

* **Keys.** Every provider call carries an idempotency key naming its target
  (``addon.sync.keys``): a crash after the call replays the same key and the vendor applies it
  once; a different operation never reuses a key.
* **Lease.** A provider call is started only while the lease outlasts the call's whole budget
  (``LeaseGuard.ensure``); record writes are fenced by the lease in the store.
* **Staging.** Records and pending changes are staged and written by ``flush()`` (the engine
  flushes once per batch): one fenced transaction instead of one write per change. A record is
  flushed *before* any Calendar write that shows its meeting (a copy's write-back), so the
  event never carries a meeting we hold no record of.
* **Failures are per event.** The vendor or Calendar unavailable -> the change is kept
  *pending* (kind ``retry``) and replayed by later syncs until it succeeds. Refused (4xx,
  Calendar 403) -> ``permanent``: tried again on the next syncs, then *parked* after
  ``PERMANENT_ATTEMPTS`` with its reason. Either way the rest of the calendar goes on; only a
  failure of the listing itself stops a run (the engine's business).
* **Linked accounts.** A vendor that acts as one user (``account_link``) is called as the
  linked account of the meeting's owner (``Conference.owner_id``; a copy's meeting is owned by
  the calendar's syncing user), through ``LinkedAccounts.call_as`` (refresh on expiry, and once
  after a refused token). No usable link (never linked, unlinked, refresh refused) ->
  ``attention``: parked at once with the reason, never retried in a loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from addon.calendar.client import CalendarClient
from addon.calendar.errors import (
    BadRequest,
    CalendarUnavailable,
    Forbidden,
)
from addon.conference_data import (
    carried_conference,
    carried_join_digest,
    carry_dial_in_choice,
    conference_data_resource,
    join_digest,
    owner_parameters,
)
from addon.linking import AccountNotLinked, LinkedAccounts
from addon.providers.base import (
    ConferenceProvider,
    Meeting,
    OccurrenceChange,
    ProviderError,
    ProviderUnavailable,
)
from addon.settings import Solution
from addon.store.datastore import Store
from addon.store.records import Conference, EventSnapshot, PendingChange, PendingKind
from addon.sync.keys import create_key, delete_key, next_generation, occurrence_key, update_key
from addon.sync.known import KnownRecords
from addon.sync.lease import LeaseGuard
from addon.sync.ledger import Ledger, describe_failure
from addon.sync.plan import (
    Action,
    ChangeOccurrence,
    Confirm,
    CreateForCopy,
    DeleteMeeting,
    PlanContext,
    Skip,
    UpdateMeeting,
    WriteBack,
    write_back,
)
from addon.sync.provider_calls import (
    PROVIDER_ATTEMPTS,
    PROVIDER_BACKOFF,
    ProviderCalls,
    meeting_request,
)
from addon.sync.write_back import RetryLater, patch_if_match

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What one run did; becomes part of the calendar's ``last_result``."""

    provider_calls: dict[str, int] = field(default_factory=dict)
    applied: int = 0
    pending: int = 0
    failed: int = 0
    parked: int = 0
    write_backs: int = 0
    conflicts: int = 0
    retired: int = 0
    superseded: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    # The threads of the run's provider pool count into one outcome.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, kind: str) -> None:
        with self._lock:
            self.provider_calls[kind] = self.provider_calls.get(kind, 0) + 1

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def skip(self, reason: str) -> None:
        with self._lock:
            self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _target(action: Action) -> str | None:
    if isinstance(action, DeleteMeeting | UpdateMeeting | Confirm | WriteBack):
        return action.conference.conference_id
    if isinstance(action, ChangeOccurrence):
        return action.series.conference_id
    if isinstance(action, Skip):
        return action.meeting_id
    return None


class Executor:
    def __init__(
        self,
        *,
        store: Store,
        calendar: CalendarClient,
        providers: Mapping[str, ConferenceProvider],
        solutions: Mapping[str, Solution],
        calendar_id: str,
        owner: str,
        guard: LeaseGuard,
        pending: Mapping[str, PendingChange] | None = None,
        provider_attempts: int = PROVIDER_ATTEMPTS,
        provider_backoff: float = PROVIDER_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        pool_size: int = 1,
        accounts: LinkedAccounts | None = None,
        default_owner: str | None = None,
    ) -> None:
        self._store = store
        self._accounts = accounts
        # Who owns a meeting the sync makes itself (a copy's): the calendar's syncing user.
        self._default_owner = default_owner
        self.pool_size = pool_size  # provider calls in flight at once (addon.sync.batch)
        self._pool: ThreadPoolExecutor | None = None
        self._calendar = calendar
        self._providers = providers
        self._solutions = solutions
        self._calendar_id = calendar_id
        self._owner = owner
        self.context = PlanContext(calendar_id, frozenset(solutions))
        self.outcome = Outcome()
        self._calls = ProviderCalls(
            providers,
            guard,
            self.outcome.count,
            attempts=provider_attempts,
            backoff=provider_backoff,
            sleep=sleep,
        )
        self.known = KnownRecords(store, calendar_id)
        self.ledger = Ledger(
            store=store,
            calendar_id=calendar_id,
            owner=owner,
            pending=pending,
            clock=clock,
            on_stored=self.known.flushed,
        )

    # ---- what the run writes (see addon.sync.ledger) -----------------------------------------
    @property
    def pending(self) -> dict[str, PendingChange]:
        return self.ledger.pending

    @property
    def latest(self) -> dict[str, Conference]:
        return self.ledger.latest

    def begin_batch(self) -> None:
        self.ledger.begin_batch()

    def lane_pool(self) -> ThreadPoolExecutor:
        """The run's provider pool, made on first use and kept for the run's batches (its
        threads and their connections are reused from page to page)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.pool_size, thread_name_prefix="sync-lane")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _stage(self, record: Conference) -> Conference:
        return self.ledger.stage(record)

    def _current(self, conference: Conference) -> Conference:
        return self.ledger.current(conference)

    def flush(self) -> set[str]:
        """Write what is staged (fenced by the lease); returns the event ids whose records
        changed meanwhile and were not written (a creation replaced them: re-planned later)."""
        superseded = self.ledger.flush()
        self.outcome.superseded = self.ledger.superseded
        return superseded

    def settle(self, event: Mapping[str, Any]) -> None:
        self.ledger.settle(event)

    def retire(self, conference: Conference) -> None:
        """The event ended more than the look-back ago: no more provider work is due."""
        self._stage(self._current(conference).with_(state="retired"))
        self.outcome.add("retired")

    def _call(self, solution_id: str, kind: str, fn: Callable[[], Any]) -> Any:
        return self._calls.call(solution_id, kind, fn)

    def _call_as(
        self,
        solution_id: str,
        owner_id: str | None,
        kind: str,
        fn: Callable[[ConferenceProvider], Any],
    ) -> Any:
        """``fn(provider)`` with the provider acting as ``owner_id``'s linked account when it
        needs one (see the module docstring)."""
        provider = self._providers[solution_id]
        accounts = self._accounts
        if accounts is None or provider.account_link() is None:
            return self._call(solution_id, kind, lambda: fn(provider))
        return self._call(
            solution_id, kind, lambda: accounts.call_as(provider, solution_id, owner_id, fn)
        )

    # ---- one action ---------------------------------------------------------------------
    def run(self, action: Action, event: Mapping[str, Any]) -> None:
        """Apply one action; a failure is recorded on its event, never raised (except the
        calendar-wide ones: lease lost, the user's token refused, quota exhausted)."""
        try:
            if isinstance(action, Skip):
                self._skip(action, event)
                return
            self._apply(action)
        except AccountNotLinked as exc:
            self._fail(event, action, "attention", exc)
        except (ProviderUnavailable, RetryLater, CalendarUnavailable) as exc:
            self._fail(event, action, "retry", exc)
        except (ProviderError, Forbidden, BadRequest) as exc:
            self._fail(event, action, "permanent", exc)
        else:
            self.outcome.add("applied")

    def _skip(self, action: Skip, event: Mapping[str, Any]) -> None:
        self.outcome.skip(action.reason)
        if action.attention:
            self._fail(event, action, "attention", None)

    def _fail(
        self,
        event: Mapping[str, Any],
        action: Action,
        kind: PendingKind,
        exc: BaseException | None,
    ) -> None:
        reason = describe_failure(exc) if exc is not None else str(getattr(action, "reason", ""))
        entry = self.ledger.fail(
            event,
            action=type(action).__name__,
            meeting_id=_target(action),
            kind=kind,
            reason=reason,
            needs_solution=action.needs_solution if isinstance(action, Skip) else None,
            needs_link=exc.link_key if isinstance(exc, AccountNotLinked) else None,
        )
        if entry.parked:
            self.outcome.add("parked")
            self._roll_back_unshown(entry.event_id, action)
        elif kind == "retry":
            self.outcome.add("pending")
        else:
            self.outcome.add("failed")

    def _roll_back_unshown(self, event_id: str, action: Action) -> None:
        """A copy's meeting that never reached its event and never will (parked): delete it,
        so no meeting lives that no event carries."""
        record = self.latest.get(event_id)
        if record is None and isinstance(action, WriteBack):
            record = action.conference
        if record is None or record.origin != "copy" or record.confirmed or not record.live:
            return
        if record.solution_id not in self._providers:
            return
        try:
            self._call_as(
                record.solution_id,
                record.owner_id,
                "delete",
                lambda p: p.delete(
                    record.meeting,
                    idempotency_key=delete_key(record.solution_id, record.conference_id),
                ),
            )
        except ProviderError:
            return  # the record stays active: its parked entry keeps it visible
        self._stage(record.with_(state="deleted"))

    def _apply(self, action: Action) -> None:
        if isinstance(action, DeleteMeeting):
            self._delete(action)
        elif isinstance(action, UpdateMeeting):
            self._update(action)
        elif isinstance(action, Confirm):
            conf = self._current(action.conference)
            digest = carried_join_digest(action.event)
            self._stage(conf.with_(confirmed=True, snapshot=action.snapshot, written_digest=digest))
        elif isinstance(action, ChangeOccurrence):
            self._occurrence(action)
        elif isinstance(action, CreateForCopy):
            self._copy(action)
        elif isinstance(action, WriteBack):
            self._write_back(self._current(action.conference), action.event)

    def _provider(self, solution_id: str) -> tuple[ConferenceProvider, Solution]:
        return self._providers[solution_id], self._solutions[solution_id]

    def _delete(self, action: DeleteMeeting) -> None:
        conf = self._current(action.conference)
        key = delete_key(conf.solution_id, conf.conference_id)
        self._call_as(
            conf.solution_id,
            conf.owner_id,
            "delete",
            lambda p: p.delete(conf.meeting, idempotency_key=key),
        )
        self._stage(conf.with_(state="deleted"))

    def _update(self, action: UpdateMeeting) -> None:
        conf, event = self._current(action.conference), action.event
        _, solution = self._provider(conf.solution_id)
        request = meeting_request(conf.calendar_id, conf.event_id, solution, event)
        key = update_key(conf.solution_id, conf.conference_id, action.snapshot.etag)
        meeting: Meeting = self._call_as(
            conf.solution_id,
            conf.owner_id,
            "update",
            lambda p: p.update(conf.meeting, request, idempotency_key=key),
        )
        meeting = carry_dial_in_choice(conf.meeting, meeting)
        carried = carried_conference(event)
        shows_ours = carried is not None and carried.conference_id == conf.conference_id
        written = conf.written_digest
        if shows_ours and not conf.confirmed:
            written = carried_join_digest(event)
        updated = self._stage(
            conf.with_(
                meeting=meeting,
                snapshot=action.snapshot,
                confirmed=conf.confirmed or shows_ours,
                written_digest=written,
                state="active",
            )
        )
        if updated.owes_write_back:
            # The join data changed (a join token bound to the event's time): put it on the
            # event, or say why it cannot be.
            follow = write_back(updated, event, self.context)
            if isinstance(follow, WriteBack):
                self._write_back(updated, event)
            else:
                self._fail(event, follow, "attention", None)

    def _occurrence(self, action: ChangeOccurrence) -> None:
        series, event = self._current(action.series), action.event
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
        key = occurrence_key(
            series.solution_id, series.conference_id, change.occurrence_event_id, action.fingerprint
        )
        self._call_as(
            series.solution_id,
            series.owner_id,
            "occurrence",
            lambda p: p.update_occurrence(series.meeting, change, idempotency_key=key),
        )
        current = self._current(series)  # several occurrences of one series per page
        occurrences = {**current.occurrences, change.occurrence_event_id: action.fingerprint}
        self._stage(current.with_(occurrences=occurrences))

    def _copy(self, action: CreateForCopy) -> None:
        event = action.event
        event_id = str(event.get("id"))
        _, solution = self._provider(action.solution_id)
        request = meeting_request(self._calendar_id, event_id, solution, event)
        previous = self.latest.get(event_id) or action.previous
        generation = next_generation(previous)
        key = create_key(solution.id, self._calendar_id, event_id, generation)
        owner = self._default_owner
        meeting: Meeting = self._call_as(
            solution.id, owner, "create", lambda p: p.create(request, idempotency_key=key)
        )
        record = Conference.new(
            self._calendar_id, event_id, solution.id, meeting, event, "copy", generation, owner
        ).with_(version=previous.version if previous else 0)
        self._stage(record)
        if event_id in self.flush():
            # A creation for this very event landed meanwhile (the user picked a solution on
            # the copy): it owns the event now, so ours would be left behind. Undo it.
            key = delete_key(solution.id, meeting.meeting_id)
            self._call_as(
                solution.id, owner, "delete", lambda p: p.delete(meeting, idempotency_key=key)
            )
            return
        self._write_back(self.latest[event_id], event)

    def _write_back(self, conf: Conference, event: Mapping[str, Any]) -> None:
        """Put ``conf``'s conference data on its event (If-Match, see ``write_back``)."""
        solution = self._solutions.get(conf.solution_id)
        if solution is None:
            return
        # The record is durable before the event shows its meeting; if it changed meanwhile
        # (a creation replaced it), it is no longer ours to show.
        if conf.event_id in self.flush():
            return
        conf = self.latest.get(conf.event_id, conf)
        planned = carried_conference(event)
        replaces = {conf.conference_id} | ({planned.conference_id} if planned else set())
        data = conference_data_resource(
            conf.meeting,
            solution_name=solution.name,
            icon_uri=solution.logo_url,
            parameters=owner_parameters(conf.calendar_id, conf.event_id, conf.solution_id),
        )

        def conflicted() -> None:
            self.outcome.add("conflicts")

        written = patch_if_match(
            self._calendar, conf.calendar_id, conf.event_id, event, data, replaces, conflicted
        )
        if not written:
            return
        self.outcome.add("write_backs")
        # Keep the snapshot: it is what the provider was told. The written event may carry
        # a concurrent user edit (that is why we retried); the next sync must still see it
        # as a change and update the meeting.
        latest = self._current(conf)
        self._stage(latest.with_(confirmed=True, written_digest=join_digest(latest.meeting)))
