"""The operator commands from the README, run as real subprocesses against the stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_sync import ALICE, new_conference
from tests.procs import wait_for

pytestmark = pytest.mark.datastore

ROOT = Path(__file__).resolve().parents[2]


def flask(stack: Stack, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    settings = stack.services.settings
    env = {
        **os.environ,
        "PYTHONWARNINGS": "ignore",
        "ADDON_BASE_URL": settings.base_url,
        "ADDON_CERTS_URL": settings.certs_url,
        "ADDON_CALENDAR_API_ENDPOINT": str(settings.calendar_api_endpoint),
        "ADDON_DATASTORE_PROJECT": settings.datastore_project,
        "ADDON_SOLUTIONS": json.dumps(
            [
                {"id": s.id, "name": s.name, "provider": s.provider, "options": dict(s.options)}
                for s in settings.solutions
            ]
        ),
    }
    if settings.offline_consent:
        env.update(
            {
                "ADDON_OAUTH_CLIENT_ID": str(settings.oauth_client_id),
                "ADDON_OAUTH_CLIENT_SECRET": str(settings.oauth_client_secret),
                "ADDON_OAUTH_AUTH_URI": settings.oauth_auth_uri,
                "ADDON_OAUTH_TOKEN_URI": settings.oauth_token_uri,
                "ADDON_OAUTH_REVOKE_URI": settings.oauth_revoke_uri,
            }
        )
    env.pop("ADDON_SYNC_ACCESS_TOKEN", None)
    if token:
        env["ADDON_SYNC_ACCESS_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_sync_one_calendar_with_an_access_token(stack: Stack) -> None:
    event, meeting_id = new_conference(stack)
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})  # trigger lost
    api = stack.calendar(ALICE)
    api.events().patch(calendarId=ALICE, eventId=event["id"], body={"summary": "Via CLI"}).execute()
    assert stack.meetings()[meeting_id]["title"] != "Via CLI"
    result = flask(stack, "sync", ALICE, "--access-token", stack.user(ALICE))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["synced"][0]
    assert report["status"] == "done" and report["runs"][0]["actions"] == {"UpdateMeeting": 1}
    assert stack.meetings()[meeting_id]["title"] == "Via CLI"


def test_sync_due_calendars_and_refuse_without_credentials(stack: Stack) -> None:
    event, meeting_id = new_conference(stack)
    stack.conferencing.set_fault("down")
    api = stack.calendar(ALICE)
    api.events().patch(calendarId=ALICE, eventId=event["id"], body={"summary": "Later"}).execute()
    stack.settle()
    assert stack.store.due_calendars() == [ALICE]
    refused = flask(stack, "sync", "--due")
    assert refused.returncode == 2 and "No credentials" in refused.stderr
    stack.conferencing.set_fault(None)
    result = flask(stack, "sync", "--due", token=stack.user(ALICE))
    assert result.returncode == 0, result.stderr
    assert [r["calendarId"] for r in json.loads(result.stdout)["synced"]] == [ALICE]
    assert stack.meetings()[meeting_id]["title"] == "Later"
    assert stack.store.due_calendars() == []


def test_retry_parked_changes_once_their_cause_is_fixed(stack: Stack) -> None:
    original, meeting_id = new_conference(stack)
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    model = stack.emulator_app.config["EMULATOR_STATE"]
    copy = stack.copy_event(ALICE, ALICE, original["id"])
    refused = {"method": "events.patch", "status": 403, "reason": "forbidden"}
    stack.control("POST", "/_emulator/faults", {"rules": [refused]})
    for _ in range(3):
        flask(stack, "sync", ALICE, "--access-token", stack.user(ALICE))
    assert stack.calendar_state(ALICE).parked_count == 1
    stack.control("DELETE", "/_emulator/faults")
    plain = flask(stack, "sync", ALICE, "--access-token", stack.user(ALICE))
    assert json.loads(plain.stdout)["synced"][0]["runs"][0]["replayed"] == 0  # still parked
    result = flask(stack, "sync", ALICE, "--access-token", stack.user(ALICE), "--retry-parked")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["synced"][0]["runs"][0]["replayed"] == 1
    carried = model.events_get(ALICE, ALICE, copy["id"])["conferenceData"]["conferenceId"]
    assert carried != meeting_id and not stack.meetings()[carried]["deleted"]
    assert stack.calendar_state(ALICE).parked_count == 0


def test_sync_waits_for_a_sync_already_running(stack: Stack) -> None:
    event, meeting_id = new_conference(stack)
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})  # trigger lost
    api = stack.calendar(ALICE)
    api.events().patch(calendarId=ALICE, eventId=event["id"], body={"summary": "Late"}).execute()
    # Another process's sync holds the calendar's lease (a trigger's, a task's).
    assert stack.store.acquire_lease(ALICE, "someone-else", 60)
    refused = flask(stack, "sync", ALICE, "--wait", "0", token=stack.user(ALICE))
    assert refused.returncode == 0, refused.stderr
    assert json.loads(refused.stdout)["synced"][0]["status"] == "busy"
    assert stack.meetings()[meeting_id]["title"] != "Late"
    # Held again; released once the command has found it busy (a refused sync marks the
    # calendar dirty): the command waits, then its own sync runs.
    stack.store.release_lease(ALICE, "someone-else")
    assert stack.store.acquire_lease(ALICE, "someone-else", 60)

    def release_once_refused() -> None:
        wait_for(lambda: stack.calendar_state(ALICE).dirty, 60, "the command found it busy")
        stack.store.release_lease(ALICE, "someone-else")

    releaser = threading.Thread(target=release_once_refused)
    releaser.start()
    try:
        waited = flask(stack, "sync", ALICE, "--wait", "30", token=stack.user(ALICE))
    finally:
        releaser.join()
    assert waited.returncode == 0, waited.stderr
    assert "a sync is running; waiting up to 30 s" in waited.stderr
    assert json.loads(waited.stdout)["synced"][0]["status"] == "done"
    assert stack.meetings()[meeting_id]["title"] == "Late"
