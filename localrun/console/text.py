"""How the console writes times, ages and recurrences (UTC: the demo users live in UTC)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

DASH = "\u2013"  # en dash, for time ranges
TIMES = "\u00d7"  # multiplication sign: "update x2" reads as a count


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def event_time(time_obj: Any) -> datetime | None:
    if not isinstance(time_obj, Mapping):
        return None
    return parse_time(time_obj.get("dateTime") or time_obj.get("date"))


def when(start: Any, end: Any = None) -> str:
    """``Mon 7 Jan 2030 10:00-11:00 UTC`` (UTC throughout: the demo users live in UTC)."""
    begin, finish = event_time(start), event_time(end)
    if begin is None:
        return "no time"
    begin = begin.astimezone(UTC)
    text = f"{begin:%a} {begin.day} {begin:%b %Y} {begin:%H:%M}"
    if finish is not None:
        finish = finish.astimezone(UTC)
        same_day = finish.date() == begin.date()
        text += f"{DASH}{finish:%H:%M}" if same_day else f" {DASH} {finish:%d %b %H:%M}"
    return text + " UTC"


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return "just now"
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def recurrence_text(rules: Any) -> str | None:
    if not isinstance(rules, list) or not rules:
        return None
    rule = next((r for r in rules if isinstance(r, str) and r.startswith("RRULE:")), None)
    if rule is None:
        return "Recurring"
    parts = dict(p.split("=", 1) for p in rule[6:].split(";") if "=" in p)
    text = {"DAILY": "Daily", "WEEKLY": "Weekly", "MONTHLY": "Monthly", "YEARLY": "Yearly"}.get(
        parts.get("FREQ", ""), "Recurring"
    )
    return f"{text}, {parts['COUNT']} times" if "COUNT" in parts else text
