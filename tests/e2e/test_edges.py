"""Edge behaviours named by the issues: concurrent duplicates, failed initial sync, domain
restriction, a failing full sync, stopped syncs (401, quota), and Jitsi's time-bound join URL
written back onto the event."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from addon.settings import Solution
from tests.e2e.stack import SOLUTION, Stack, running_stack
from tests.e2e.test_create import insert_event
from tests.e2e.test_sync import ALICE, new_conference, patch

pytestmark = pytest.mark.datastore


def test_concurrent_duplicate_picks_make_one_meeting(stack: Stack) -> None:
    event = insert_event(stack)
    answers: list[Any] = []

    def pick() -> None:
        answers.append(stack.pick(ALICE, event["id"], ALICE))

    threads = [threading.Thread(target=pick) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = {a["conferenceData"]["conferenceId"] for a in answers}
    assert len(ids) == 1
    applied_creates = [c for c in stack.provider_calls() if c["op"] == "create"]
    assert len(applied_creates) == 1  # duplicates were answered from the idempotency key
    assert len(stack.store.list_conferences(ALICE)) == 1


def test_failed_initial_sync_still_returns_the_conference(stack: Stack) -> None:
    event = insert_event(stack)
    stack.control(
        "POST",
        "/_emulator/faults",
        {"rules": [{"method": "events.list", "status": 503, "count": 20}]},
    )
    answer = stack.pick(ALICE, event["id"], ALICE)
    assert answer["applied"] and answer["subscribed"]
    state = stack.calendar_state(ALICE)
    assert state.needs_full_sync and state.sync_token is None and state.due
    stack.control("DELETE", "/_emulator/faults")
    patch(stack, event["id"], {"summary": "Recovered"})  # the next trigger does the full sync
    state = stack.calendar_state(ALICE)
    assert not state.needs_full_sync and state.sync_token
    runs = stack.store.recent_sync_runs(ALICE, limit=50)
    assert any(r["mode"] == "full" and r["token_stored"] and not r["error"] for r in runs)


def test_full_sync_that_keeps_failing_stops_without_looping(stack: Stack) -> None:
    event, _ = new_conference(stack)
    token_before = stack.calendar_state(ALICE).sync_token
    stack.control("POST", f"/_emulator/calendars/{ALICE}/expire-sync-tokens")
    stack.control("POST", "/_emulator/stats/reset")
    stack.control(
        "POST",
        "/_emulator/faults",
        {"rules": [{"method": "events.list", "status": 503, "count": 1000, "skip": 1}]},
    )
    client = stack.services.calendar_for_token(stack.user(ALICE))
    run = stack.services.engine.sync(ALICE, client)
    assert run.status == "error" and len(run.reports) == 1
    # one 410 on the token, then the full listing's bounded retries: no loop
    lists = stack.control("GET", "/_emulator/stats")["requests"]["events.list"]
    assert lists <= 1 + stack.services.calendar_retry.attempts
    state = stack.calendar_state(ALICE)
    assert state.needs_full_sync  # the next run goes straight to a full sync
    assert "CalendarUnavailable" in state.last_result["error"]
    del event, token_before


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 403, "reason": "quotaExceeded"}, "QuotaExceeded"),
        ({"status": 401, "reason": "authError"}, "Unauthorized"),
    ],
)
def test_stop_cleanly_and_keep_the_token(stack: Stack, fault: dict, error: str) -> None:
    event, meeting_id = new_conference(stack)
    token = stack.calendar_state(ALICE).sync_token
    stack.control("POST", "/_emulator/faults", {"rules": [{"method": "events.list", **fault}]})
    patch(stack, event["id"], {"summary": "Blocked"})
    state = stack.calendar_state(ALICE)
    assert error in state.last_result["error"]
    assert state.sync_token == token  # nothing skipped: the change is listed again later
    stack.control("DELETE", "/_emulator/faults")
    stack.services.engine.sync(ALICE, stack.services.calendar_for_token(stack.user(ALICE)))
    assert stack.meetings()[meeting_id]["title"] == "Blocked"


def jitsi_solutions(emulator_url: str) -> tuple[Solution, ...]:
    options = {"app_id": "acme", "app_secret": "s" * 32, "base_url": "https://meet.example.com"}
    return (Solution(SOLUTION, "Web conference", "https://x.example/l.png", "jitsi", options),)


@pytest.fixture
def jitsi_stack(datastore) -> Iterator[Stack]:
    with running_stack(datastore.project, jitsi_solutions) as s:
        yield s


def video_uri(stack: Stack, event_id: str) -> str:
    event = stack.calendar(ALICE).events().get(calendarId=ALICE, eventId=event_id).execute()
    return next(
        e["uri"] for e in event["conferenceData"]["entryPoints"] if e["entryPointType"] == "video"
    )


def test_jitsi_join_url_follows_the_event_time(jitsi_stack: Stack) -> None:
    stack = jitsi_stack
    event, _ = new_conference(stack)
    before = video_uri(stack, event["id"])
    assert "jwt=" in before
    patch(stack, event["id"], {"summary": "Only the title"})
    assert video_uri(stack, event["id"]) == before  # the token does not depend on the title
    patch(
        stack,
        event["id"],
        {
            "start": {"dateTime": "2030-01-08T10:00:00Z"},
            "end": {"dateTime": "2030-01-08T11:00:00Z"},
        },
    )
    after = video_uri(stack, event["id"])
    assert after != before and after.split("?")[0] == before.split("?")[0]  # same room
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None and record.meeting.entry_points[0].uri == after
    runs = stack.store.recent_sync_runs(ALICE, limit=50)
    assert sum(r["write_backs"] for r in runs) == 1


def restricted_to(*domains: str) -> Callable[[str], tuple[Solution, ...]]:
    def solutions(emulator_url: str) -> tuple[Solution, ...]:
        options = {"base_url": emulator_url + "/_conferencing"}
        logo = "https://x.example/l.png"
        return (Solution(SOLUTION, "Web conference", logo, "rest", options, domains),)

    return solutions


def test_solution_restricted_to_other_domains_is_forbidden(datastore) -> None:
    with running_stack(datastore.project, restricted_to("partner.example")) as stack:
        event = insert_event(stack)
        answer = stack.pick(ALICE, event["id"], ALICE)
        assert not answer["applied"]
        data = answer["addonResponse"]["renderActions"]["hostAppAction"]["calendarAction"][
            "createConferenceDataActionMarkup"
        ]["createConferenceData"]
        assert data["error"]["type"] == "CONFERENCE_SOLUTION_FORBIDDEN"
        assert stack.store.list_conferences(ALICE, active_only=False) == []
        assert stack.conferencing.calls() == []


def test_domain_restriction_uses_the_verified_user_not_the_organizer(datastore) -> None:
    """A user of another domain who can write to an allowed domain's calendar must not get the
    restricted solution: the check reads the verified userIdToken, not the calendar's owner."""

    outsider = "mallory@outside.example"
    oauth_client_id = "000000000000-emulator.apps.googleusercontent.com"
    restricted = restricted_to("example.com")
    with running_stack(datastore.project, restricted, oauth_client_id=oauth_client_id) as stack:
        stack.user(outsider)
        stack.user(ALICE)
        stack.control(
            "POST", f"/_emulator/calendars/{ALICE}/share", {"email": outsider, "role": "writer"}
        )
        event = insert_event(stack)
        refused = stack.pick(ALICE, event["id"], outsider)
        data = refused["addonResponse"]["renderActions"]["hostAppAction"]["calendarAction"][
            "createConferenceDataActionMarkup"
        ]["createConferenceData"]
        assert data["error"]["type"] == "CONFERENCE_SOLUTION_FORBIDDEN"
        assert stack.conferencing.calls() == []
        allowed = stack.pick(ALICE, event["id"], ALICE)
        assert allowed["applied"]
