"""The fake conferencing server's own contract: dedup, call log, faults, control API, prefix."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from localgoogle.vendors.rest import (
    ConferencingState,
    conferencing_blueprint,
    create_conferencing_app,
)


@pytest.fixture
def client() -> FlaskClient:
    return create_conferencing_app().test_client()


def _create(client: FlaskClient, key: str | None = "k1", title: str = "T") -> dict[str, object]:
    headers = {"Idempotency-Key": key} if key else {}
    response = client.post("/meetings", json={"title": title}, headers=headers)
    assert response.status_code == 201
    body: dict[str, object] = response.get_json()
    return body


def test_same_key_same_result_counted_once(client: FlaskClient) -> None:
    first = _create(client, "k1")
    assert _create(client, "k1", title="other") == first
    assert _create(client, "k2")["id"] != first["id"]
    assert _create(client, None)["id"] not in (first["id"],)
    outcomes = [c["outcome"] for c in client.get("/calls").get_json()["calls"]]
    assert outcomes == ["applied", "duplicate", "applied", "applied"]
    assert len(client.get("/meetings").get_json()["meetings"]) == 3


def test_key_reused_for_another_operation_is_refused(client: FlaskClient) -> None:
    meeting = _create(client, "k1")
    response = client.delete(f"/meetings/{meeting['id']}", headers={"Idempotency-Key": "k1"})
    assert response.status_code == 422
    assert client.get(f"/meetings/{meeting['id']}").get_json()["deleted"] is False


def test_get_unknown_meeting_and_deleted_state(client: FlaskClient) -> None:
    assert client.get("/meetings/nope").status_code == 404
    meeting = _create(client)
    assert client.delete(f"/meetings/{meeting['id']}").status_code == 204
    assert client.delete(f"/meetings/{meeting['id']}").status_code == 404
    assert client.patch(f"/meetings/{meeting['id']}", json={}).status_code == 404
    assert client.post(f"/meetings/{meeting['id']}/occurrences", json={}).status_code == 404
    assert client.get(f"/meetings/{meeting['id']}").get_json()["deleted"] is True


def test_fault_count_and_clear(client: FlaskClient) -> None:
    assert client.post("/faults", json={"mode": "error500", "count": 2}).status_code == 204
    assert client.post("/meetings", json={}).status_code == 500
    assert client.post("/meetings", json={}).status_code == 500
    assert client.post("/meetings", json={}).status_code == 201
    client.post("/faults", json={"mode": "down"})
    assert client.post("/meetings", json={}).status_code == 503
    assert client.get("/meetings").status_code == 200  # control routes are never faulted
    assert client.delete("/faults").status_code == 204
    assert client.post("/meetings", json={}).status_code == 201
    client.post("/faults", json={"mode": "auth"})
    response = client.post("/meetings", json={})
    assert response.status_code == 401
    assert response.get_json()["authenticationUrl"].startswith("https://")
    client.post("/faults", json={"mode": "none"})
    assert client.post("/meetings", json={}).status_code == 201


@pytest.mark.parametrize(
    "body",
    [{}, {"mode": "explode"}, {"mode": "hang", "seconds": -1}, {"mode": "down", "count": 0}],
)
def test_bad_fault_requests(client: FlaskClient, body: dict[str, object]) -> None:
    assert client.post("/faults", json=body).status_code == 400


def test_reset_forgets_everything_and_releases_hangs() -> None:
    state = ConferencingState()
    client = create_conferencing_app(state).test_client()
    _create(client)
    client.post("/faults", json={"mode": "hang", "seconds": 20})
    statuses: list[int] = []
    worker = threading.Thread(target=lambda: statuses.append(_hung_status(state)))
    started = time.monotonic()
    worker.start()
    time.sleep(0.1)
    assert client.post("/reset").status_code == 204
    worker.join(timeout=5)
    assert time.monotonic() - started < 5
    assert statuses == [201]  # released, then processed on the fresh state
    assert [m["id"] for m in state.meetings()] == ["mtg-000001"]
    assert len(state.calls()) == 1


def _hung_status(state: ConferencingState) -> int:
    return state.handle("POST", "create", None, "k", None, {})[0]


def test_api_key_is_enforced() -> None:
    client = create_conferencing_app(ConferencingState(api_key="s3")).test_client()
    assert client.post("/meetings", json={}).status_code == 401
    assert client.post("/meetings", json={}, headers={"X-Api-Key": "s3"}).status_code == 201
    bearer = {"Authorization": "Bearer s3"}
    assert client.post("/meetings", json={}, headers=bearer).status_code == 201
    assert [c["outcome"] for c in client.get("/calls").get_json()["calls"]] == [
        "rejected",
        "applied",
        "applied",
    ]


def test_blueprint_under_a_prefix() -> None:
    app = Flask(__name__)
    state = ConferencingState()
    app.register_blueprint(conferencing_blueprint(state), url_prefix="/_conferencing")
    client = app.test_client()
    assert client.post("/_conferencing/meetings", json={"title": "x"}).status_code == 201
    assert state.meetings()[0]["title"] == "x"
