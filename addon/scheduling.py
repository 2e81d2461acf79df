"""Who runs a sync, and what happens to the work it leaves: triggers and sync tasks.

``ADDON_SYNC_MODE=inline``: a trigger syncs before it answers; work left behind waits for
the next trigger (or ``flask sync --due`` from a cron). ``tasks`` (the default): a trigger
only enqueues a sync task on Cloud Tasks, debounced, and every task decides its own
follow-up before it answers, so every unfinished piece of work has a durable owner:

========================  ==============================================================
run outcome               follow-up task
========================  ==============================================================
``continue`` (slice cut)  the continuation, at once (named by listing and slice)
``busy`` (lease held)     a look at the lease when it would expire (its holder may be dead)
work left (``retry_at``)  a retry at ``retry_at`` (the engine's capped exponential backoff);
                          after ``ADDON_RETRY_MAX_ATTEMPTS`` in a row, *needs attention*
still dirty               a debounced sync, as if triggered
token refused (401)       none: the calendar waits, visibly, for its user's next trigger
========================  ==============================================================

A task answers 2xx once its outcome and its follow-up are stored; anything else (Datastore
or Cloud Tasks failing) is an error answer, and Cloud Tasks retries the task with the
queue's backoff. Deliveries are at least once: the lease, the dirty flag, idempotent
provider calls and follow-up ids derived from the state make a second delivery harmless.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from addon.auth import VerifiedUser
from addon.calendar.errors import Unauthorized
from addon.channels.lifecycle import open_channel, stop_channel
from addon.credentials.access import Access, NoAccess
from addon.sealing import SealError
from addon.services import Services
from addon.store.records import CalendarState
from addon.sync.report import SyncRun
from addon.sync.slices import SliceBudget
from addon.tasks import names
from addon.tasks.body import LISTING_KINDS, ChannelTaskBody, TaskBody, TaskKind
from addon.tasks.queue import QueueUnavailable

log = logging.getLogger(__name__)

# Google documents the user's OAuth token in an event object as short-lived without giving
# its lifetime; access tokens are issued for an hour. A task does not try one older than this.
TOKEN_LIFETIME_SECONDS = 3500.0
LEASE_LOOK_MARGIN_SECONDS = 1.0


@dataclass(frozen=True)
class TaskOutcome:
    """What a delivered task did: ``status`` for the log and the answer, the follow-up
    task's kind if one was enqueued."""

    status: str
    followup: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "followup": self.followup}


def on_trigger(
    svc: Services, calendar_id: str, user_token: str, user: VerifiedUser | None = None
) -> dict[str, Any]:
    """A calendarNotificationTrigger: sync now (inline) or enqueue the debounced task.
    ``user``: the verified user of the trigger (a calendar without a sync user adopts it)."""
    if svc.settings.sync_mode == "inline":
        run = svc.engine.sync(calendar_id, svc.calendar_for_token(user_token))
        return {"status": run.status}
    body = TaskBody(
        calendar_id,
        "trigger",
        svc.sealer.seal(user_token, calendar_id),
        time.time(),
        {"id": user.user_id, "email": user.email} if user else None,
    )
    try:
        created = _enqueue_debounced(svc, body)
    except QueueUnavailable as exc:
        # Cloud Tasks is down: the change must not wait for a trigger that may never come,
        # so this one syncs a slice itself before answering (what inline mode does).
        log.warning("enqueue failed; syncing in the trigger (%s)", exc)
        run = svc.engine.sync(calendar_id, svc.calendar_for_token(user_token), budget=_budget(svc))
        return {"status": run.status}
    # The trigger's response body is not documented; the status helps when driving by hand.
    return {"status": "queued" if created else "coalesced"}


def run_task(svc: Services, body: TaskBody) -> TaskOutcome:
    """One delivered sync task. Raises ``StoreError``/``QueueUnavailable`` when the outcome
    or the follow-up could not be stored, ``TokenServiceUnavailable`` when Google's token
    service failed: the caller answers 5xx and Cloud Tasks retries."""
    calendar_id = body.calendar_id
    state = svc.store.get_calendar(calendar_id)
    if state is None or not state.subscribed:
        return TaskOutcome("unknown calendar")
    if body.user is not None and state.sync_user_id is None:
        user_id, email = body.user["id"], body.user["email"]
        if svc.store.adopt_sync_user(calendar_id, user_id, email):
            state = state.with_(sync_user_id=user_id, sync_user_email=email)
    now = time.time()
    if body.kind == "lease" and _lease_live(state, now):
        return TaskOutcome("lease held", _look_at_lease(svc, body, state))
    if body.kind not in LISTING_KINDS and not state.due and state.lease_owner is None:
        # A follow-up whose work someone else finished (a trigger's run resumed the cursor,
        # a retry's changes were replayed): nothing to list.
        return TaskOutcome("nothing due")
    access = svc.access.for_calendar(state, _open_token(svc, body, now))
    if isinstance(access, NoAccess):
        if state.due or body.kind == "trigger":
            _wait_for_user(svc, state, access.reason)
        # else: a periodic check (or a push) of a calendar with nothing left to do and nothing
        # to read it with: no work waits, so nothing is shown as waiting.
        return TaskOutcome("no credentials")
    run = svc.engine.sync(calendar_id, svc.calendar(access.credentials), budget=_budget(svc))
    if _refused(run):
        # The trigger's token expired, or a stored one was revoked since it was refreshed:
        # once, with what the add-on holds now (a refused grant is dropped by that refresh).
        svc.access.refused(state, access)
        access = svc.access.for_calendar(state, None, stored_only=True)
        if isinstance(access, NoAccess):
            _wait_for_user(svc, state, access.reason)
            return TaskOutcome("no credentials")
        run = svc.engine.sync(calendar_id, svc.calendar(access.credentials), budget=_budget(svc))
    _note_access(svc, state, access)
    return TaskOutcome(run.status, _follow_up(svc, body, run, access))


def run_channel_task(svc: Services, body: ChannelTaskBody) -> TaskOutcome:
    """One delivered push-channel task (``addon.channels.lifecycle``)."""
    if body.op == "open":
        return TaskOutcome(open_channel(svc, body.calendar_id, body.channel))
    assert body.channel is not None  # parsing refuses a stop without its channel
    return TaskOutcome(stop_channel(svc, body.calendar_id, body.channel))


def _refused(run: SyncRun) -> bool:
    return any(r.error and r.error.startswith(Unauthorized.__name__) for r in run.reports)


def _wait_for_user(svc: Services, state: CalendarState, why: str) -> None:
    """No credentials: the calendar shows why it waits (and stays due). Its channel, if any,
    can neither be renewed nor stopped any more: it is left to expire."""
    if state.attention != why:
        svc.store.update_calendar(
            state.calendar_id, lambda s: s.with_(attention=why) if s.attention != why else None
        )
    if state.channel_id is not None:
        svc.store.retire_channel(state.calendar_id, state.channel_id, "stopped")
    log.info("calendar waits for its user", extra={"json_fields": {"why": why}})


def _note_access(svc: Services, state: CalendarState, access: Access) -> None:
    """Say in the sync state what the last task read Calendar with (written on change only)."""
    what = access.describe()
    if state.access != what:
        svc.store.update_calendar(
            state.calendar_id, lambda s: s.with_(access=what) if s.access != what else None
        )


def _budget(svc: Services) -> SliceBudget:
    return SliceBudget(pages=svc.settings.slice_pages, seconds=svc.settings.slice_seconds)


def _lease_live(state: CalendarState, now: float) -> bool:
    expires = state.lease_expires
    return state.lease_owner is not None and expires is not None and expires.timestamp() > now


def _open_token(svc: Services, body: TaskBody, now: float) -> str | None:
    if body.token is None or body.token_at is None:
        return None
    if now - body.token_at > TOKEN_LIFETIME_SECONDS:
        return None
    try:
        return svc.sealer.open(body.token, body.calendar_id)
    except SealError as exc:
        # Not retryable: a key was removed from ADDON_TOKEN_KEYS, or the body was altered.
        log.error("a task's token does not open (%s); ADDON_TOKEN_KEYS changed?", exc)
        return None


def _follow_up(svc: Services, body: TaskBody, run: SyncRun, access: Access) -> str | None:
    state = svc.store.get_calendar(body.calendar_id)
    if state is None:
        return None
    _ensure_channel(svc, state, access)
    if run.status == "continue" and state.cursor is not None:
        cursor = state.cursor
        task_id = names.continuation(body.calendar_id, cursor.run_id, cursor.slices)
        svc.queue.enqueue(task_id, _carry(body, "continue"))
        return "continue"
    if run.status == "busy":
        return _look_at_lease(svc, body, state)
    if _refused(run):
        return None
    if state.retry_at is not None:
        if state.retry_count > svc.settings.retry_max_attempts:
            _give_up(svc, state)
            return None
        at = state.retry_at.timestamp()
        svc.queue.enqueue(names.at_moment(body.calendar_id, "r", at), _carry(body, "retry"), at)
        return "retry"
    if state.dirty and state.lease_owner is None:
        _enqueue_debounced(svc, _carry(body, "trigger"))
        return "trigger"
    return None


def _ensure_channel(svc: Services, state: CalendarState, access: Access) -> None:
    """A calendar we can read with stored credentials (or could, through delegation) and
    that has no push channel gets one (a task; a duplicate is harmless, see ``lifecycle``)."""
    if not svc.settings.push_channels or state.channel_id is not None:
        return
    delegated = svc.access.delegation is not None and svc.access.delegation.covers(
        state.sync_user_email
    )
    if access.stored or delegated:
        task_id = f"{names.calendar_hash(state.calendar_id)}-o{state.token_generation}"
        svc.queue.enqueue(task_id, ChannelTaskBody(state.calendar_id, "open"))


def _enqueue_debounced(svc: Services, body: TaskBody) -> bool:
    """The task of the debounce window we are in (every trigger in it names the same one)."""
    task_id, at = names.debounced(body.calendar_id, time.time(), svc.settings.debounce_seconds)
    return svc.queue.enqueue(task_id, body, at)


def _look_at_lease(svc: Services, body: TaskBody, state: CalendarState) -> str | None:
    """The holder of a live lease runs again for our trigger (dirty flag); if it died, nobody
    would: look again once the lease would have expired."""
    if state.lease_expires is None:
        return None
    at = state.lease_expires.timestamp() + LEASE_LOOK_MARGIN_SECONDS
    svc.queue.enqueue(names.at_moment(body.calendar_id, "l", at), _carry(body, "lease"), at)
    return "lease"


def _give_up(svc: Services, state: CalendarState) -> None:
    last = state.last_result.get("error") or f"{state.pending_count} change(s) still pending"
    why = (
        f"gave up after {state.retry_count} tries in a row ({last}); the next change in "
        "Calendar, or `flask sync`, tries again"
    )
    svc.store.update_calendar(state.calendar_id, lambda s: s.with_(attention=why))
    log.warning("calendar needs attention: retries exhausted")


def _carry(body: TaskBody, kind: TaskKind) -> TaskBody:
    """A follow-up carries the sealed token of the task that made it, as it was sealed."""
    return TaskBody(body.calendar_id, kind, body.token, body.token_at, body.user)
