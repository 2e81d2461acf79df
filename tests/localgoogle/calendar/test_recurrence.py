"""Unit tests of the pure RRULE expansion."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localgoogle.calendar.recurrence import RecurrenceError, expand, split_instance_id

BERLIN = {"timeZone": "Europe/Berlin"}


def timed(
    start: str, end: str, tz: dict[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    return {"dateTime": start, **(tz or {})}, {"dateTime": end, **(tz or {})}


def suffixes(*args, **kwargs) -> list[str]:
    return [o.suffix for o in expand(*args, **kwargs)]


def test_daily_count_interval() -> None:
    start, end = timed("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z")
    assert suffixes(start, end, ["RRULE:FREQ=DAILY;INTERVAL=2;COUNT=3"]) == [
        "20300101T090000Z", "20300103T090000Z", "20300105T090000Z",
    ]  # fmt: skip


def test_weekly_byday_until_and_exdate() -> None:
    start, end = timed("2030-01-07T09:00:00Z", "2030-01-07T09:30:00Z")  # a Monday
    rule = ["RRULE:FREQ=WEEKLY;BYDAY=MO,FR;UNTIL=20300118T090000Z", "EXDATE:20300111T090000Z"]
    assert suffixes(start, end, rule) == [
        "20300107T090000Z",
        "20300114T090000Z",
        "20300118T090000Z",
    ]


def test_weekly_keeps_wall_time_across_dst() -> None:
    # DST starts in Berlin on 2030-03-31: the UTC time shifts, the wall time does not.
    start, end = timed("2030-03-25T09:00:00+01:00", "2030-03-25T10:00:00+01:00", BERLIN)
    occ = expand(start, end, ["RRULE:FREQ=WEEKLY;COUNT=2"])
    assert [o.suffix for o in occ] == ["20300325T080000Z", "20300401T070000Z"]
    assert occ[1].start == {"dateTime": "2030-04-01T09:00:00+02:00", "timeZone": "Europe/Berlin"}
    assert occ[1].end_utc - occ[1].start_utc == occ[0].end_utc - occ[0].start_utc


def test_exdate_with_tzid() -> None:
    start, end = timed("2030-01-07T09:00:00+01:00", "2030-01-07T10:00:00+01:00", BERLIN)
    rule = ["RRULE:FREQ=DAILY;COUNT=3", "EXDATE;TZID=Europe/Berlin:20300108T090000"]
    assert suffixes(start, end, rule) == ["20300107T080000Z", "20300109T080000Z"]


def test_all_day() -> None:
    occ = expand({"date": "2030-01-31"}, {"date": "2030-02-01"}, ["RRULE:FREQ=MONTHLY;COUNT=3"])
    # Months without a 31st are skipped, as RFC 5545 says.
    assert [o.suffix for o in occ] == ["20300131", "20300331", "20300531"]
    assert occ[1].start == {"date": "2030-03-31"} and occ[1].end == {"date": "2030-04-01"}
    weekly = expand(
        {"date": "2030-01-07"}, {"date": "2030-01-08"},
        ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3", "EXDATE;VALUE=DATE:20300114"],
    )  # fmt: skip
    assert [o.suffix for o in weekly] == ["20300107", "20300121"]


def test_window_and_unbounded() -> None:
    start, end = timed("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z")
    occ = expand(
        start, end, ["RRULE:FREQ=DAILY"],
        window_start=datetime(2030, 2, 1, tzinfo=UTC), window_end=datetime(2030, 2, 4, tzinfo=UTC),
    )  # fmt: skip
    assert [o.suffix for o in occ] == ["20300201T090000Z", "20300202T090000Z", "20300203T090000Z"]
    assert len(expand(start, end, ["RRULE:FREQ=DAILY"], limit=10)) == 10


def test_monthly_byday_ordinal_and_yearly() -> None:
    start, end = timed("2030-01-01T12:00:00Z", "2030-01-01T13:00:00Z")
    assert suffixes(start, end, ["RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=2"]) == [
        "20300125T120000Z", "20300222T120000Z",
    ]  # fmt: skip
    assert suffixes(start, end, ["RRULE:FREQ=YEARLY;COUNT=2"]) == [
        "20300101T120000Z",
        "20310101T120000Z",
    ]


@pytest.mark.parametrize(
    "line", ["RRULE:FREQ=HOURLY", "RRULE:FREQ=DAILY;INTERVAL=0", "RRULE:BAD", "XRULE:1"]
)
def test_errors(line: str) -> None:
    start, end = timed("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z")
    with pytest.raises(RecurrenceError):
        expand(start, end, [line])


def test_split_instance_id() -> None:
    assert split_instance_id("abc123_20300101T090000Z") == ("abc123", "20300101T090000Z")
    assert split_instance_id("abc123") is None
