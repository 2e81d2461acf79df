"""Tasks mode against the real stack: triggers enqueue debounced tasks on the Cloud Tasks
emulator (through the unmodified google-cloud-tasks client), which delivers them to the task
handler with OIDC tokens; every piece of unfinished work gets a task of its own.

Each test checks what the user sees (the vendor's meeting) and, where it matters, what it
cost (listings, tasks created and coalesced).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from addon.settings import Solution
from addon.tasks import names
from addon.tasks.body import TaskBody
from tests.e2e.stack import Stack, default_solutions, running_stack, wait_for
from tests.e2e.test_sync import ALICE

pytestmark = pytest.mark.datastore


def quick_solutions(emulator_url: str) -> tuple[Solution, ...]:
    """Both solutions with a short provider timeout: a 5 s lease must outlast a call's budget."""
    return tuple(
        Solution(s.id, s.name, s.logo_url, s.provider, {**s.options, "timeout_seconds": 0.5})
        for s in default_solutions(emulator_url)
    )


@pytest.fixture
def tasks_stack(datastore) -> Iterator[Stack]:
    with running_stack(
        datastore.project,
        quick_solutions,
        sync_mode="tasks",
        lease_seconds=5,
        retry_base_seconds=0.5,
        retry_max_seconds=2.0,
    ) as s:
        yield s


def quiet(stack: Stack) -> bool:
    state = stack.calendar_state(ALICE)
    return bool(state and state.lease_owner is None and not state.due and state.sync_token)


def conference_event(stack: Stack, summary: str = "Follow-up") -> tuple[dict, str]:
    api = stack.calendar(ALICE)
    body = {
        "summary": summary,
        "start": {"dateTime": "2030-03-02T10:00:00Z"},
        "end": {"dateTime": "2030-03-02T11:00:00Z"},
    }
    event = api.events().insert(calendarId=ALICE, body=body).execute()
    meeting_id = stack.pick(ALICE, event["id"], ALICE)["conferenceData"]["conferenceId"]
    stack.settle()
    wait_for(lambda: quiet(stack), message="initial sync")
    return event, meeting_id


def rename(stack: Stack, event_id: str, title: str) -> None:
    stack.calendar(ALICE).events().patch(
        calendarId=ALICE, eventId=event_id, body={"summary": title}
    ).execute()


def no_more_triggers(stack: Stack) -> None:
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})


def lists(stack: Stack) -> int:
    return int(stack.control("GET", "/_emulator/stats")["requests"].get("events.list", 0))


def fire_triggers(stack: Stack, count: int, threads: int = 8) -> list[int]:
    url = stack.addon_url + "/calendar/notification"
    token = stack.control("POST", "/_emulator/addon/id-token", {"audience": url})["idToken"]
    body = {
        "authorizationEventObject": {"userOAuthToken": stack.user(ALICE)},
        "calendar": {"calendarId": ALICE},
    }
    statuses: list[int] = []

    def fire(n: int) -> None:
        with requests.Session() as http:
            for _ in range(n):
                r = http.post(
                    url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
                )
                statuses.append(r.status_code)

    workers = [threading.Thread(target=fire, args=(count // threads,)) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return statuses


def test_a_burst_of_triggers_is_one_task_per_debounce_window(datastore) -> None:
    with running_stack(datastore.project, sync_mode="tasks", debounce_seconds=2.0) as stack:
        event, meeting_id = conference_event(stack)
        no_more_triggers(stack)
        rename(stack, event["id"], "Burst")
        stack.control("POST", "/_emulator/stats/reset")
        created_before = stack.tasks_stats()["total"]["created"]

        started = time.time()
        statuses = fire_triggers(stack, 200)
        windows = int(time.time() // 2.0 - started // 2.0) + 1  # debounce windows touched

        assert statuses == [200] * 200
        wait_for(lambda: stack.meetings()[meeting_id]["title"] == "Burst", message="applied")
        stack.settle()
        created = stack.tasks_stats()["total"]["created"] - created_before
        # Every trigger of a window names the same task: one task (and one listing) per
        # window the burst touched, however many triggers it held.
        assert 1 <= created <= windows, (windows, stack.tasks_stats())
        assert 1 <= lists(stack) <= windows
        updates = [c for c in stack.provider_calls() if c["op"] == "update"]
        assert len(updates) == 1


def test_pending_changes_are_retried_by_a_task_of_their_own(tasks_stack: Stack) -> None:
    stack = tasks_stack
    event, meeting_id = conference_event(stack)
    stack.conferencing.set_fault("down", count=3)  # the run's three attempts fail, then it's back
    rename(stack, event["id"], "After the outage")
    stack.settle()  # the one trigger for this change became a task that ran into the outage
    no_more_triggers(stack)
    wait_for(
        lambda: stack.meetings()[meeting_id]["title"] == "After the outage",
        timeout=30,
        message="the pending change applied by the retry task",
    )
    wait_for(lambda: quiet(stack), message="nothing pending")
    assert stack.services.queue.counts.by_kind.get("retry", 0) >= 1


def test_the_lease_of_a_dead_holder_is_taken_over_by_a_task(tasks_stack: Stack) -> None:
    stack = tasks_stack
    event, meeting_id = conference_event(stack)
    assert stack.store.acquire_lease(ALICE, "worker-that-died", 3)
    rename(stack, event["id"], "Taken over")
    stack.settle()  # the trigger's task found the lease taken and left a look at it
    no_more_triggers(stack)
    assert stack.meetings()[meeting_id]["title"] != "Taken over"
    wait_for(
        lambda: stack.meetings()[meeting_id]["title"] == "Taken over",
        timeout=30,
        message="the task that looked at the lease once it expired",
    )
    assert stack.services.queue.counts.by_kind.get("lease", 0) >= 1


def test_a_change_during_a_calendar_429_burst_needs_no_other_trigger(tasks_stack: Stack) -> None:
    stack = tasks_stack
    event, meeting_id = conference_event(stack)
    rule = {"method": "events.list", "status": 429, "reason": "rateLimitExceeded"}
    stack.control("POST", "/_emulator/faults", {"rules": [rule]})
    lifted = threading.Timer(4.0, lambda: stack.control("DELETE", "/_emulator/faults"))
    lifted.start()
    try:
        rename(stack, event["id"], "During the 429s")
        stack.settle()
        no_more_triggers(stack)
        wait_for(
            lambda: stack.meetings()[meeting_id]["title"] == "During the 429s",
            timeout=45,
            message="the change applied by a retry task",
        )
    finally:
        lifted.cancel()
    wait_for(lambda: quiet(stack), timeout=15, message="the calendar clean again")
    runs = stack.store.recent_sync_runs(ALICE, limit=50)
    assert any("429" in (r.get("error") or "") for r in runs), "the 429s were really hit"


def test_a_duplicated_delivery_changes_nothing_twice(tasks_stack: Stack) -> None:
    stack = tasks_stack
    event, meeting_id = conference_event(stack)
    stack.emulator_app.extensions["cloud_tasks"].set_faults(duplicate_next=5)
    rename(stack, event["id"], "Once")
    stack.settle()
    wait_for(lambda: quiet(stack), message="quiet")
    assert stack.tasks_stats()["total"]["duplicatesDelivered"] >= 1
    assert stack.meetings()[meeting_id]["title"] == "Once"
    updates = [c for c in stack.provider_calls() if c["op"] == "update"]
    assert len(updates) == 1


def test_a_sliced_initial_sync_continues_in_tasks_until_done(datastore) -> None:
    with running_stack(datastore.project, sync_mode="tasks", slice_pages=1) as stack:
        stack.user(ALICE)
        stack.control("POST", f"/_emulator/calendars/{ALICE}/seed", {"count": 6000})
        _, meeting_id = conference_event(stack, "Big calendar")
        wait_for(lambda: quiet(stack), timeout=60, message="initial sync done")
        runs = stack.store.recent_sync_runs(ALICE, limit=50)
        slices = sorted(r["slice"] for r in runs if r["mode"] == "full")
        assert slices[:3] == [1, 2, 3], slices
        assert stack.services.queue.counts.by_kind.get("continue", 0) >= 2
        assert not stack.meetings()[meeting_id]["deleted"]


def test_the_user_token_rides_sealed_and_an_old_one_is_not_used(tasks_stack: Stack) -> None:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import tasks_v2

    stack = tasks_stack
    conference_event(stack)
    token = stack.user(ALICE)
    svc = stack.services
    # A task as a trigger would make it, but with a token sealed more than an hour ago.
    old = TaskBody(ALICE, "trigger", svc.sealer.seal(token, ALICE), time.time() - 4000)
    task_id = names.at_moment(ALICE, "r", time.time())
    assert svc.queue.enqueue(task_id, old, at=time.time() + 1.0)
    client = tasks_v2.CloudTasksClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=stack.emulator_url),
    )
    name = f"{svc.settings.tasks_queue}/tasks/{task_id}"
    queued = client.get_task(request={"name": name, "response_view": tasks_v2.Task.View.FULL})
    body = queued.http_request.body.decode()
    assert ALICE in body and token not in body
    assert queued.http_request.oidc_token.service_account_email == svc.settings.tasks_invoker
    stack.settle(timeout=10)
    wait_for(lambda: stack.calendar_state(ALICE).attention, message="attention set")
    state = stack.calendar_state(ALICE)
    assert "token" in state.attention
    assert svc.queue.counts.created >= 1


def post_task(stack: Stack, body: bytes, **token: object) -> requests.Response:
    url = stack.addon_url + "/tasks/sync"
    headers = {"Content-Type": "application/json"}
    if token:
        minted = stack.control("POST", "/_emulator/addon/id-token", {"audience": url, **token})[
            "idToken"
        ]
        headers["Authorization"] = f"Bearer {minted}"
    return requests.post(url, data=body, headers=headers, timeout=10)


def test_the_task_handler_takes_only_cloud_tasks_deliveries(tasks_stack: Stack) -> None:
    stack = tasks_stack
    conference_event(stack)
    before = stack.calendar_state(ALICE)
    lists_before = lists(stack)
    svc = stack.services
    body = TaskBody(ALICE, "trigger", svc.sealer.seal(stack.user(ALICE), ALICE), time.time())
    invoker = svc.settings.tasks_invoker
    refused = [
        post_task(stack, body.to_json()),  # no token at all
        # Google's token for the add-on's own service account: Calendar's, not a task's.
        post_task(stack, body.to_json(), email=svc.settings.service_account),
        post_task(stack, body.to_json(), email=invoker, untrusted=True),
        post_task(stack, body.to_json(), email=invoker, expiresIn=-60),
        post_task(stack, body.to_json(), email=invoker, issuer="https://evil.example"),
    ]
    assert [r.status_code for r in refused] == [401] * 5
    assert all(r.json()["error"]["reason"] == "unauthenticated" for r in refused)
    # The right caller with a body we did not write: a clear 400, nothing done.
    for bad in (b"", b"{}", b'{"v": 1, "calendarId": "x", "kind": "nap"}'):
        r = post_task(stack, bad, email=invoker)
        assert r.status_code == 400 and r.json()["error"]["reason"] == "badTaskBody"
    # A token sealed for another calendar does not open on this one.
    moved = TaskBody(ALICE, "trigger", svc.sealer.seal(stack.user(ALICE), "bob@x"), time.time())
    r = post_task(stack, moved.to_json(), email=invoker)
    assert r.status_code == 200 and r.json()["status"] == "no credentials"
    assert lists(stack) == lists_before, "a refused delivery read Calendar"
    after = stack.calendar_state(ALICE)
    assert after.sync_token == before.sync_token
    ok = post_task(stack, body.to_json(), email=invoker)
    assert ok.status_code == 200 and ok.json()["status"] == "done"


def test_work_that_keeps_failing_is_given_up_visibly(datastore) -> None:
    with running_stack(
        datastore.project,
        quick_solutions,
        sync_mode="tasks",
        lease_seconds=5,
        retry_base_seconds=0.2,
        retry_max_seconds=0.4,
        retry_max_attempts=2,
    ) as stack:
        event, meeting_id = conference_event(stack)
        stack.conferencing.set_fault("down")  # until further notice
        rename(stack, event["id"], "Never arrives")
        stack.settle()
        no_more_triggers(stack)

        def given_up() -> bool:
            state = stack.calendar_state(ALICE)
            return bool(state.attention and "gave up" in state.attention)

        wait_for(given_up, timeout=30, message="the calendar marked as needing attention")
        state = stack.calendar_state(ALICE)
        assert state.pending_count == 1 and state.due
        retries = stack.services.queue.counts.by_kind.get("retry", 0)
        time.sleep(1.5)  # no more retry tasks after giving up
        assert stack.services.queue.counts.by_kind.get("retry", 0) == retries == 2
        assert stack.meetings()[meeting_id]["title"] != "Never arrives"
        # The next change brings a fresh try (and the vendor is back).
        stack.conferencing.set_fault(None)
        stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 0.0})
        rename(stack, event["id"], "Arrives")
        stack.settle()
        wait_for(lambda: stack.meetings()[meeting_id]["title"] == "Arrives", message="applied")
        wait_for(lambda: not stack.calendar_state(ALICE).attention, message="attention cleared")
