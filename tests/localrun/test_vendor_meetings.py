"""``localrun.vendors``: each fake vendor's meetings as the console's board shows them, read
from the real fake (meetings made, changed and deleted through the fake's own HTTP API), and
the board's conference panel naming the vendor."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient

from localgoogle.vendors.bbb import BbbState, create_bbb_app
from localgoogle.vendors.daily import DailyState, create_daily_app
from localgoogle.vendors.graph import GraphState, create_graph_app
from localgoogle.vendors.webex import WebexState, create_webex_app
from localgoogle.vendors.zoom import ZoomState, create_zoom_app
from localrun.console.event_views import event_views
from localrun.vendors import (
    LOCAL_VENDORS,
    bbb_meetings,
    daily_meetings,
    teams_meetings,
    webex_meetings,
    zoom_meetings,
)
from tests.addon.test_vendor_providers import access_token

ALICE = "alice@example.com"
START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def answer(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.get_json()
    return body


def by_id(meetings: list[Any]) -> dict[str, Any]:
    return {m["id"]: m for m in meetings}


def test_zoom_meetings_with_occurrences_updates_and_a_forgotten_deletion() -> None:
    state = ZoomState()
    client = create_zoom_app(state).test_client()
    auth = bearer(access_token(state.oauth, "zoom-client-id", "zoom-client-secret"))
    body = {
        "topic": "Planning", "type": 8, "start_time": iso(START), "duration": 90,
        "timezone": "UTC", "recurrence": {"type": 1, "end_times": 3},
        "settings": {"meeting_invitees": [{"email": "bob@example.com"}]},
    }  # fmt: skip
    created = client.post("/v2/users/me/meetings", json=body, headers=auth)
    assert created.status_code == 201, created.text
    meeting_id = str(answer(created)["id"])
    second, third = (str(int((START + timedelta(days=d)).timestamp() * 1000)) for d in (1, 2))
    moved = iso(START + timedelta(days=1, hours=2))
    for path, call in [
        (f"/v2/meetings/{meeting_id}", {"topic": "Planning (moved)"}),
        (f"/v2/meetings/{meeting_id}?occurrence_id={second}", {"start_time": moved}),
    ]:
        assert client.patch(path, json=call, headers=auth).status_code == 204
    gone = client.delete(f"/v2/meetings/{meeting_id}?occurrence_id={third}", headers=auth)
    assert gone.status_code == 204

    (meeting,) = zoom_meetings(state)
    assert meeting["id"] == meeting_id
    assert meeting["title"] == "Planning (moved)"
    assert meeting["start"] == "2030-03-04T09:00:00+00:00"
    assert meeting["end"] == "2030-03-04T10:30:00+00:00"
    assert meeting["attendees"] == ["bob@example.com"]
    assert meeting["occurrences"] == [
        "moved: Tue 5 Mar 2030 09:00 UTC → Tue 5 Mar 2030 11:00\u201312:30 UTC",
        "cancelled: Wed 6 Mar 2030 09:00 UTC",
    ]
    assert meeting["updates"] == 1  # the occurrence's move is not an update of the meeting
    assert (meeting["deleted"], meeting["status"]) == (False, "meeting live")

    # Zoom forgets a deleted meeting: its call log still says it was deleted.
    assert client.delete(f"/v2/meetings/{meeting_id}", headers=auth).status_code == 204
    (forgotten,) = zoom_meetings(state)
    assert forgotten["id"] == meeting_id
    assert (forgotten["deleted"], forgotten["status"]) == (True, "meeting deleted")
    assert (forgotten["title"], forgotten["updates"]) == (None, 1)


def test_teams_meetings_and_a_forgotten_deletion() -> None:
    state = GraphState()
    client = create_graph_app(state).test_client()
    auth = bearer(access_token(state.oauth, "graph-client-id", "graph-client-secret"))
    body = {
        "externalId": "ev1", "subject": "Review", "startDateTime": iso(START),
        "endDateTime": iso(START + timedelta(hours=1)),
        "participants": {"attendees": [{"upn": "bob@example.com", "role": "attendee"}]},
    }  # fmt: skip
    created = client.post("/v1.0/me/onlineMeetings/createOrGet", json=body, headers=auth)
    assert created.status_code == 201, created.text
    meeting_id = answer(created)["id"]
    later = {"startDateTime": iso(START + timedelta(hours=2)),
             "endDateTime": iso(START + timedelta(hours=3))}  # fmt: skip
    patched = client.patch(f"/v1.0/me/onlineMeetings/{meeting_id}", json=later, headers=auth)
    assert patched.status_code == 200

    (meeting,) = teams_meetings(state)
    assert meeting["id"] == meeting_id
    assert meeting["title"] == "Review"
    assert (meeting["start"], meeting["end"]) == (
        "2030-03-04T11:00:00+00:00",
        "2030-03-04T12:00:00+00:00",
    )
    assert meeting["attendees"] == ["bob@example.com"]
    assert (meeting["updates"], meeting["deleted"], meeting["occurrences"]) == (1, False, [])

    assert client.delete(f"/v1.0/me/onlineMeetings/{meeting_id}", headers=auth).status_code == 204
    (forgotten,) = teams_meetings(state)
    assert (forgotten["id"], forgotten["deleted"], forgotten["updates"]) == (meeting_id, True, 1)


def test_webex_series_with_invitees_occurrences_and_deletion() -> None:
    state = WebexState()
    client = create_webex_app(state).test_client()
    minted = client.post("/_control/tokens", json={"email": ALICE})
    assert minted.status_code == 200, minted.text
    auth = bearer(answer(minted)["access_token"])
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0, second=0, minute=0)
    body = {
        "title": "Sprint", "start": iso(start), "end": iso(start + timedelta(hours=1)),
        "timezone": "UTC", "recurrence": "FREQ=DAILY;COUNT=3",
        "invitees": [{"email": "bob@example.com"}],
    }  # fmt: skip
    created = client.post("/v1/meetings", json=body, headers=auth)
    assert created.status_code == 200, created.text
    series, password = answer(created)["id"], answer(created)["password"]
    renamed = {**body, "title": "Sprint (renamed)", "password": password}
    assert client.put(f"/v1/meetings/{series}", json=renamed, headers=auth).status_code == 200
    second = start + timedelta(days=1)
    key = second.strftime("%Y%m%dT%H%M%SZ")
    assert client.delete(f"/v1/meetings/{series}_{key}", headers=auth).status_code == 204

    (meeting,) = webex_meetings(state)
    assert meeting["id"] == series
    assert meeting["title"] == "Sprint (renamed)"
    assert (meeting["start"], meeting["end"]) == (iso(start), iso(start + timedelta(hours=1)))
    assert meeting["attendees"] == ["bob@example.com"]
    assert meeting["occurrences"] == [
        f"cancelled: {second:%a} {second.day} {second:%b %Y} {second:%H:%M} UTC"
    ]
    assert (meeting["updates"], meeting["deleted"], meeting["status"]) == (
        1, False, "meeting live")  # fmt: skip

    assert client.delete(f"/v1/meetings/{series}", headers=auth).status_code == 204
    (deleted,) = webex_meetings(state)
    assert (deleted["id"], deleted["title"], deleted["deleted"]) == (
        series, "Sprint (renamed)", True)  # fmt: skip
    assert deleted["status"] == "meeting deleted"


def test_daily_rooms_by_name_deleted_and_expired() -> None:
    now = [START.timestamp()]
    state = DailyState(clock=lambda: now[0])
    client: FlaskClient = create_daily_app(state).test_client()
    auth = bearer("daily-test-key")
    window = {"nbf": int(START.timestamp()), "exp": int(START.timestamp()) + 3600}
    for name in ("kept", "gone"):
        made = client.post("/v1/rooms", json={"name": name, "properties": window}, headers=auth)
        assert made.status_code == 200, made.text
    later = {"properties": {"exp": window["exp"] + 1800}}
    assert client.post("/v1/rooms/kept", json=later, headers=auth).status_code == 200
    assert client.delete("/v1/rooms/gone", headers=auth).status_code == 200

    rooms = by_id(daily_meetings(state))
    kept = rooms["kept"]
    assert kept["title"] is None  # a Daily room has no title
    assert (kept["start"], kept["end"]) == (
        "2030-03-04T09:00:00+00:00",
        "2030-03-04T10:30:00+00:00",
    )
    assert (kept["updates"], kept["deleted"], kept["status"]) == (1, False, "room live")
    assert (rooms["gone"]["deleted"], rooms["gone"]["status"]) == (True, "room deleted")

    now[0] += 3 * 3600  # past the room's exp: Daily treats it as deleted
    expired = by_id(daily_meetings(state))["kept"]
    assert (expired["deleted"], expired["status"]) == (True, "room expired")


def bbb_call(client: FlaskClient, call: str, **params: str) -> str:
    query = urlencode(params)
    checksum = hashlib.sha256((call + query + "bbb-test-secret-0123456789").encode()).hexdigest()
    answer = client.get(f"/bigbluebutton/api/{call}?{query}&checksum={checksum}")
    assert answer.status_code == 200
    return answer.text


def test_bbb_meetings_not_running_running_and_ended() -> None:
    state = BbbState()
    client = create_bbb_app(state).test_client()
    assert bbb_meetings(state) == []  # nothing until the join page creates it

    assert "SUCCESS" in bbb_call(client, "create", meetingID="gcal-abc", name="Retro")
    (created,) = bbb_meetings(state)
    assert (created["id"], created["title"], created["status"]) == (
        "gcal-abc", "Retro", "not running")  # fmt: skip
    assert (created["deleted"], created["updates"]) == (False, None)

    bbb_call(client, "join", meetingID="gcal-abc", fullName="Bob", role="VIEWER")
    (running,) = bbb_meetings(state)
    assert (running["status"], running["attendees"]) == ("running", ["Bob (viewer)"])
    assert running["start"] is not None and running["end"] is None

    assert "sentEndMeetingRequest" in bbb_call(client, "end", meetingID="gcal-abc")
    (ended,) = bbb_meetings(state)
    assert (ended["id"], ended["deleted"], ended["status"]) == ("gcal-abc", True, "ended")
    assert ended["end"] is not None


def test_the_panel_names_the_vendor_and_what_it_says_without_a_meeting() -> None:
    labels = {v.solution_id: (v.name, v.absent) for v in LOCAL_VENDORS}

    def carrying(event_id: str, conference_id: str, solution_id: str) -> dict[str, Any]:
        return {
            "id": event_id,
            "status": "confirmed",
            "summary": event_id,
            "start": {"dateTime": "2030-03-04T09:00:00Z"},
            "end": {"dateTime": "2030-03-04T10:00:00Z"},
            "conferenceData": {
                "conferenceId": conference_id,
                "conferenceSolution": {"name": solution_id, "key": {"type": "addOn"}},
                "parameters": {"addOnParameters": {"parameters": {"solutionId": solution_id}}},
            },
        }

    zoom: dict[str, Any] = {
        "id": "81000000001", "vendor": "Zoom", "title": "Planning",
        "start": "2030-03-04T09:00:00+00:00", "end": "2030-03-04T10:00:00+00:00",
        "attendees": [], "occurrences": ["cancelled: Tue 5 Mar 2030 09:00 UTC"],
        "updates": None, "deleted": True, "status": "meeting deleted",
    }  # fmt: skip
    events = [
        carrying("z", "81000000001", "zoom-meeting"),
        carrying("b", "gcal-abc", "bbb-meeting"),
        carrying("r", "mtg-000001", "web-conference"),
    ]
    cards = {c.id: c.conference for c in event_views(events, {zoom["id"]: zoom}, {}, {}, labels)}
    on_zoom, on_bbb, on_rest = cards["z"], cards["b"], cards["r"]
    assert on_zoom is not None and on_zoom.meeting is not None
    assert on_zoom.vendor == "Zoom"
    assert on_zoom.meeting.when == "Mon 4 Mar 2030 09:00\u201310:00 UTC"
    assert on_zoom.meeting.occurrences == ["cancelled: Tue 5 Mar 2030 09:00 UTC"]
    assert (on_zoom.meeting.updates, on_zoom.meeting.status) == (None, "meeting deleted")
    assert on_bbb is not None and on_bbb.meeting is None
    assert (on_bbb.vendor, on_bbb.absent) == ("BigBlueButton", "not running")
    assert on_rest is not None and (on_rest.vendor, on_rest.absent) == (
        "the conferencing server", "unknown")  # fmt: skip
