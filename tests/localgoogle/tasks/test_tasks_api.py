"""Task methods through the real client: create (named, unnamed), get, list, delete, and the
name reservation Google keeps after a task ran or was deleted."""

from __future__ import annotations

import datetime
import time

import pytest
from flask import Flask
from google.api_core import exceptions
from google.cloud import tasks_v2

from localgoogle.server import serve
from localgoogle.tasks import register

from .conftest import Served
from .support import PROJECT_LOCATION, Target, client_for, error_status, http_task, make_queue

QUEUE = f"{PROJECT_LOCATION}/queues/sync"
FULL = tasks_v2.Task.View.FULL


def _in(seconds: float) -> datetime.datetime:
    """A Timestamp field's value (proto-plus converts ``datetime``)."""
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)


def test_unnamed_task_gets_a_generated_id(
    client: tasks_v2.CloudTasksClient, target: Target
) -> None:
    make_queue(client)
    client.pause_queue(name=QUEUE)
    before = time.time()

    task = client.create_task(parent=QUEUE, task=http_task(target.url(), http={"body": b"{}"}))

    queue_part, task_id = task.name.rsplit("/tasks/", 1)
    assert queue_part == QUEUE
    assert task_id.isdigit() and len(task_id) >= 18
    assert task.view == tasks_v2.Task.View.BASIC
    assert task.http_request.body == b""  # the BASIC view leaves the body out
    assert task.http_request.headers["User-Agent"] == "Google-Cloud-Tasks"
    assert task.dispatch_deadline.total_seconds() == 600
    assert task.schedule_time.timestamp() == pytest.approx(before, abs=2)
    assert task.create_time.timestamp() == pytest.approx(before, abs=2)
    assert task.dispatch_count == 0


def test_full_view_returns_the_body(client: tasks_v2.CloudTasksClient, target: Target) -> None:
    make_queue(client)
    client.pause_queue(name=QUEUE)
    name = f"{QUEUE}/tasks/with-body"
    task = http_task(
        target.url(),
        name,
        http={"body": b'{"a": 1}', "headers": {"Content-Type": "application/json"}},
    )
    created = client.create_task(request={"parent": QUEUE, "task": task, "response_view": FULL})

    assert created.http_request.body == b'{"a": 1}'
    assert created.view == FULL
    fetched = client.get_task(request={"name": name, "response_view": FULL})
    assert fetched.http_request.body == b'{"a": 1}'
    assert fetched.http_request.headers["Content-Type"] == "application/json"
    assert client.get_task(name=name).http_request.body == b""
    listed = list(client.list_tasks(request={"parent": QUEUE, "response_view": FULL}))
    assert [t.http_request.body for t in listed] == [b'{"a": 1}']


def test_live_name_is_already_exists(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    make_queue(client)
    client.pause_queue(name=QUEUE)
    name = f"{QUEUE}/tasks/sync-calendar-1"
    client.create_task(parent=QUEUE, task=http_task(target.url(), name))

    with pytest.raises(exceptions.Conflict) as caught:
        client.create_task(parent=QUEUE, task=http_task(target.url(), name))

    assert error_status(caught.value) == "ALREADY_EXISTS"
    assert emulator.tasks.stats()["total"]["deduplicated"] == 1


def test_name_of_a_task_that_ran_stays_reserved(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    make_queue(client)
    name = f"{QUEUE}/tasks/ran-once"
    client.create_task(parent=QUEUE, task=http_task(target.url(), name))
    target.wait_for(1)
    assert emulator.tasks.wait_idle(timeout=5)

    with pytest.raises(exceptions.Conflict) as caught:
        client.create_task(parent=QUEUE, task=http_task(target.url(), name))
    assert "existed too recently" in caught.value.message
    with pytest.raises(exceptions.NotFound) as missing:
        client.get_task(name=name)
    assert "existed recently" in missing.value.message


def test_reservation_ends_after_the_tombstone_period(target: Target) -> None:
    app = Flask("short_tombstones")
    emulator = register(app, lambda audience, email: "unused", tombstone_seconds=0.3)
    try:
        with serve(app) as base_url, client_for(base_url) as client:
            make_queue(client)
            client.pause_queue(name=QUEUE)
            name = f"{QUEUE}/tasks/reused"
            client.create_task(parent=QUEUE, task=http_task(target.url(), name))
            client.delete_task(name=name)
            with pytest.raises(exceptions.Conflict):
                client.create_task(parent=QUEUE, task=http_task(target.url(), name))
            time.sleep(0.4)
            assert client.create_task(parent=QUEUE, task=http_task(target.url(), name)).name == name
    finally:
        emulator.close()


def test_get_list_delete(client: tasks_v2.CloudTasksClient, target: Target) -> None:
    make_queue(client)
    client.pause_queue(name=QUEUE)
    names = [f"{QUEUE}/tasks/t-{index}" for index in range(5)]
    for name in names:
        client.create_task(parent=QUEUE, task=http_task(target.url(), name))

    pages = list(client.list_tasks(request={"parent": QUEUE, "page_size": 2}).pages)
    assert [len(page.tasks) for page in pages] == [2, 2, 1]
    assert sorted(t.name for page in pages for t in page.tasks) == names
    assert client.get_task(name=names[0]).http_request.url == target.url()

    client.delete_task(name=names[0])
    with pytest.raises(exceptions.NotFound):
        client.get_task(name=names[0])
    with pytest.raises(exceptions.NotFound):
        client.delete_task(name=names[0])
    with pytest.raises(exceptions.NotFound):
        client.get_task(name=f"{QUEUE}/tasks/never-existed")
    assert len(list(client.list_tasks(parent=QUEUE))) == 4


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (http_task("http://x/", f"{QUEUE}/tasks/has space"), "can contain only letters"),
        (http_task("http://x/", f"{QUEUE}/tasks/" + "a" * 501), "between 1 and 500"),
        (http_task("http://x/", f"{PROJECT_LOCATION}/queues/other/tasks/t"), "must be the same"),
        (http_task("ftp://x/"), "must start with 'http://' or 'https://'"),
        (http_task(""), "HttpRequest.url is required"),
        (
            http_task("http://x/", http={"http_method": tasks_v2.HttpMethod.GET, "body": b"x"}),
            "POST, PUT, or PATCH",
        ),
        (http_task("http://x/", schedule_time=_in(31 * 86400)), "30 days"),
        (
            http_task("http://x/", dispatch_deadline=datetime.timedelta(seconds=5)),
            "dispatchDeadline",
        ),
        (
            http_task("http://x/", dispatch_deadline=datetime.timedelta(seconds=1801)),
            "dispatchDeadline",
        ),
        (http_task("http://x/", http={"body": b"x" * (101 * 1024)}), "100KB"),
    ],
)
def test_invalid_task_is_invalid_argument(
    client: tasks_v2.CloudTasksClient, task: tasks_v2.Task, message: str
) -> None:
    make_queue(client)
    with pytest.raises(exceptions.BadRequest) as caught:
        client.create_task(parent=QUEUE, task=task)
    assert error_status(caught.value) == "INVALID_ARGUMENT"
    assert message in caught.value.message


def test_task_in_missing_queue_is_not_found(client: tasks_v2.CloudTasksClient) -> None:
    with pytest.raises(exceptions.NotFound) as caught:
        client.create_task(parent=QUEUE, task=http_task("http://x/"))
    assert "Queue does not exist" in caught.value.message


def test_past_schedule_time_becomes_now(client: tasks_v2.CloudTasksClient, target: Target) -> None:
    make_queue(client)
    client.pause_queue(name=QUEUE)
    task = client.create_task(parent=QUEUE, task=http_task(target.url(), schedule_time=_in(-3600)))
    assert task.schedule_time.timestamp() == pytest.approx(time.time(), abs=2)
