"""The invariants a user sees, checked on the vendor's side and on the events (issue 9).

Shared by the Hypothesis state machine (``tests/e2e/test_convergence.py``), the multi-process
tests and the fault campaign (``bench/faults.py``). Given every stored event of the calendars
under test (the emulator's control API) and the fake vendor's meetings:

* every live event its calendar organizes that carries one of our conferences has exactly one
  live meeting: a vendor meeting matching its title, time and guests, or a Jitsi join token
  valid over its time;
* no two such events share a meeting;
* no vendor meeting is live that no such event carries (no orphans: deleted events, removed or
  replaced conferences, records we no longer hold);
* no idempotency key was applied twice.

Events parked as needing attention (``exempt``: a copy in a calendar the subscriber cannot
edit keeps sharing its original's meeting, because nobody may write it) are left out of the
first two checks and counted separately; they never excuse an orphan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import jwt

Events = Callable[[str], list[dict[str, Any]]]


def _is_ours(event: Mapping[str, Any]) -> str | None:
    data = event.get("conferenceData") or {}
    key = (data.get("conferenceSolution") or {}).get("key") or {}
    conference_id = data.get("conferenceId")
    return conference_id if key.get("type") == "addOn" and conference_id else None


def _organized_here(event: Mapping[str, Any], calendar_id: str) -> bool:
    organizer = event.get("organizer") or {}
    return bool(organizer.get("self")) or organizer.get("email") == calendar_id


def _moment(value: Mapping[str, Any] | None) -> float | None:
    if not value:
        return None
    raw = value.get("dateTime") or (f"{value['date']}T00:00:00Z" if value.get("date") else None)
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp() if raw else None


def _jwt_window(event: Mapping[str, Any]) -> tuple[int, int] | None:
    for point in (event.get("conferenceData") or {}).get("entryPoints") or []:
        uri = point.get("uri", "")
        if point.get("entryPointType") == "video" and "jwt=" in uri:
            token = uri.split("jwt=", 1)[1].split("#", 1)[0]
            claims = jwt.decode(token, options={"verify_signature": False})
            return int(claims["nbf"]), int(claims["exp"])
    return None


def violations(
    events_of: Events,
    calendar_ids: Iterable[str],
    meetings: Mapping[str, Mapping[str, Any]],
    calls: Sequence[Mapping[str, Any]],
    *,
    exempt: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
    check_guests: bool = True,
) -> list[str]:
    problems: list[str] = []
    carried: dict[str, list[str]] = {}
    for calendar_id in calendar_ids:
        for event in events_of(calendar_id):
            conference_id = _is_ours(event)
            if conference_id is None or event.get("status") == "cancelled":
                continue
            if event.get("recurringEventId") or not _organized_here(event, calendar_id):
                continue  # an occurrence (its series owns the meeting), or an invitation
            where = f"{calendar_id}/{event['id']}"
            if (calendar_id, event["id"]) in exempt:
                continue
            carried.setdefault(conference_id, []).append(where)
            meeting = meetings.get(conference_id)
            if meeting is None:
                window = _jwt_window(event)
                if window is None:
                    problems.append(f"{where}: carries {conference_id}, unknown to the vendor")
                    continue
                start, end = _moment(event.get("start")), _moment(event.get("end"))
                valid = start is None or end is None or window[0] <= start <= end <= window[1]
                if not valid:
                    problems.append(f"{where}: join token {window} not valid at {start}..{end}")
                continue
            if meeting.get("deleted"):
                problems.append(f"{where}: event alive, its meeting {conference_id} deleted")
                continue
            if meeting.get("eventId") != event["id"]:
                problems.append(f"{where}: meeting {conference_id} is {meeting.get('eventId')}'s")
            if meeting.get("title") != event.get("summary"):
                problems.append(
                    f"{where}: title {meeting.get('title')!r} != {event.get('summary')!r}"
                )
            if meeting.get("start") != event.get("start") or meeting.get("end") != event.get("end"):
                problems.append(f"{where}: time {meeting.get('start')} != {event.get('start')}")
            if check_guests:
                want = sorted(
                    a["email"].lower()
                    for a in event.get("attendees") or []
                    if a.get("email") and not a.get("resource")
                )
                if sorted(meeting.get("attendees") or []) != want:
                    problems.append(f"{where}: guests {meeting.get('attendees')} != {want}")
    for conference_id, owners in carried.items():
        if len(owners) > 1:
            problems.append(f"{conference_id}: shared by {', '.join(owners)}")
    for meeting_id, meeting in meetings.items():
        if not meeting.get("deleted") and meeting_id not in carried:
            exempted = (meeting.get("calendarId"), meeting.get("eventId")) in exempt
            if not exempted:
                problems.append(f"{meeting_id}: live, but no live event carries it (orphan)")
    counts: dict[str, int] = {}
    for call in calls:
        if call.get("outcome") == "applied" and call.get("idempotencyKey"):
            counts[call["idempotencyKey"]] = counts.get(call["idempotencyKey"], 0) + 1
    problems += [f"key applied {n} times: {k}" for k, n in sorted(counts.items()) if n > 1]
    return problems
