"""Calendar's ``conferenceData`` as we read it from events and write it back.

Reading is null-safe everywhere: ordinary events have no ``conferenceData``, deletion
tombstones carry only ``id``/``status``, and other add-ons' conferences look different.
The parameters we put on a conference (``addOnParameters``) name the event that owns it, so a
copied event (same parameters, different id) is recognised even when we hold no record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from addon.providers.base import EntryPoint, Meeting

# Keys of the addOnParameters we attach (Calendar limits: key <= 50, value <= 1024 chars).
PARAM_CALENDAR = "ownerCalendarId"
PARAM_EVENT = "ownerEventId"
PARAM_SOLUTION = "solutionId"


@dataclass(frozen=True)
class CarriedConference:
    """The add-on conference an event carries, as far as the event tells."""

    conference_id: str
    parameters: Mapping[str, str]

    @property
    def owner_event_id(self) -> str | None:
        return self.parameters.get(PARAM_EVENT)

    @property
    def solution_id(self) -> str | None:
        return self.parameters.get(PARAM_SOLUTION)


def carried_conference(event: Mapping[str, Any]) -> CarriedConference | None:
    """The add-on conference on ``event``, or None (no conference, or not an add-on's)."""
    data = event.get("conferenceData")
    if not isinstance(data, Mapping):
        return None
    solution = data.get("conferenceSolution")
    key = solution.get("key") if isinstance(solution, Mapping) else None
    if not isinstance(key, Mapping) or key.get("type") != "addOn":
        return None
    conference_id = data.get("conferenceId")
    if not isinstance(conference_id, str) or not conference_id:
        return None
    params_root = data.get("parameters")
    addon_params = params_root.get("addOnParameters") if isinstance(params_root, Mapping) else None
    raw = addon_params.get("parameters") if isinstance(addon_params, Mapping) else None
    parameters = (
        {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(raw, Mapping)
        else {}
    )
    return CarriedConference(conference_id=conference_id, parameters=parameters)


# EntryPoint attributes and their names in the events resource's entryPoints.
_FIELD_NAMES = (
    ("label", "label"),
    ("meeting_code", "meetingCode"),
    ("access_code", "accessCode"),
    ("passcode", "passcode"),
    ("password", "password"),
    ("pin", "pin"),
    ("region_code", "regionCode"),
)


def join_digest(meeting: Meeting) -> str:
    """Digest of what a person joins with: entry point types, URIs and codes.

    Labels and the note are left out (Calendar may rewrite them); a changed URI (a new join
    token) or PIN changes the digest.
    """
    points = sorted(
        (
            ep.type,
            ep.uri,
            ep.pin or "",
            ep.passcode or "",
            ep.password or "",
            ep.access_code or "",
            ep.meeting_code or "",
        )
        for ep in meeting.entry_points
    )
    raw = json.dumps([meeting.meeting_id, points])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def carried_join_digest(event: Mapping[str, Any]) -> str | None:
    """``join_digest`` of the join data the event carries, computed the same way as for a
    ``Meeting`` (so equal join data gives equal digests); None without add-on conference."""
    carried = carried_conference(event)
    if carried is None:
        return None
    data = event.get("conferenceData")
    raw_points = data.get("entryPoints") if isinstance(data, Mapping) else None
    points: list[EntryPoint] = []
    for item in raw_points if isinstance(raw_points, list) else ():
        if not isinstance(item, Mapping):
            continue
        kind, uri = item.get("entryPointType"), item.get("uri")
        if kind not in ("video", "phone", "sip", "more") or not isinstance(uri, str):
            continue
        codes = {
            attr: item[name]
            for attr, name in _FIELD_NAMES
            if isinstance(item.get(name), str) and item[name]
        }
        points.append(EntryPoint(type=kind, uri=uri, **codes))
    return join_digest(Meeting(carried.conference_id, tuple(points)))


def owner_parameters(calendar_id: str, event_id: str, solution_id: str) -> dict[str, str]:
    return {PARAM_CALENDAR: calendar_id, PARAM_EVENT: event_id, PARAM_SOLUTION: solution_id}


def conference_data_resource(
    meeting: Meeting,
    *,
    solution_name: str,
    icon_uri: str,
    parameters: Mapping[str, str],
) -> dict[str, Any]:
    """The events resource's ``conferenceData`` for a write-back (events.patch).

    Google documents writing add-on conference data through the API only for Apps Script
    (ConferenceDataService); this shape follows the calendar.v3 discovery schema with
    ``conferenceSolution.key.type = "addOn"``. Keep any adjustment here.
    """
    entry_points = []
    for ep in meeting.entry_points:
        item: dict[str, Any] = {"entryPointType": ep.type, "uri": ep.uri}
        for attr, name in _FIELD_NAMES:
            value = getattr(ep, attr)
            if value:
                item[name] = value
        if ep.features:
            item["entryPointFeatures"] = [f.lower() for f in ep.features]
        entry_points.append(item)
    data: dict[str, Any] = {
        "conferenceId": meeting.meeting_id,
        "conferenceSolution": {
            "key": {"type": "addOn"},
            "name": solution_name,
            "iconUri": icon_uri,
        },
        "entryPoints": entry_points,
        "parameters": {"addOnParameters": {"parameters": dict(parameters)}},
    }
    if meeting.note:
        data["notes"] = meeting.note
    return data


# A user who turned dial-in off (their settings page) gets meetings without PHONE entry
# points. The choice rides with the meeting (this key in its ``data``), so a later update,
# whose meeting the vendor returns with its dial-in again, keeps it off.
DIAL_IN_OFF = "addon.dialInOff"


def without_dial_in(meeting: Meeting) -> Meeting:
    """``meeting`` without PHONE entry points, marked so updates keep them out."""
    points = tuple(ep for ep in meeting.entry_points if ep.type != "phone")
    return Meeting(meeting.meeting_id, points, meeting.note, {**meeting.data, DIAL_IN_OFF: "1"})


def carry_dial_in_choice(old: Meeting, new: Meeting) -> Meeting:
    """The meeting an update returned, with the user's dial-in choice of ``old`` applied."""
    return without_dial_in(new) if old.data.get(DIAL_IN_OFF) else new
