"""The control API over HTTP (/_tasks/...), the Python control API, and the reset wiring."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from google.cloud import tasks_v2

from .conftest import Served
from .support import PROJECT_LOCATION, Target, http_task, make_queue

QUEUE = f"{PROJECT_LOCATION}/queues/sync"


def _call(emulator: Served, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    return requests.request(method, f"{emulator.base_url}{path}", json=body, timeout=10, **kwargs)


def test_stats_queues_and_wait_idle_over_http(
    client: tasks_v2.CloudTasksClient, target: Target, emulator: Served
) -> None:
    make_queue(client)
    client.create_task(parent=QUEUE, task=http_task(target.url(), f"{QUEUE}/tasks/one"))
    waited = _call(emulator, "POST", "/_tasks/wait-idle", {"timeout": 5})
    assert waited.status_code == 200 and waited.json() == {"idle": True}

    stats = _call(emulator, "GET", "/_tasks/stats").json()
    assert stats["queues"][QUEUE]["successes"] == 1
    assert stats["total"]["created"] == 1 and stats["total"]["inFlight"] == 0

    target.default_status = 503
    client.create_task(parent=QUEUE, task=http_task(target.url(), f"{QUEUE}/tasks/two"))
    target.wait_for(2)
    [queue] = _call(emulator, "GET", "/_tasks/queues").json()["queues"]
    assert queue["name"] == QUEUE and queue["state"] == "RUNNING"
    [task] = queue["tasks"]
    assert task["id"] == "two" and task["dispatchCount"] >= 1
    assert task["lastAttemptStatus"] in (None, 503)  # None while the first attempt is out
    assert _call(emulator, "POST", "/_tasks/wait-idle", {"timeout": 0.1, "within": 60}).json() == {
        "idle": False
    }


def test_faults_over_http(emulator: Served) -> None:
    set_ = _call(emulator, "POST", "/_tasks/faults", {"duplicateRate": 0.5, "duplicateNext": 2})
    assert set_.json() == {"duplicateRate": 0.5, "duplicateNext": 2}
    assert _call(emulator, "GET", "/_tasks/faults").json() == set_.json()
    cleared = _call(emulator, "DELETE", "/_tasks/faults")
    assert cleared.json() == {"duplicateRate": 0.0, "duplicateNext": 0}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_tasks/faults", {"duplicateRate": 2}),
        ("POST", "/_tasks/faults", {"duplicateRate": "often"}),
        ("POST", "/_tasks/faults", {"duplicateNext": -1}),
        ("POST", "/_tasks/faults", {"duplicateNext": 1.5}),
        ("POST", "/_tasks/faults", {"dropRate": 0.1}),
        ("POST", "/_tasks/faults", ["not", "an", "object"]),
        ("POST", "/_tasks/wait-idle", {"timeout": -1}),
        ("POST", "/_tasks/wait-idle", {"timeout": True}),
        ("POST", "/_tasks/wait-idle", {"within": "soon"}),
    ],
)
def test_bad_control_input_is_400_with_a_reason(
    emulator: Served, method: str, path: str, body: Any
) -> None:
    response = _call(emulator, method, path, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["message"]


def test_malformed_json_and_unknown_endpoints(emulator: Served) -> None:
    broken = _call(
        emulator,
        "POST",
        "/_tasks/wait-idle",
        data=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400 and "JSON" in broken.json()["error"]["message"]
    assert _call(emulator, "GET", "/_tasks/nothing-here").status_code == 404
    unknown_api = _call(emulator, "GET", "/v2/something/else")
    assert unknown_api.status_code == 404
    assert unknown_api.json()["error"]["status"] == "NOT_FOUND"
    for method, path in (
        ("POST", f"/v2/{QUEUE}:getIamPolicy"),
        ("POST", f"/v2/{QUEUE}/tasks:batchCreate"),
        ("GET", f"/v2/{PROJECT_LOCATION}"),
        ("GET", f"/v2/{PROJECT_LOCATION}/cmekConfig"),
    ):
        answer = _call(emulator, method, path, {})
        assert answer.status_code == 501, path
        assert answer.json()["error"]["status"] == "UNIMPLEMENTED"
    assert _call(emulator, "GET", f"/v2/{PROJECT_LOCATION}/other/x").status_code == 404
    assert _call(emulator, "PUT", f"/v2/{QUEUE}").status_code == 404
    bad_body = _call(
        emulator,
        "POST",
        f"/v2/{PROJECT_LOCATION}/queues",
        data=b"[",
        headers={"Content-Type": "application/json"},
    )
    assert bad_body.status_code == 400


def test_enums_by_name_are_accepted_like_numbers(emulator: Served, target: Target) -> None:
    assert _call(emulator, "POST", f"/v2/{PROJECT_LOCATION}/queues", {"name": QUEUE}).ok
    _call(emulator, "POST", f"/v2/{QUEUE}:pause", {})
    body = {
        "task": {"httpRequest": {"url": target.url(), "httpMethod": "PATCH"}},
        "responseView": "FULL",
    }
    created = _call(emulator, "POST", f"/v2/{QUEUE}/tasks", body).json()
    assert created["httpRequest"]["httpMethod"] == "PATCH" and created["view"] == "FULL"
    unknown = {"task": {"httpRequest": {"url": target.url()}, "color": "blue"}}
    rejected = _call(emulator, "POST", f"/v2/{QUEUE}/tasks", unknown)
    assert rejected.status_code == 400 and "Unknown name" in rejected.json()["error"]["message"]


def test_emulator_reset_clears_cloud_tasks_too(
    client: tasks_v2.CloudTasksClient, emulator: Served
) -> None:
    make_queue(client)
    emulator.tasks.set_faults(duplicate_next=3)
    assert _call(emulator, "POST", "/_emulator/reset").status_code == 200
    assert list(client.list_queues(parent=PROJECT_LOCATION)) == []
    assert emulator.tasks.faults() == {"duplicateRate": 0.0, "duplicateNext": 0}
    make_queue(client)  # no "existed too recently" after a reset
    assert _call(emulator, "POST", "/_tasks/reset").json() == {}
    assert emulator.tasks.stats()["queues"] == {}
    assert emulator.tasks.queues_view() == []


def test_python_fault_arguments_are_checked(emulator: Served) -> None:
    with pytest.raises(ValueError, match="duplicate_rate"):
        emulator.tasks.set_faults(duplicate_rate=1.5)
    with pytest.raises(ValueError, match="duplicate_next"):
        emulator.tasks.set_faults(duplicate_next=-1)


def test_no_thread_before_the_first_task(emulator: Served) -> None:
    import threading

    names = {thread.name for thread in threading.enumerate()}
    assert not any(name.startswith("cloud-tasks") for name in names)
