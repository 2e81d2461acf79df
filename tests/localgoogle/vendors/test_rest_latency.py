"""The fake conferencing server's latency (waited outside the lock, so calls overlap), its
control endpoint and stats, and snapshot/restore of the vendor's data."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from localgoogle.vendors.rest import ConferencingState, create_conferencing_app


def _create(state: ConferencingState, key: str = "k") -> str:
    status, body = state.handle("POST", "create", None, key, None, {"title": "T"})
    assert status == 201 and body is not None
    return str(body["id"])


def _concurrently(calls: list[Callable[[], object]]) -> list[tuple[float, float]]:
    """Run ``calls`` on threads of their own; (start, end) of each, perf_counter seconds."""
    spans: list[tuple[float, float]] = [(0.0, 0.0)] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        started = time.perf_counter()
        try:
            calls[i]()
        except BaseException as exc:  # reported below, not lost on the thread
            errors.append(exc)
        spans[i] = (started, time.perf_counter())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not errors, errors
    return spans


def test_latency_is_waited_outside_the_lock() -> None:
    # The wait meets a two-party barrier: it only returns once both calls are waiting at
    # the same time, which a wait under the state's lock could never allow.
    barrier = threading.Barrier(2, timeout=5)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        barrier.wait()

    state = ConferencingState(latency_seconds=0.01, sleep=sleep)
    _concurrently([lambda: _create(state, "a"), lambda: _create(state, "b")])
    assert waits == [0.01, 0.01]
    assert state.stats()["peakInFlight"] == 2
    assert state.stats()["inFlight"] == 0
    assert [c["outcome"] for c in state.calls()] == ["applied", "applied"]


def test_concurrent_calls_overlap_in_real_time() -> None:
    state = ConferencingState()
    state.set_latency(0.2)
    spans = _concurrently([lambda: _create(state, "a"), lambda: _create(state, "b")])
    # Both were in flight at once: each started before the other ended (one latency for
    # the pair, not two), and each waited at least the latency.
    assert max(start for start, _ in spans) < min(end for _, end in spans)
    assert all(end - start >= 0.2 for start, end in spans)
    assert state.stats()["peakInFlight"] == 2


def test_every_vendor_call_waits_and_control_calls_do_not() -> None:
    waits: list[float] = []
    state = ConferencingState(sleep=waits.append)
    client = create_conferencing_app(state).test_client()
    assert client.post("/latency", json={"seconds": 0.05}).status_code == 200
    meeting = client.post("/meetings", json={}, headers={"Idempotency-Key": "c"}).get_json()
    path = f"/meetings/{meeting['id']}"
    assert client.patch(path, json={"title": "x"}).status_code == 200
    assert client.post(path + "/occurrences", json={}).status_code == 200
    assert client.delete(path).status_code == 204
    assert client.post("/meetings", json={}, headers={"Idempotency-Key": "c"}).status_code == 201
    assert waits == [0.05] * 5  # four operations and a duplicate
    for control in ("/meetings", "/calls", "/stats", path):
        assert client.get(control).status_code == 200
    assert len(waits) == 5


def test_no_latency_means_no_wait() -> None:
    waits: list[float] = []
    state = ConferencingState(sleep=waits.append)
    _create(state)
    assert waits == []


@pytest.fixture
def client() -> FlaskClient:
    return create_conferencing_app().test_client()


def test_latency_control_and_stats(client: FlaskClient) -> None:
    response = client.post("/latency", json={"seconds": 0.01})
    assert response.status_code == 200
    assert response.get_json()["latencySeconds"] == 0.01
    assert client.post("/latency", json={"seconds": 5}).status_code == 200
    assert client.post("/latency", json={"seconds": 0}).status_code == 200
    stats = client.get("/stats").get_json()
    assert stats == {"latencySeconds": 0, "inFlight": 0, "peakInFlight": 0, "calls": 0}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"seconds": None},
        {"seconds": "0.01"},
        {"seconds": True},
        {"seconds": -0.001},
        {"seconds": 5.001},
        {"seconds": [0.01]},
        [0.01],
    ],
)
def test_bad_latency_is_refused_with_a_reason(client: FlaskClient, body: object) -> None:
    client.post("/latency", json={"seconds": 0.5})
    response = client.post("/latency", json=body)
    assert response.status_code == 400
    assert "seconds" in response.get_json()["error"]
    assert client.get("/stats").get_json()["latencySeconds"] == 0.5  # unchanged


@pytest.mark.parametrize("raw", [b'{"seconds": NaN}', b'{"seconds": Infinity}', b"not json"])
def test_non_finite_or_unreadable_latency_is_refused(client: FlaskClient, raw: bytes) -> None:
    response = client.post("/latency", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_reset_clears_the_latency_set_by_control() -> None:
    client = create_conferencing_app(ConferencingState()).test_client()
    client.post("/latency", json={"seconds": 0.2})
    assert client.post("/reset").status_code == 204
    assert client.get("/stats").get_json()["latencySeconds"] == 0


def test_reset_goes_back_to_the_constructor_latency() -> None:
    state = ConferencingState(latency_seconds=0.03, sleep=lambda _: None)
    state.set_latency(1.0)
    state.reset()
    assert state.stats()["latencySeconds"] == 0.03


@pytest.mark.parametrize("seconds", [-1.0, 6.0, float("nan")])
def test_constructor_refuses_a_bad_latency(seconds: float) -> None:
    with pytest.raises(ValueError, match="latency_seconds"):
        ConferencingState(latency_seconds=seconds)


def test_restore_brings_back_meetings_and_keys_and_empties_the_log() -> None:
    state = ConferencingState()
    meeting_id = _create(state, "create-key")
    saved = state.snapshot()
    assert state.handle("DELETE", "delete", meeting_id, None, None, {})[0] == 204
    assert state.handle("PATCH", "update", meeting_id, "u", None, {})[0] == 404
    state.restore(saved)
    assert state.calls() == []
    assert state.meeting(meeting_id) is not None
    assert state.meeting(meeting_id)["deleted"] is False  # type: ignore[index]
    # Same keys as at the snapshot: the creation replays, the update applies afresh.
    assert state.handle("POST", "create", None, "create-key", None, {})[1]["id"] == meeting_id  # type: ignore[index]
    assert state.handle("PATCH", "update", meeting_id, "u", None, {})[0] == 200
    assert [c["outcome"] for c in state.calls()] == ["duplicate", "applied"]
    assert _create(state, "new") == "mtg-000002"  # the meeting counter came back too
    # The snapshot is a private copy: what happened since changed nothing in it.
    state.restore(saved)
    assert state.meeting(meeting_id)["updates"] == 0  # type: ignore[index]
