"""The live log: host → add-on calls, sync runs (with the 410 a run met) and add-on → vendor
calls, newest first; ``concerning`` keeps what concerns one user.

Each entry names the calendar, event and meeting it is about when its source tells: trigger
calls carry their calendar and (onCreateFunction) event, sync runs their calendar, vendor
calls their meeting, whose calendar and event the vendor holds. A creation names no meeting
yet; its idempotency key does (``create:<solution>:<calendar>:<event>:g<n>``,
``addon.sync.keys``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from localrun.console.text import TIMES, parse_time

LOG_LIMIT = 80


@dataclass
class LogEntry:
    at: datetime | None
    source: str  # trigger | sync | provider
    title: str
    detail: str
    tone: str  # ok | warn | error
    op: str = ""
    calendar: str = ""
    event: str = ""
    meeting: str = ""

    @property
    def time(self) -> str:
        return f"{self.at:%H:%M:%S}.{self.at.microsecond // 1000:03d}" if self.at else "—"


def trigger_entry(call: Mapping[str, Any]) -> LogEntry:
    kind = str(call.get("kind", "call"))
    status = call.get("status")
    outcome = str(call.get("outcome", ""))
    title = f"{'onCreateFunction' if kind == 'onCreate' else 'calendarNotificationTrigger'}"
    title += f" → {status}" if status is not None else f" → {outcome}"
    details = [str(call.get("calendarId", ""))]
    if call.get("eventId"):
        details.append(f"event {str(call['eventId'])[:12]}")
    for flag in ("applied", "subscribed", "duplicate"):
        if call.get(flag):
            details.append(flag if flag != "subscribed" else "subscribed the calendar")
    if call.get("attempt", 1) != 1:
        details.append(f"attempt {call['attempt']}")
    if call.get("conferenceError"):
        details.append(f"conference error {call['conferenceError'].get('type')}")
    if outcome not in ("ok", ""):
        details.append(outcome)
    tone = "ok" if outcome == "ok" else ("warn" if outcome == "dropped" else "error")
    return LogEntry(
        parse_time(call.get("at")), "trigger", title, " · ".join(details), tone,
        op=kind, calendar=str(call.get("calendarId", "")), event=str(call.get("eventId") or ""),
    )  # fmt: skip


def sync_entry(calendar_id: str, run: Mapping[str, Any]) -> LogEntry:
    title = (
        f"{run.get('mode', '?')} sync · {run.get('pages', 0)} list call(s) · "
        f"{run.get('changes', 0)} change(s)"
    )
    if run.get("replayed"):
        title += f" · replayed {run['replayed']}"
    details = [calendar_id]
    actions = run.get("actions") or {}
    details.append(
        "actions " + ", ".join(f"{k}{TIMES}{v}" for k, v in sorted(actions.items()))
        if actions
        else "no action"
    )
    provider = run.get("provider_calls") or {}
    if provider:
        details.append(
            "provider " + ", ".join(f"{k}{TIMES}{v}" for k, v in sorted(provider.items()))
        )
    if run.get("token_expired"):
        details.append("410: token expired → full sync")
    if run.get("reconciled"):
        details.append(f"{run['reconciled']} reconciled")
    if run.get("retired"):
        details.append(f"{run['retired']} retired")
    if run.get("pending"):
        details.append(f"{run['pending']} pending")
    if run.get("parked"):
        details.append(f"{run['parked']} parked (needs attention)")
    if run.get("retry_in") is not None:
        details.append(f"next retry in {run['retry_in']:.0f} s")
    if run.get("write_backs"):
        details.append(f"{run['write_backs']} write-back(s)")
    details.append("token stored" if run.get("token_stored") else "token kept")
    tone = "ok"
    if run.get("pending") or run.get("failed") or run.get("parked"):
        tone = "warn"
    if run.get("error"):
        tone = "error"
        details.append(f"error: {run['error']}")
    return LogEntry(
        parse_time(run.get("at")), "sync", title, " · ".join(details), tone,
        op=str(run.get("mode", "")), calendar=calendar_id,
    )  # fmt: skip


def expired_token_entry(calendar_id: str, run: Mapping[str, Any]) -> LogEntry | None:
    """The 410 a sync run met, as a line of its own (None: the run met none)."""
    if not run.get("token_expired"):
        return None
    reconciled = int(run.get("reconciled") or 0)
    details = [calendar_id, "the sync token was refused; the add-on listed every event again"]
    if run.get("continues"):
        details.append("the listing and its reconcile go on in the next time slice")
    at = parse_time(run.get("at"))
    return LogEntry(
        # Met during the run, so just before the run's own entry, which is stamped at its end.
        at - timedelta(microseconds=1) if at else None, "calendar",
        f"sync token expired (410) → full sync and reconcile, {reconciled} reconciled",
        " · ".join(details), "warn", op="410", calendar=calendar_id,
    )  # fmt: skip


def _created_for(key: Any) -> tuple[str, str]:
    """(calendar, event) a creation's idempotency key names; empty when it names none."""
    parts = str(key or "").split(":")
    if len(parts) == 5 and parts[0] == "create":
        return parts[2], parts[3]
    return "", ""


def provider_entry(
    at: datetime | None,
    call: Mapping[str, Any],
    meetings: Mapping[str, Mapping[str, Any]] | None = None,
) -> LogEntry:
    op = str(call.get("op", ""))
    outcome = str(call.get("outcome", ""))
    meeting_id = str(call.get("meetingId") or "")
    tone = {"applied": "ok", "duplicate": "warn"}.get(outcome, "error")
    meeting = (meetings or {}).get(meeting_id) or {}
    calendar, event = str(meeting.get("calendarId") or ""), str(meeting.get("eventId") or "")
    if not meeting_id:
        calendar, event = _created_for(call.get("idempotencyKey"))
    return LogEntry(
        at, "provider", f"{op} {meeting_id or 'new meeting'}",
        f"{call.get('method')} → {call.get('status')} · {outcome}", tone, op=op,
        calendar=calendar, event=event, meeting=meeting_id,
    )  # fmt: skip


def timeline(
    trigger_calls: Iterable[Mapping[str, Any]],
    sync_runs: Mapping[str, Iterable[Mapping[str, Any]]],
    provider_calls: Iterable[tuple[datetime | None, Mapping[str, Any]]],
    limit: int | None = LOG_LIMIT,
    meetings: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[LogEntry]:
    """Everything that happened, newest first (``meetings``: the vendor's, by id, to tell
    which calendar and event a vendor call was about)."""
    entries = [trigger_entry(c) for c in trigger_calls]
    for cal, runs in sync_runs.items():
        for run in runs:
            entries.append(sync_entry(cal, run))
            expired = expired_token_entry(cal, run)
            if expired is not None:
                entries.append(expired)
    entries += [provider_entry(at, call, meetings) for at, call in provider_calls]
    oldest = datetime.min.replace(tzinfo=UTC)
    entries.sort(key=lambda e: e.at or oldest, reverse=True)
    return entries[:limit] if limit is not None else entries


def concerning(
    entries: Iterable[LogEntry],
    calendars: Collection[str],
    events: Collection[str] = (),
    meetings: Collection[str] = (),
) -> list[LogEntry]:
    """The entries about one of ``calendars``, one of the ``events`` its owner sees (an
    invitation's event lives in the organizer's calendar under the same id) or one of their
    ``meetings``. An entry that names none of them (a vendor call whose meeting is unknown)
    is left out: it may be anybody's."""
    wanted = {c.lower() for c in calendars}
    return [
        e
        for e in entries
        if e.calendar.lower() in wanted
        or (e.event and e.event in events)
        or (e.meeting and e.meeting in meetings)
    ]


def counts(entries: Iterable[LogEntry]) -> dict[str, int]:
    return dict(Counter(e.source for e in entries))
