"""Control API and injected faults."""

from __future__ import annotations

import time

import pytest
import requests
from googleapiclient.errors import HttpError

from .conftest import Emu, event_body
from .discovery_schema import validate_response


def test_users_idempotent_and_reset(emu: Emu, alice) -> None:
    first = emu.control("POST", "users", {"email": "carol@example.com"})
    assert first["email"] == "carol@example.com" and first["accessToken"]
    assert emu.control("POST", "users", {"email": "carol@example.com"}) == first
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    emu.control("POST", "reset")
    assert (
        emu.control("POST", "users", {"email": "carol@example.com"})["accessToken"]
        != first["accessToken"]
    )
    response = emu.raw("GET", "calendars/primary/events", first["accessToken"])
    assert response.status_code == 401


def test_stats(emu: Emu, alice) -> None:
    emu.control("POST", "stats/reset")
    alice.events().list(calendarId="primary").execute()
    alice.events().list(calendarId="primary").execute()
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert emu.control("GET", "stats") == {"requests": {"events.list": 2, "events.insert": 1}}
    emu.control("POST", "stats/reset")
    assert emu.control("GET", "stats") == {"requests": {}}


def test_seed_and_admin_view(emu: Emu, alice) -> None:
    result = emu.control(
        "POST", "calendars/alice@example.com/seed", {"count": 5, "start": "2030-01-01T00:00:00Z"}
    )
    assert result["count"] == 5
    created = alice.events().insert(calendarId="primary", body=event_body()).execute()
    alice.events().delete(calendarId="primary", eventId=created["id"]).execute()
    items = emu.control("GET", "calendars/alice@example.com/events")["items"]
    assert len(items) == 6 and items[-1]["status"] == "cancelled"
    for item in items:
        validate_response("calendar.events.get", item)
    response = requests.post(
        f"{emu.base_url}/_emulator/calendars/nobody/seed", json={"count": 1}, timeout=5
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (429, "rateLimitExceeded"),
        (403, "userRateLimitExceeded"),
        (403, "quotaExceeded"),
        (500, "backendError"),
        (503, "backendError"),
    ],
)
def test_fault_counts(emu: Emu, alice, status: int, reason: str) -> None:
    emu.control(
        "POST",
        "faults",
        {"rules": [{"method": "events.list", "status": status, "reason": reason, "count": 2}]},
    )
    for _ in range(2):
        with pytest.raises(HttpError) as err:
            alice.events().list(calendarId="primary").execute()
        assert err.value.resp.status == status and err.value.error_details[0]["reason"] == reason
    alice.events().list(calendarId="primary").execute()
    alice.events().insert(calendarId="primary", body=event_body()).execute()


def test_fault_rate_latency_and_clear(emu: Emu, alice) -> None:
    emu.control(
        "POST",
        "faults",
        {"seed": 7, "rules": [{"method": "calendar.events.get", "status": 503, "rate": 0.5}]},
    )
    created = alice.events().insert(calendarId="primary", body=event_body()).execute()
    outcomes = []
    for _ in range(20):
        try:
            alice.events().get(calendarId="primary", eventId=created["id"]).execute()
            outcomes.append(True)
        except HttpError as error:
            assert error.resp.status == 503
            outcomes.append(False)
    assert 3 < outcomes.count(False) < 17
    requests.delete(f"{emu.base_url}/_emulator/faults", timeout=5)
    emu.control("POST", "faults", {"method": "events.insert", "rate": 0, "latencySeconds": 0.2})
    started = time.perf_counter()
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert time.perf_counter() - started >= 0.2
    assert emu.control("GET", "faults")["rules"][0]["method"] == "calendar.events.insert"


def test_client_retries_through_faults(emu: Emu, alice) -> None:
    emu.control("POST", "faults", {"rules": [{"method": "events.list", "status": 503, "count": 1}]})
    assert alice.events().list(calendarId="primary").execute(num_retries=2)["items"] == []


def test_clock(emu: Emu) -> None:
    before = emu.state.clock.now()
    after = emu.control("POST", "clock", {"advanceSeconds": 3600})["now"]
    assert after > before.isoformat()[:19]


def test_unknown_api_route_google_format(emu: Emu) -> None:
    token = emu.token("alice@example.com")
    response = emu.raw("GET", "nothing/here", token)
    assert response.status_code == 404 and response.json()["error"]["code"] == 404


def test_schema_validator_rejects_unknown_fields_and_types() -> None:
    good = {"kind": "calendar#event", "id": "abc", "start": {"dateTime": "2030-01-01T00:00:00Z"}}
    validate_response("calendar.events.get", good)
    with pytest.raises(AssertionError):
        validate_response("calendar.events.get", good | {"bogus": 1})
    with pytest.raises(AssertionError):
        validate_response("calendar.events.get", good | {"sequence": "1"})
    with pytest.raises(AssertionError):
        validate_response("calendar.events.list", {"items": [{"start": {"when": "x"}}]})
    with pytest.raises(AssertionError):
        validate_response("calendar.events.delete", {"x": 1}, 204)
    with pytest.raises(AssertionError):
        validate_response("calendar.events.get", {"error": {"code": 1}}, 404)
