"""The parts of a sync task that need no server: sealed tokens, task ids, bodies, settings."""

from __future__ import annotations

import base64
import json
import re

import pytest

from addon.sealing import SealError, TokenSealer
from addon.settings import Settings, SettingsError, from_env
from addon.tasks import names
from addon.tasks.body import BadTaskBody, TaskBody

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
TASK_ID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")  # Cloud Tasks' rule for task ids


def b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def test_a_sealed_token_opens_only_for_its_calendar() -> None:
    sealer = TokenSealer("a", {"a": KEY_A})
    sealed = sealer.seal("ya29.secret-token", "alice@example.com")
    assert "ya29" not in json.dumps(sealed)
    assert sealer.open(sealed, "alice@example.com") == "ya29.secret-token"
    with pytest.raises(SealError):
        sealer.open(sealed, "mallory@example.com")


def test_every_tampered_part_is_refused() -> None:
    sealer = TokenSealer("a", {"a": KEY_A})
    sealed = sealer.seal("token", "cal")
    for part in ("nonce", "data"):
        raw = bytearray(base64.urlsafe_b64decode(sealed[part] + "=="))
        raw[0] ^= 1
        forged = {**sealed, part: base64.urlsafe_b64encode(bytes(raw)).decode()}
        with pytest.raises(SealError):
            sealer.open(forged, "cal")
    for bad in (None, "x", {"kid": "a"}, {**sealed, "kid": "zz"}, {**sealed, "data": "!!"}):
        with pytest.raises(SealError):
            sealer.open(bad, "cal")


def test_rotation_seals_with_the_first_key_and_opens_with_all() -> None:
    old = TokenSealer("a", {"a": KEY_A})
    rotated = TokenSealer("b", {"b": KEY_B, "a": KEY_A})
    sealed_before = old.seal("t1", "cal")
    assert rotated.open(sealed_before, "cal") == "t1"
    sealed_after = rotated.seal("t2", "cal")
    assert sealed_after["kid"] == "b"
    with pytest.raises(SealError):
        old.open(sealed_after, "cal")


def test_token_keys_setting_is_parsed_and_checked() -> None:
    s = Settings(token_keys=f"new:{b64(KEY_B)}, old:{b64(KEY_A)}")
    assert s.sealing_keys() == ("new", {"new": KEY_B, "old": KEY_A})
    derived = Settings(secret_key="x" * 40).sealing_keys()
    assert derived[0] == "s0" and len(derived[1]["s0"]) == 32
    assert derived != Settings(secret_key="y" * 40).sealing_keys()
    for bad in ("nokey", f"a:{b64(KEY_A[:16])}", f"a:{b64(KEY_A)},a:{b64(KEY_B)}", "a b:xx"):
        with pytest.raises(SettingsError, match="ADDON_TOKEN_KEYS"):
            from_env({"ADDON_TOKEN_KEYS": bad})


def test_tasks_settings_in_production_must_name_the_queue_and_invoker() -> None:
    base = {
        "ADDON_ENV": "production",
        "ADDON_BASE_URL": "https://addon.example.com",
        "ADDON_SECRET_KEY": "k" * 40,
        "ADDON_SERVICE_ACCOUNT": "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
    }
    with pytest.raises(SettingsError, match="ADDON_TASKS_QUEUE"):
        from_env(base)
    queue = {"ADDON_TASKS_QUEUE": "projects/p/locations/europe-west1/queues/sync"}
    with pytest.raises(SettingsError, match="ADDON_TASKS_INVOKER"):
        from_env({**base, **queue})
    invoker = {"ADDON_TASKS_INVOKER": "invoker@p.iam.gserviceaccount.com"}
    assert from_env({**base, **queue, **invoker}).sync_mode == "tasks"
    assert from_env({**base, "ADDON_SYNC_MODE": "inline"}).sync_mode == "inline"
    with pytest.raises(SettingsError, match="ADDON_TASKS_API_ENDPOINT"):
        from_env({**base, **queue, **invoker, "ADDON_TASKS_API_ENDPOINT": "http://127.0.0.1:1"})
    with pytest.raises(SettingsError, match="ADDON_TASKS_QUEUE must be projects/"):
        from_env({"ADDON_TASKS_QUEUE": "sync"})
    with pytest.raises(SettingsError, match="ADDON_SYNC_MODE"):
        from_env({"ADDON_SYNC_MODE": "background"})


def test_every_trigger_in_a_window_gets_one_task_run_at_its_end() -> None:
    first, at = names.debounced("alice@example.com", 1000.1, 2.0)
    same, at_same = names.debounced("alice@example.com", 1001.9, 2.0)
    later, at_later = names.debounced("alice@example.com", 1002.0, 2.0)
    other, _ = names.debounced("bob@example.com", 1000.1, 2.0)
    assert first == same and at == at_same == 1002.0
    assert later != first and at_later == 1004.0
    assert other != first
    # Hashed prefixes, as Google recommends; the calendar id itself is not in the id.
    assert first.split("-")[0] == names.calendar_hash("alice@example.com")
    assert "alice" not in first


def test_task_ids_follow_cloud_tasks_rules_for_any_calendar_id() -> None:
    calendar = "c_" + "x" * 900 + "@group.calendar.google.com"
    ids = [
        names.debounced(calendar, 1e9, 2.0)[0],
        names.at_moment(calendar, "r", 1e9 + 0.5),
        names.continuation(calendar, "f" * 32, 12),
    ]
    assert all(TASK_ID.match(i) for i in ids), ids
    assert names.at_moment(calendar, "r", 10.0) != names.at_moment(calendar, "l", 10.0)


def test_task_body_round_trips_and_refuses_what_we_did_not_write() -> None:
    body = TaskBody("alice@example.com", "retry", {"kid": "a", "nonce": "n", "data": "d"}, 5.0)
    assert TaskBody.parse(body.to_json()) == body
    assert TaskBody.parse(TaskBody("c", "lease").to_json()) == TaskBody("c", "lease")
    bad_bodies = [
        b"",
        b"[]",
        b"{",
        json.dumps({"v": 2, "calendarId": "c", "kind": "trigger"}).encode(),
        json.dumps({"v": 1, "calendarId": "", "kind": "trigger"}).encode(),
        json.dumps({"v": 1, "calendarId": "c", "kind": "nap"}).encode(),
        json.dumps({"v": 1, "calendarId": "c", "kind": "trigger", "token": "plain"}).encode(),
        json.dumps({"v": 1, "calendarId": "c", "kind": "trigger", "token": {"k": 1}}).encode(),
    ]
    for raw in bad_bodies:
        with pytest.raises(BadTaskBody):
            TaskBody.parse(raw)
