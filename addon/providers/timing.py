"""Event times as vendors need them: epoch seconds of Calendar's EventDateTime objects, and the
span a meeting must cover (one event, or a whole series).

``epoch(value, zone)``         a Calendar ``{dateTime|date, timeZone}`` in epoch seconds.
``event_span(request, ...)``   ``Span(start, end, bounded, all_day)`` of an event or series:
                               a series' end is its last occurrence's end when its RRULEs
                               bound it (``UNTIL``, or ``COUNT`` x ``INTERVAL`` x ``FREQ`` as an
                               upper bound), else ``bounded`` is False.

The Jitsi provider bounds a series by ``UNTIL`` only (its own ``_series_end``: a token for
a series counted in occurrences lasts a year instead), so it uses ``epoch`` alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from addon.providers.base import MeetingRequest

# An all-day event's date is local to a zone we may not know: widen by the largest UTC offset.
DATE_SLACK = 14 * 3600
_DAY = 86400
_PERIOD_SECONDS = {"DAILY": _DAY, "WEEKLY": 7 * _DAY, "MONTHLY": 31 * _DAY, "YEARLY": 366 * _DAY}


def zone_of(name: str | None) -> dt.tzinfo:
    try:
        return ZoneInfo(name) if name else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def epoch(value: Mapping[str, str] | None, fallback_zone: str | None = None) -> float | None:
    """Epoch seconds of a Calendar EventDateTime (``dateTime`` or all-day ``date``)."""
    if not value:
        return None
    zone = zone_of(value.get("timeZone") or fallback_zone)
    try:
        if value.get("dateTime"):
            moment = dt.datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            return moment.timestamp()
        if value.get("date"):
            day = dt.date.fromisoformat(value["date"])
            return dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
    except ValueError:
        return None
    return None


def _rule_parts(line: str) -> dict[str, str]:
    body = line.split(":", 1)[-1].upper()
    return dict(item.split("=", 1) for item in body.split(";") if "=" in item)


def series_last_start(recurrence: tuple[str, ...], first_start: float) -> float | None:
    """An upper bound of when a series' last occurrence starts; None when any RRULE is
    unbounded or unreadable. Lines other than RRULE (EXDATE, RDATE) do not widen it."""
    latest: float | None = None
    for line in recurrence:
        if not line.upper().startswith("RRULE"):
            continue
        parts = _rule_parts(line)
        if "UNTIL" in parts:
            raw = parts["UNTIL"].rstrip("Z")
            text = raw if "T" in raw else raw + "T235959"
            try:
                until = dt.datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
            except ValueError:
                return None
            bound = until.timestamp()
        elif "COUNT" in parts and parts.get("FREQ") in _PERIOD_SECONDS:
            try:
                count, interval = int(parts["COUNT"]), int(parts.get("INTERVAL", "1"))
            except ValueError:
                return None
            bound = first_start + _PERIOD_SECONDS[parts["FREQ"]] * interval * max(0, count - 1)
        else:
            return None
        latest = bound if latest is None else max(latest, bound)
    return latest


@dataclass(frozen=True)
class Span:
    """When a meeting is needed: ``start``..``end`` in epoch seconds. ``bounded`` False: a
    series without an end (``end`` is then the first occurrence's end)."""

    start: float
    end: float
    bounded: bool = True
    all_day: bool = False


def event_span(request: MeetingRequest) -> Span | None:
    """The span of the event (or of its whole series); None when its times are unknown."""
    start = epoch(request.start, request.time_zone)
    if start is None:
        return None
    end = epoch(request.end, request.time_zone)
    if end is None or end < start:
        end = start + 3600
    all_day = bool(request.start) and "dateTime" not in (request.start or {})
    if not request.recurrence:
        return Span(start, end, True, all_day)
    last = series_last_start(request.recurrence, start)
    if last is None:
        return Span(start, end, False, all_day)
    return Span(start, max(end, last + (end - start)), True, all_day)
