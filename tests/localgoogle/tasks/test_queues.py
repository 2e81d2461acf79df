"""Queue methods through the real client: create, get, list, update, pause, resume, purge,
delete, and the errors Google answers for them."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2

from .conftest import Served
from .support import PROJECT_LOCATION, Target, error_status, http_task, make_queue, seconds

QUEUE = f"{PROJECT_LOCATION}/queues/sync"


def test_create_answers_google_defaults(client: tasks_v2.CloudTasksClient) -> None:
    queue = client.create_queue(parent=PROJECT_LOCATION, queue=tasks_v2.Queue(name=QUEUE))

    assert queue.name == QUEUE
    assert queue.state == tasks_v2.Queue.State.RUNNING
    assert queue.rate_limits.max_dispatches_per_second == 500
    assert queue.rate_limits.max_concurrent_dispatches == 1000
    assert queue.rate_limits.max_burst_size == 100
    retry = queue.retry_config
    assert (retry.max_attempts, retry.max_doublings) == (100, 16)
    assert retry.min_backoff.total_seconds() == pytest.approx(0.1)
    assert retry.max_backoff.total_seconds() == 3600
    assert client.get_queue(name=QUEUE) == queue


def test_create_existing_queue_is_already_exists(client: tasks_v2.CloudTasksClient) -> None:
    make_queue(client)
    with pytest.raises(exceptions.Conflict) as caught:
        make_queue(client)
    assert error_status(caught.value) == "ALREADY_EXISTS"


@pytest.mark.parametrize(
    ("queue", "message"),
    [
        (tasks_v2.Queue(name="not-a-queue-name"), "Queue name must be formatted"),
        (tasks_v2.Queue(name=f"{PROJECT_LOCATION}/queues/under_score"), "Queue name must be"),
        (tasks_v2.Queue(name="projects/p/locations/other/queues/q"), "parent location"),
        (
            tasks_v2.Queue(
                name=QUEUE, rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=501)
            ),
            "maxDispatchesPerSecond must be less than or equal to 500",
        ),
        (
            tasks_v2.Queue(name=QUEUE, retry_config=tasks_v2.RetryConfig(max_attempts=-2)),
            "maxAttempts must be greater or equal to -1",
        ),
        (
            tasks_v2.Queue(
                name=QUEUE,
                retry_config=tasks_v2.RetryConfig(min_backoff=seconds(10), max_backoff=seconds(5)),
            ),
            "minBackoff must be less than or equal to RetryConfig.maxBackoff",
        ),
    ],
)
def test_invalid_queue_is_invalid_argument(
    client: tasks_v2.CloudTasksClient, queue: tasks_v2.Queue, message: str
) -> None:
    with pytest.raises(exceptions.BadRequest) as caught:
        client.create_queue(parent=PROJECT_LOCATION, queue=queue)
    assert error_status(caught.value) == "INVALID_ARGUMENT"
    assert message in caught.value.message


def test_missing_queue_is_not_found(client: tasks_v2.CloudTasksClient) -> None:
    for call in (
        client.get_queue,
        client.pause_queue,
        client.resume_queue,
        client.purge_queue,
        client.delete_queue,
    ):
        with pytest.raises(exceptions.NotFound):
            call(name=QUEUE)


def test_list_pages_through_queues_of_one_location(client: tasks_v2.CloudTasksClient) -> None:
    for index in range(5):
        make_queue(client, f"q-{index}")
    client.create_queue(
        parent="projects/test-project/locations/us-central1",
        queue=tasks_v2.Queue(name="projects/test-project/locations/us-central1/queues/elsewhere"),
    )

    pages = list(client.list_queues(request={"parent": PROJECT_LOCATION, "page_size": 2}).pages)

    assert [len(page.queues) for page in pages] == [2, 2, 1]
    names = [q.name.rsplit("/", 1)[-1] for page in pages for q in page.queues]
    assert names == [f"q-{index}" for index in range(5)]


def test_update_with_mask_changes_only_masked_fields(client: tasks_v2.CloudTasksClient) -> None:
    make_queue(client, retry={"max_attempts": 7})
    updated = client.update_queue(
        queue=tasks_v2.Queue(
            name=QUEUE,
            rate_limits=tasks_v2.RateLimits(
                max_dispatches_per_second=5, max_concurrent_dispatches=3
            ),
        ),
        update_mask={"paths": ["rate_limits.max_dispatches_per_second"]},
    )

    assert updated.rate_limits.max_dispatches_per_second == 5
    assert updated.rate_limits.max_burst_size == 5
    assert updated.rate_limits.max_concurrent_dispatches == 1000  # not in the mask
    assert updated.retry_config.max_attempts == 7


def test_update_creates_a_missing_queue(client: tasks_v2.CloudTasksClient) -> None:
    created = client.update_queue(
        queue=tasks_v2.Queue(
            name=QUEUE, rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=2)
        )
    )
    assert created.rate_limits.max_dispatches_per_second == 2
    assert client.get_queue(name=QUEUE).name == QUEUE


def test_pause_holds_tasks_and_resume_releases_them(
    client: tasks_v2.CloudTasksClient, emulator: Served, target: Target
) -> None:
    make_queue(client)
    assert client.pause_queue(name=QUEUE).state == tasks_v2.Queue.State.PAUSED
    client.create_task(parent=QUEUE, task=http_task(target.url()))

    assert emulator.tasks.wait_idle(timeout=0.3)  # a paused queue's due task is not "work"
    assert target.snapshot() == []
    assert len(list(client.list_tasks(parent=QUEUE))) == 1

    assert client.resume_queue(name=QUEUE).state == tasks_v2.Queue.State.RUNNING
    target.wait_for(1)
    assert emulator.tasks.wait_idle(timeout=5)
    assert list(client.list_tasks(parent=QUEUE)) == []


def test_purge_deletes_every_task(client: tasks_v2.CloudTasksClient, target: Target) -> None:
    make_queue(client)
    client.pause_queue(name=QUEUE)
    for index in range(3):
        client.create_task(parent=QUEUE, task=http_task(target.url(), f"{QUEUE}/tasks/t{index}"))

    purged = client.purge_queue(name=QUEUE)

    assert purged.purge_time.timestamp() > 0
    assert list(client.list_tasks(parent=QUEUE)) == []
    with pytest.raises(exceptions.Conflict):  # purged names are reserved like deleted ones
        client.create_task(parent=QUEUE, task=http_task(target.url(), f"{QUEUE}/tasks/t0"))


def test_delete_then_recreate_is_failed_precondition(client: tasks_v2.CloudTasksClient) -> None:
    make_queue(client)
    client.delete_queue(name=QUEUE)

    with pytest.raises(exceptions.NotFound):
        client.get_queue(name=QUEUE)
    with pytest.raises(exceptions.BadRequest) as caught:
        make_queue(client)
    assert error_status(caught.value) == "FAILED_PRECONDITION"
    assert "existed too recently" in caught.value.message
