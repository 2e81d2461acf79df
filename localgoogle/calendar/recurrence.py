"""Pure expansion of RFC 5545 recurrence lines as Calendar uses them.

Supported: ``RRULE`` with FREQ DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL, COUNT, UNTIL, BYDAY
(ordinals for MONTHLY), BYMONTHDAY, BYMONTH, WKST; ``EXDATE`` and ``RDATE`` (UTC, TZID or
VALUE=DATE forms). Timed series keep their wall-clock time in the event's ``timeZone``
across DST changes, as Calendar does; instance suffixes are the UTC start
(``YYYYMMDDTHHMMSSZ``) for timed and ``YYYYMMDD`` for all-day series, like Google's
instance ids. No I/O, no state.
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
# Guards expansion of unbounded rules when the caller passes no window at all.
_MAX_CANDIDATES = 200_000


class RecurrenceError(ValueError):
    """The recurrence lines cannot be understood."""


@dataclass(frozen=True)
class Occurrence:
    suffix: str
    start: dict[str, str]
    end: dict[str, str]
    start_utc: datetime
    end_utc: datetime


def parse_datetime(value: str, tz: ZoneInfo) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def event_bounds(
    start: dict[str, Any], end: dict[str, Any], default_tz: str
) -> tuple[datetime, datetime]:
    """UTC start/end of an event; all-day dates count from midnight in ``default_tz``."""
    return to_utc(start, default_tz), to_utc(end, default_tz)


def to_utc(edt: dict[str, Any], default_tz: str) -> datetime:
    tz = ZoneInfo(edt.get("timeZone") or default_tz)
    if "dateTime" in edt:
        return parse_datetime(edt["dateTime"], tz).astimezone(UTC)
    if "date" in edt:
        day = date.fromisoformat(edt["date"])
        return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    raise RecurrenceError("event time has neither date nor dateTime")


def split_instance_id(event_id: str) -> tuple[str, str] | None:
    """``(series_id, suffix)`` for an instance id; base32hex ids never contain ``_``."""
    series, sep, suffix = event_id.rpartition("_")
    if not sep or not series or not suffix:
        return None
    return series, suffix


@dataclass
class _Rule:
    freq: str
    interval: int = 1
    count: int | None = None
    until: str | None = None
    byday: list[tuple[int, int]] | None = None  # (ordinal or 0, weekday)
    bymonthday: list[int] | None = None
    bymonth: list[int] | None = None
    wkst: int = 0


def _parse_rrule(value: str) -> _Rule:
    parts: dict[str, str] = {}
    for item in value.split(";"):
        if "=" not in item:
            raise RecurrenceError(f"bad RRULE part {item!r}")
        key, val = item.split("=", 1)
        parts[key.upper()] = val.upper()
    freq = parts.get("FREQ")
    if freq not in {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}:
        raise RecurrenceError(f"unsupported FREQ {freq!r}")
    rule = _Rule(freq=freq)
    try:
        rule.interval = int(parts.get("INTERVAL", "1"))
        if "COUNT" in parts:
            rule.count = int(parts["COUNT"])
        rule.until = parts.get("UNTIL")
        if "BYDAY" in parts:
            rule.byday = []
            for token in parts["BYDAY"].split(","):
                ordinal = int(token[:-2]) if token[:-2] else 0
                rule.byday.append((ordinal, _WEEKDAYS[token[-2:]]))
        if "BYMONTHDAY" in parts:
            rule.bymonthday = [int(v) for v in parts["BYMONTHDAY"].split(",")]
        if "BYMONTH" in parts:
            rule.bymonth = [int(v) for v in parts["BYMONTH"].split(",")]
        rule.wkst = _WEEKDAYS[parts.get("WKST", "MO")]
    except (KeyError, ValueError) as exc:
        raise RecurrenceError(f"bad RRULE {value!r}") from exc
    if rule.interval < 1:
        raise RecurrenceError("INTERVAL must be positive")
    return rule


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _month_days(rule: _Rule, year: int, month: int, default_day: int) -> list[date]:
    ndays = _cal.monthrange(year, month)[1]
    days: set[int] = set()
    if rule.byday:
        for ordinal, weekday in rule.byday:
            matching = [d for d in range(1, ndays + 1) if date(year, month, d).weekday() == weekday]
            if ordinal == 0:
                days.update(matching)
            elif -len(matching) <= ordinal <= len(matching) and ordinal != 0:
                days.add(matching[ordinal - 1 if ordinal > 0 else ordinal])
    elif rule.bymonthday:
        for md in rule.bymonthday:
            day = md if md > 0 else ndays + md + 1
            if 1 <= day <= ndays:
                days.add(day)
    elif default_day <= ndays:
        days.add(default_day)
    return [date(year, month, d) for d in sorted(days)]


def _candidates(rule: _Rule, first: date) -> Iterator[date]:
    """Dates matching the rule from ``first`` on, in order, unbounded."""
    if rule.freq == "DAILY":
        day = first
        while True:
            yield day
            day += timedelta(days=rule.interval)
    elif rule.freq == "WEEKLY":
        weekdays = sorted(
            {wd for _, wd in rule.byday} if rule.byday else {first.weekday()},
            key=lambda wd: (wd - rule.wkst) % 7,
        )
        week_start = first - timedelta(days=(first.weekday() - rule.wkst) % 7)
        while True:
            for wd in weekdays:
                day = week_start + timedelta(days=(wd - rule.wkst) % 7)
                if day >= first:
                    yield day
            week_start += timedelta(weeks=rule.interval)
    elif rule.freq == "MONTHLY":
        year, month, step = first.year, first.month, 0
        while True:
            y, m = _add_months(year, month, step)
            for day in _month_days(rule, y, m, first.day):
                if day >= first:
                    yield day
            step += rule.interval
    else:
        year = first.year
        months = rule.bymonth or [first.month]
        while True:
            for m in sorted(months):
                for day in _month_days(rule, year, m, first.day):
                    if day >= first:
                        yield day
            year += rule.interval


def _parse_date_list(line: str, tz: ZoneInfo, all_day: bool) -> list[datetime | date]:
    head, _, values = line.partition(":")
    params = dict(p.split("=", 1) for p in head.split(";")[1:] if "=" in p)
    line_tz = ZoneInfo(params["TZID"]) if "TZID" in params else tz
    out: list[datetime | date] = []
    for item in values.split(","):
        raw = item.strip()
        if not raw:
            continue
        if "T" not in raw:
            out.append(datetime.strptime(raw, "%Y%m%d").date())
            continue
        utc = raw.endswith("Z")
        parsed = datetime.strptime(raw.rstrip("Z"), "%Y%m%dT%H%M%S")
        aware = parsed.replace(tzinfo=UTC if utc else line_tz)
        out.append(aware.astimezone(tz).date() if all_day else aware.astimezone(UTC))
    return out


def _format_local(moment: datetime) -> str:
    return moment.isoformat()


def expand(
    start: dict[str, Any],
    end: dict[str, Any],
    recurrence: list[str],
    *,
    default_tz: str = "UTC",
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    limit: int = 2500,
) -> list[Occurrence]:
    """Occurrences of a series overlapping ``[window_start, window_end)``, in order."""
    tz_name = start.get("timeZone") or default_tz
    tz = ZoneInfo(tz_name)
    all_day = "date" in start
    if all_day:
        first_day = date.fromisoformat(start["date"])
        span = date.fromisoformat(end["date"]) - first_day
        wall = time()
    else:
        local_start = parse_datetime(start["dateTime"], tz).astimezone(tz)
        first_day, wall = local_start.date(), local_start.time().replace(tzinfo=None)
        span = to_utc(end, default_tz) - local_start.astimezone(UTC)

    rules: list[_Rule] = []
    exdates: set[datetime | date] = set()
    rdates: list[datetime | date] = []
    for line in recurrence:
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        if name == "RRULE":
            rules.append(_parse_rrule(line.split(":", 1)[1]))
        elif name == "EXDATE":
            exdates.update(_parse_date_list(line, tz, all_day))
        elif name == "RDATE":
            rdates.extend(_parse_date_list(line, tz, all_day))
        else:
            raise RecurrenceError(f"unsupported recurrence line {line!r}")

    def occurrence_at(day: date) -> Occurrence:
        if all_day:
            begin = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
            finish = datetime.combine(day + span, time(), tzinfo=tz).astimezone(UTC)
            return Occurrence(
                suffix=day.strftime("%Y%m%d"),
                start={"date": day.isoformat()},
                end={"date": (day + span).isoformat()},
                start_utc=begin,
                end_utc=finish,
            )
        local = datetime.combine(day, wall, tzinfo=tz)
        begin = local.astimezone(UTC)
        finish = begin + span
        tz_field = {"timeZone": tz_name} if start.get("timeZone") else {}
        return Occurrence(
            suffix=begin.strftime("%Y%m%dT%H%M%SZ"),
            start={"dateTime": _format_local(local), **tz_field},
            end={"dateTime": _format_local(finish.astimezone(tz)), **tz_field},
            start_utc=begin,
            end_utc=finish,
        )

    found: dict[str, Occurrence] = {}
    for rule in rules:
        until_utc: datetime | None = None
        until_day: date | None = None
        if rule.until:
            if "T" in rule.until:
                raw = rule.until.rstrip("Z")
                parsed = datetime.strptime(raw, "%Y%m%dT%H%M%S")
                until_utc = parsed.replace(tzinfo=UTC if rule.until.endswith("Z") else tz)
                until_utc = until_utc.astimezone(UTC)
            else:
                until_day = datetime.strptime(rule.until, "%Y%m%d").date()
        produced = 0
        for steps, day in enumerate(_candidates(rule, first_day)):
            if steps > _MAX_CANDIDATES:
                break
            if rule.count is not None and produced >= rule.count:
                break
            occ = occurrence_at(day)
            if until_day is not None and day > until_day:
                break
            if until_utc is not None and occ.start_utc > until_utc:
                break
            if window_end is not None and occ.start_utc >= window_end:
                break
            produced += 1
            key = day if all_day else occ.start_utc
            if key in exdates:
                continue
            if window_start is not None and occ.end_utc <= window_start:
                continue
            found[occ.suffix] = occ
            if len(found) >= limit and window_end is None and rule.count is None:
                break
    for extra in rdates:
        day = extra.astimezone(tz).date() if isinstance(extra, datetime) else extra
        occ = occurrence_at(day)
        inside = (window_start is None or occ.end_utc > window_start) and (
            window_end is None or occ.start_utc < window_end
        )
        if inside:
            found[occ.suffix] = occ
    ordered = sorted(found.values(), key=lambda o: o.start_utc)
    return ordered[:limit]
