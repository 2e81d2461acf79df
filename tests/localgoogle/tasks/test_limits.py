"""Rate limits, the concurrency limit and the at-least-once duplicate fault, observed at the
target."""

from __future__ import annotations

from google.cloud import tasks_v2

from .conftest import Served
from .support import PROJECT_LOCATION, Target, http_task, make_queue

QUEUE = f"{PROJECT_LOCATION}/queues/sync"


def test_dispatch_rate_follows_the_token_bucket(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    queue = make_queue(client, rate={"max_dispatches_per_second": 10})
    burst = queue.rate_limits.max_burst_size
    assert burst == 10
    client.pause_queue(name=QUEUE)  # all due at once when resumed
    for index in range(20):
        client.create_task(parent=QUEUE, task=http_task(target.url(), f"{QUEUE}/tasks/t{index}"))
    client.resume_queue(name=QUEUE)

    received = target.wait_for(20)
    assert emulator.tasks.wait_idle(timeout=5)
    times = sorted(r.at for r in received)
    # The first `burst` go at once; every later one waits for a token (10 per second).
    for index in range(burst, 20):
        assert times[index] - times[0] >= (index - burst + 1) / 10 * 0.9
    assert times[burst - 1] - times[0] < 0.3


def test_concurrent_dispatches_stay_within_the_limit(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    make_queue(client, rate={"max_concurrent_dispatches": 2})
    target.hold_seconds = 0.15
    for index in range(6):
        client.create_task(parent=QUEUE, task=http_task(target.url(), f"{QUEUE}/tasks/t{index}"))

    target.wait_for(6)
    assert emulator.tasks.wait_idle(timeout=5)
    assert target.max_concurrent == 2
    assert emulator.tasks.stats()["total"]["successes"] == 6


def test_duplicate_fault_delivers_a_task_twice_with_the_same_headers(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    make_queue(client)
    emulator.tasks.set_faults(duplicate_next=1)
    oidc = tasks_v2.OidcToken(service_account_email="sa@test-project.iam.gserviceaccount.com")
    client.create_task(
        parent=QUEUE,
        task=http_task(
            target.url(), f"{QUEUE}/tasks/twice", http={"oidc_token": oidc, "body": b"x"}
        ),
    )
    client.create_task(parent=QUEUE, task=http_task(target.url(), f"{QUEUE}/tasks/once"))

    received = target.wait_for(3)
    assert emulator.tasks.wait_idle(timeout=5)
    twice = [r for r in received if r.header("X-CloudTasks-TaskName") == "twice"]
    assert len(twice) == 2
    assert twice[0].headers == twice[1].headers and twice[0].body == twice[1].body
    assert len(target.snapshot()) == 3
    totals = emulator.tasks.stats()["total"]
    assert (totals["duplicatesDelivered"], totals["successes"], totals["attempts"]) == (1, 2, 2)


def test_duplicate_rate_is_drawn_per_dispatch(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    make_queue(client)
    emulator.tasks.set_faults(duplicate_rate=1.0)
    for index in range(3):
        client.create_task(parent=QUEUE, task=http_task(target.url(), f"{QUEUE}/tasks/t{index}"))
    target.wait_for(6)
    assert emulator.tasks.wait_idle(timeout=5)
    assert emulator.tasks.stats()["total"]["duplicatesDelivered"] == 3
