"""The rules of an event resource, as pure functions: validation, times, patch semantics,
If-Match, conference data, generated instances of a series.

``models.CalendarState`` applies them under its lock; ``listing`` uses the time bounds.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from localgoogle.calendar import exceptions as exc
from localgoogle.calendar.conference import validate_conference_data
from localgoogle.calendar.records import TIME_FIELDS, WRITABLE_FIELDS, CalendarData
from localgoogle.calendar.recurrence import (
    Occurrence,
    RecurrenceError,
    expand,
    split_instance_id,
    to_utc,
)


def bounds(cal: CalendarData, resource: dict[str, Any]) -> tuple[datetime, datetime]:
    """The event's start and end in UTC (an instance without start uses its original start)."""
    try:
        start = resource.get("start") or resource.get("originalStartTime") or {}
        begin = to_utc(start, cal.time_zone)
        end = to_utc(resource["end"], cal.time_zone) if "end" in resource else begin
        return begin, end
    except (RecurrenceError, ValueError, KeyError) as error:
        raise exc.bad_request(f"Invalid event time: {error}") from error


def validate(cal: CalendarData, resource: dict[str, Any]) -> None:
    """Refuse what Google refuses: missing or mixed times, an empty range, bad status/RRULE."""
    for key in ("start", "end"):
        value = resource.get(key)
        if not isinstance(value, dict) or not ("date" in value or "dateTime" in value):
            raise exc.required(f"Missing {key} time.")
    if ("date" in resource["start"]) != ("date" in resource["end"]):
        raise exc.bad_request("Start and end times must either both be date or both be dateTime.")
    begin, end = bounds(cal, resource)
    if end < begin:
        raise exc.ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
    if resource.get("status", "confirmed") not in ("confirmed", "tentative", "cancelled"):
        raise exc.bad_request("Invalid value for status.")
    recurrence = resource.get("recurrence")
    if recurrence is not None:
        if not isinstance(recurrence, list) or not all(isinstance(r, str) for r in recurrence):
            raise exc.bad_request("Invalid recurrence rule.")
        try:
            expand(
                resource["start"], resource["end"], recurrence, default_tz=cal.time_zone, limit=1
            )
        except (RecurrenceError, ValueError, KeyError) as error:
            raise exc.bad_request(f"Invalid recurrence rule: {error}") from error


def check_if_match(record_etag: str, if_match: str | None) -> None:
    """412 unless ``If-Match`` is absent, ``*`` or names the current etag (weak or strong)."""
    if if_match is None or if_match.strip() == "*":
        return
    candidates = [c.strip().removeprefix("W/") for c in if_match.split(",")]
    if record_etag not in candidates:
        raise exc.condition_not_met()


def writable(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of the fields of ``body`` a client may write."""
    return {k: copy.deepcopy(v) for k, v in body.items() if k in WRITABLE_FIELDS}


def merge(old: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Patch semantics: nested objects merge, lists and scalars replace, null removes."""
    out = dict(old)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and key not in TIME_FIELDS:
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def apply_conference(
    target: dict[str, Any], body: dict[str, Any], version: int, *, replace: bool
) -> None:
    """conferenceData follows ``body`` only with ``conferenceDataVersion`` >= 1, as at Google."""
    if version < 1:
        return
    if "conferenceData" in body and body["conferenceData"] is not None:
        target["conferenceData"] = copy.deepcopy(validate_conference_data(body["conferenceData"]))
    elif replace or ("conferenceData" in body):
        target.pop("conferenceData", None)


def instance_resource(series: dict[str, Any], occ: Occurrence) -> dict[str, Any]:
    """The generated instance of ``series`` at occurrence ``occ`` (never stored)."""
    resource = {k: v for k, v in series.items() if k != "recurrence"}
    resource["id"] = f"{series['id']}_{occ.suffix}"
    resource["recurringEventId"] = series["id"]
    resource["originalStartTime"] = occ.start
    resource["start"] = occ.start
    resource["end"] = occ.end
    return resource


def virtual_instance(cal: CalendarData, event_id: str) -> dict[str, Any] | None:
    """The generated instance ``<series>_<suffix>`` of a live series, if it exists."""
    parts = split_instance_id(event_id)
    if parts is None:
        return None
    series = cal.events.get(parts[0])
    if series is None or "recurrence" not in series.resource:
        return None
    if series.resource.get("status") == "cancelled":
        return None
    suffix = parts[1]
    try:
        fmt = "%Y%m%dT%H%M%SZ" if "T" in suffix else "%Y%m%d"
        moment = datetime.strptime(suffix, fmt).replace(tzinfo=series.start_utc.tzinfo)
    except ValueError:
        return None
    res = series.resource
    occurrences = expand(
        res["start"], res["end"], res["recurrence"], default_tz=cal.time_zone,
        window_start=moment - timedelta(days=2), window_end=moment + timedelta(days=2),
    )  # fmt: skip
    for occ in occurrences:
        if occ.suffix == suffix:
            return instance_resource(res, occ)
    return None


def calendar_resource(cal: CalendarData) -> dict[str, Any]:
    """The ``calendar#calendar`` resource of ``cal``."""
    out: dict[str, Any] = {
        "kind": "calendar#calendar", "etag": cal.etag, "id": cal.id,
        "summary": cal.summary, "timeZone": cal.time_zone,
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    }  # fmt: skip
    if cal.description:
        out["description"] = cal.description
    return out
