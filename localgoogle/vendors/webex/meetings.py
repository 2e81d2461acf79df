"""The fake Webex's meetings: series, their occurrences and invitees (developer.webex.com,
"Meetings" and "Meeting Invitees"), owned by the user whose token made them.

A *series* (``meetingType: meetingSeries``; a meeting without recurrence is a series of one)
has *occurrences* (``scheduledMeeting``) with ids ``<series id>_<original start, UTC>``; an
occurrence can be updated (``PUT``, moved) or deleted (cancelled) on its own. Recurrence: the
RRULE string Webex takes (``FREQ=DAILY|WEEKLY`` with ``INTERVAL``, ``COUNT``, ``UNTIL``; other
parts are accepted and ignored when expanding occurrences here).
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Result = tuple[int, dict[str, Any] | None]

MAX_TITLE = 128
MIN_DURATION = timedelta(minutes=10)
MAX_DURATION = timedelta(hours=24)
MAX_OCCURRENCES = 500
_STEP = {"DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}
_PASSWORD = re.compile(r"[A-Za-z0-9@#$%^&*_\-]{4,32}")


def error(status: int, message: str) -> Result:
    """Webex's error body: ``{message, errors[{description}], trackingId}``."""
    return status, {
        "message": message,
        "errors": [{"description": message}],
        "trackingId": f"WBX_{uuid.uuid4()}",
    }


def parse_time(value: Any, zone: str | None) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(zone) if zone else UTC)
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _starts(series: dict[str, Any]) -> list[datetime]:
    """Original starts of a series' occurrences (bounded by ``MAX_OCCURRENCES``)."""
    first = parse_time(series["start"], None)
    assert first is not None
    rule = series.get("recurrence")
    if not rule:
        return [first]
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    step = _STEP.get(parts.get("FREQ", ""), timedelta(days=1)) * int(parts.get("INTERVAL", "1"))
    count = int(parts["COUNT"]) if "COUNT" in parts else MAX_OCCURRENCES
    until = None
    if "UNTIL" in parts:
        raw = parts["UNTIL"].rstrip("Z")
        until = datetime.strptime(raw if "T" in raw else raw + "T235959", "%Y%m%dT%H%M%S")
        until = until.replace(tzinfo=UTC)
    starts: list[datetime] = []
    moment = first
    while len(starts) < min(count, MAX_OCCURRENCES) and (until is None or moment <= until):
        starts.append(moment)
        moment += step
    return starts


class Meetings:
    """Series by id with their occurrence overrides, and invitees; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._series: dict[str, dict[str, Any]] = {}
            self._invitees: dict[str, dict[str, Any]] = {}
            self._number = 2_640_000_000

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._series.values()))

    def get(self, meeting_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._series.get(meeting_id))

    # --- validation --------------------------------------------------------------------------

    def _times(self, body: dict[str, Any], *, creating: bool) -> tuple[str | None, Any, Any]:
        zone = body.get("timezone") or "UTC"
        start, end = parse_time(body.get("start"), zone), parse_time(body.get("end"), zone)
        if start is None or end is None:
            return "start and end are required ISO 8601 times", None, None
        if end - start < MIN_DURATION or end - start > MAX_DURATION:
            return "the duration must be between 10 minutes and 24 hours", None, None
        now = datetime.fromtimestamp(self.clock(), UTC)
        if creating and start < now - timedelta(minutes=1):
            return "start cannot be before the current date and time", None, None
        return None, start, end

    # --- the API -----------------------------------------------------------------------------

    def create(self, owner: str, body: dict[str, Any]) -> Result:
        title = body.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            return error(400, "title is required (at most 128 characters)")
        problem, start, end = self._times(body, creating=True)
        if problem:
            return error(400, problem)
        tags = body.get("integrationTags") or []
        if (
            not isinstance(tags, list)
            or len(tags) > 3
            or any(not isinstance(t, str) or len(t) > 64 for t in tags)
        ):
            return error(400, "integrationTags: at most 3 strings of at most 64 characters")
        password = body.get("password") or secrets.token_urlsafe(8)[:10]
        if not _PASSWORD.fullmatch(str(password)):
            return error(400, "password does not meet the site's complexity rules")
        recurrence = body.get("recurrence")
        if recurrence is not None and not str(recurrence).upper().startswith("FREQ="):
            return error(400, "recurrence must be an RFC 2445 rule such as FREQ=WEEKLY;COUNT=5")
        with self._lock:
            self._number += 1
            number = str(self._number)
            series_id = uuid.uuid4().hex
            series: dict[str, Any] = {
                "id": series_id,
                "meetingNumber": number,
                "title": title,
                "agenda": body.get("agenda"),
                "password": password,
                "phoneAndVideoSystemPassword": f"{int(number) % 10**8:08d}",
                "meetingType": "meetingSeries",
                "state": "active",
                "timezone": body.get("timezone") or "UTC",
                "start": _iso(start),
                "end": _iso(end),
                "recurrence": recurrence,
                "hostEmail": owner,
                "siteUrl": "fake.webex.com",
                "webLink": f"https://fake.webex.com/fake/j.php?MTID=m{series_id}",
                "sipAddress": f"{number}@fake.webex.com",
                "dialInIpAddress": "192.0.2.10",
                "integrationTags": list(tags),
                "telephony": {
                    "accessCode": number,
                    "callInNumbers": [
                        {"label": "US Toll", "callInNumber": "+1-415-555-0100", "tollType": "toll"},
                        {
                            "label": "US Toll Free",
                            "callInNumber": "+1-855-555-0199",
                            "tollType": "tollFree",
                        },
                    ],
                    "links": [],
                },
                "overrides": {},
                "updates": 0,
                "deleted": False,
            }
            self._series[series_id] = series
            for invitee in body.get("invitees") or []:
                if isinstance(invitee, dict) and isinstance(invitee.get("email"), str):
                    self._add_invitee(series_id, invitee["email"], invitee.get("displayName"))
            return 200, self._public(series)

    def _find(self, owner: str, meeting_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """The live series owning ``meeting_id`` and the occurrence key (original start) if
        it names an occurrence."""
        series_id, _, occurrence = meeting_id.partition("_")
        series = self._series.get(series_id)
        if series is None or series["deleted"] or series["hostEmail"] != owner:
            return None, None
        if occurrence:
            known = {_iso(s).replace("-", "").replace(":", "") for s in _starts(series)}
            override = series["overrides"].get(occurrence, {})
            if occurrence not in known or override.get("cancelled"):
                return None, None
            return series, occurrence
        return series, None

    def read(self, owner: str, meeting_id: str) -> Result:
        with self._lock:
            series, occurrence = self._find(owner, meeting_id)
            if series is None:
                return error(404, "The requested meeting does not exist.")
            if occurrence is None:
                return 200, self._public(series)
            return 200, self._occurrence(series, occurrence)

    def update(self, owner: str, meeting_id: str, body: dict[str, Any]) -> Result:
        title = body.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            return error(400, "title is required (at most 128 characters)")
        if not body.get("password"):
            return error(400, "password is required when updating a meeting")
        problem, start, end = self._times(body, creating=False)
        if problem:
            return error(400, problem)
        with self._lock:
            series, occurrence = self._find(owner, meeting_id)
            if series is None:
                return error(404, "The requested meeting does not exist.")
            if occurrence is not None:
                series["overrides"][occurrence] = {
                    "start": _iso(start), "end": _iso(end), "title": title,
                }  # fmt: skip
                series["updates"] += 1
                return 200, self._occurrence(series, occurrence)
            series.update(
                title=title,
                agenda=body.get("agenda"),
                password=body["password"],
                start=_iso(start),
                end=_iso(end),
                timezone=body.get("timezone") or series["timezone"],
                # A PUT replaces the meeting: a rule left out makes it a single meeting.
                recurrence=body.get("recurrence"),
            )
            series["updates"] += 1
            return 200, self._public(series)

    def delete(self, owner: str, meeting_id: str) -> Result:
        with self._lock:
            series, occurrence = self._find(owner, meeting_id)
            if series is None:
                return error(404, "The requested meeting does not exist.")
            if occurrence is not None:
                series["overrides"].setdefault(occurrence, {})["cancelled"] = True
            else:
                series["deleted"] = True
            return 204, None

    def list(self, owner: str, args: dict[str, str]) -> Result:
        kind = args.get("meetingType", "meetingSeries")
        low = parse_time(args.get("from"), "UTC") or datetime.fromtimestamp(self.clock(), UTC)
        high = parse_time(args.get("to"), "UTC") or low + timedelta(days=7)
        tag = args.get("integrationTag")
        with self._lock:
            items: list[dict[str, Any]] = []
            for series in self._series.values():
                if series["deleted"] or series["hostEmail"] != owner:
                    continue
                if tag and tag not in series["integrationTags"]:
                    continue
                if kind == "meetingSeries":
                    starts = _starts(series)
                    duration = parse_time(series["end"], None) - starts[0]  # type: ignore[operator]
                    if starts[0] <= high and starts[-1] + duration >= low:
                        items.append(self._public(series))
                elif kind == "scheduledMeeting":
                    if args.get("meetingSeriesId") not in (None, series["id"]):
                        continue
                    for start in _starts(series):
                        key = _iso(start).replace("-", "").replace(":", "")
                        occurrence = self._occurrence(series, key)
                        if occurrence.get("_cancelled"):
                            continue
                        moment = parse_time(occurrence["start"], None)
                        if moment is not None and low <= moment <= high:
                            items.append({k: v for k, v in occurrence.items() if k[0] != "_"})
                else:
                    return error(400, f"meetingType {kind!r} is not supported")
            return 200, {"items": items}

    # --- invitees ----------------------------------------------------------------------------

    def _add_invitee(self, meeting_id: str, email: str, name: Any = None) -> dict[str, Any]:
        invitee_id = uuid.uuid4().hex
        invitee: dict[str, Any] = {
            "id": invitee_id,
            "email": email.lower(),
            "displayName": name if isinstance(name, str) else email,
            "coHost": False,
            "panelist": False,
            "meetingId": meeting_id,
        }
        self._invitees[invitee_id] = invitee
        return invitee

    def invitees(self, owner: str, meeting_id: str) -> Result:
        with self._lock:
            series, _ = self._find(owner, meeting_id)
            if series is None:
                return error(404, "The requested meeting does not exist.")
            found = [i for i in self._invitees.values() if i["meetingId"] == meeting_id]
            return 200, {"items": copy.deepcopy(found)}

    def invite(self, owner: str, body: dict[str, Any]) -> Result:
        meeting_id, email = body.get("meetingId"), body.get("email")
        if not isinstance(meeting_id, str) or not isinstance(email, str) or "@" not in email:
            return error(400, "meetingId and email are required")
        with self._lock:
            series, _ = self._find(owner, meeting_id)
            if series is None:
                return error(404, "The requested meeting does not exist.")
            taken = any(
                i["meetingId"] == meeting_id and i["email"] == email.lower()
                for i in self._invitees.values()
            )
            if taken:
                return error(409, "The invitee is already invited to the meeting.")
            return 200, copy.deepcopy(self._add_invitee(meeting_id, email, body.get("displayName")))

    def uninvite(self, owner: str, invitee_id: str) -> Result:
        with self._lock:
            invitee = self._invitees.get(invitee_id)
            series = None if invitee is None else self._find(owner, invitee["meetingId"])[0]
            if invitee is None or series is None:
                return error(404, "The invitee does not exist.")
            del self._invitees[invitee_id]
            return 204, None

    # --- shapes ------------------------------------------------------------------------------

    @staticmethod
    def _public(series: dict[str, Any]) -> dict[str, Any]:
        hidden = ("overrides", "updates", "deleted")
        return {k: copy.deepcopy(v) for k, v in series.items() if k not in hidden and v is not None}

    def _occurrence(self, series: dict[str, Any], key: str) -> dict[str, Any]:
        original = datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        first_start = parse_time(series["start"], None)
        first_end = parse_time(series["end"], None)
        assert first_start is not None and first_end is not None
        override = series["overrides"].get(key, {})
        occurrence = self._public(series)
        occurrence.pop("recurrence", None)
        occurrence.update(
            id=f"{series['id']}_{key}",
            meetingSeriesId=series["id"],
            meetingType="scheduledMeeting",
            isModified=bool(override),
            start=override.get("start", _iso(original)),
            end=override.get("end", _iso(original + (first_end - first_start))),
            title=override.get("title", series["title"]),
        )
        if override.get("cancelled"):
            occurrence["_cancelled"] = True
        return occurrence
