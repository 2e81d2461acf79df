"""The live log: host → add-on calls, sync runs and add-on → vendor calls, newest first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
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
        op=kind, calendar=str(call.get("calendarId", "")),
    )  # fmt: skip


def sync_entry(calendar_id: str, run: Mapping[str, Any]) -> LogEntry:
    title = (
        f"{run.get('mode', '?')} sync · {run.get('pages', 0)} list call(s) · "
        f"{run.get('changes', 0)} change(s)"
    )
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
    if run.get("replayed"):
        details.append(f"replayed {run['replayed']}")
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


def provider_entry(at: datetime | None, call: Mapping[str, Any]) -> LogEntry:
    op = str(call.get("op", ""))
    outcome = str(call.get("outcome", ""))
    meeting = call.get("meetingId") or "new meeting"
    tone = {"applied": "ok", "duplicate": "warn"}.get(outcome, "error")
    return LogEntry(
        at, "provider", f"{op} {meeting}",
        f"{call.get('method')} → {call.get('status')} · {outcome}", tone, op=op,
    )  # fmt: skip


def timeline(
    trigger_calls: Iterable[Mapping[str, Any]],
    sync_runs: Mapping[str, Iterable[Mapping[str, Any]]],
    provider_calls: Iterable[tuple[datetime | None, Mapping[str, Any]]],
    limit: int = LOG_LIMIT,
) -> list[LogEntry]:
    """Everything that happened, newest first."""
    entries = [trigger_entry(c) for c in trigger_calls]
    entries += [sync_entry(cal, run) for cal, runs in sync_runs.items() for run in runs]
    entries += [provider_entry(at, call) for at, call in provider_calls]
    oldest = datetime.min.replace(tzinfo=UTC)
    entries.sort(key=lambda e: e.at or oldest, reverse=True)
    return entries[:limit]


def counts(entries: Iterable[LogEntry]) -> dict[str, int]:
    return dict(Counter(e.source for e in entries))
