"""Liveness and readiness: ``/healthz`` answers while the process runs; ``/readyz`` only
while the process can do its work (Datastore reachable)."""

from __future__ import annotations

import pytest

from addon import create_app
from localgoogle.datastore_emulator import free_port

pytestmark = pytest.mark.datastore


def test_ready_when_datastore_answers(datastore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASTORE_EMULATOR_HOST", datastore.host_port)
    app = create_app({"ADDON_DATASTORE_PROJECT": datastore.project})
    r = app.test_client().get("/readyz")
    assert r.status_code == 200 and r.get_json()["datastore"] == "ok"


def test_not_ready_while_datastore_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    app = create_app({"ADDON_DATASTORE_PROJECT": "nowhere"})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # alive: do not restart it
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["error"]["reason"] == "notReady" and "Datastore" in body["error"]["message"]
