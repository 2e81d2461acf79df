"""events.watch notifications to a local receiver, retries, channels.stop, push faults."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request
from googleapiclient.errors import HttpError

from localgoogle.server import serve

from .conftest import Emu, event_body


class Receiver:
    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self.statuses: list[int] = []  # answered in order, then 200
        self.lock = threading.Lock()
        self.url = ""

    def app(self) -> Flask:
        app = Flask("receiver")

        @app.post("/hook")
        def hook() -> tuple[str, int]:
            with self.lock:
                self.calls.append(dict(request.headers))
                self.bodies.append(request.get_data())
                status = self.statuses.pop(0) if self.statuses else 200
            return "", status

        return app

    def states(self) -> list[str]:
        return [c["X-Goog-Resource-State"] for c in self.calls]


@pytest.fixture
def receiver(emu: Emu) -> Iterator[Receiver]:
    rec = Receiver()
    with serve(rec.app()) as base:
        rec.url = f"{base}/hook"
        emu.control("POST", "push", {"retryBaseSeconds": 0.01})
        yield rec
        emu.state.push.flush(5)


def watch(service: Any, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    body = {"id": "chan-1", "type": "web_hook", "address": receiver.url, "token": "tok"} | extra
    channel: dict[str, Any] = service.events().watch(calendarId="primary", body=body).execute()
    return channel


def test_sync_then_exists(emu: Emu, alice, receiver: Receiver) -> None:
    channel = watch(alice, receiver)
    assert (
        channel["kind"] == "api#channel" and channel["id"] == "chan-1" and channel["token"] == "tok"
    )
    assert channel["resourceUri"].endswith(
        "/calendar/v3/calendars/alice@example.com/events?alt=json"
    )
    now_ms = emu.state.clock.now().timestamp() * 1000
    assert abs(int(channel["expiration"]) - (now_ms + 7 * 86400 * 1000)) < 60_000
    assert emu.state.push.flush(5)
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert emu.state.push.flush(5)
    assert receiver.states() == ["sync", "exists", "exists"]
    numbers = [int(c["X-Goog-Message-Number"]) for c in receiver.calls]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    first = receiver.calls[1]
    assert first["X-Goog-Channel-Id"] == "chan-1" and first["X-Goog-Channel-Token"] == "tok"
    assert first["X-Goog-Resource-Id"] == channel["resourceId"]
    assert first["X-Goog-Resource-Uri"] == channel["resourceUri"]
    assert first["X-Goog-Channel-Expiration"].endswith("GMT")
    assert receiver.bodies == [b"", b"", b""]
    # Changes of other calendars do not notify this channel.
    bob = emu.service("bob@example.com")
    bob.events().insert(calendarId="primary", body=event_body()).execute()
    assert emu.state.push.flush(5) and len(receiver.calls) == 3


def test_retries_only_on_5xx(emu: Emu, alice, receiver: Receiver) -> None:
    watch(alice, receiver)
    assert emu.state.push.flush(5)
    receiver.statuses = [503, 500, 200]
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert emu.state.push.flush(5)
    assert receiver.states() == ["sync", "exists", "exists", "exists"]
    receiver.statuses = [404, 429]
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert emu.state.push.flush(5)
    assert len(receiver.calls) == 6


def test_retries_are_bounded(emu: Emu, alice, receiver: Receiver) -> None:
    emu.control("POST", "push", {"maxAttempts": 3})
    watch(alice, receiver)
    assert emu.state.push.flush(5)
    receiver.statuses = [503] * 10
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert emu.state.push.flush(5)
    assert len(receiver.calls) == 1 + 3


def test_stop_and_expiry(emu: Emu, alice, receiver: Receiver) -> None:
    channel = watch(alice, receiver)
    assert emu.state.push.flush(5)
    alice.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]}).execute()
    with pytest.raises(HttpError) as err:
        alice.channels().stop(
            body={"id": channel["id"], "resourceId": channel["resourceId"]}
        ).execute()
    assert err.value.resp.status == 404
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert emu.state.push.flush(5) and receiver.states() == ["sync"]
    watch(alice, receiver, id="chan-2", params={"ttl": "60"})
    assert emu.state.push.flush(5)
    emu.control("POST", "clock", {"advanceSeconds": 120})
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert emu.state.push.flush(5) and receiver.states() == ["sync", "sync"]


def test_channel_validation(alice, receiver: Receiver) -> None:
    for bad in ({"id": "x" * 65}, {"type": "email"}, {"address": "ftp://x"}, {"token": "t" * 257}):
        with pytest.raises(HttpError) as err:
            watch(alice, receiver, **bad)
        assert err.value.resp.status == 400
    watch(alice, receiver)
    with pytest.raises(HttpError) as err:
        watch(alice, receiver)
    assert err.value.resp.status == 400


def test_drop_and_duplicate_faults(emu: Emu, alice, receiver: Receiver) -> None:
    watch(alice, receiver)
    assert emu.state.push.flush(5)
    emu.control("POST", "push", {"dropRate": 1.0, "seed": 1})
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert emu.state.push.flush(5) and receiver.states() == ["sync"]
    emu.control("POST", "push", {"dropRate": 0.0, "duplicateRate": 1.0})
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert emu.state.push.flush(5) and receiver.states() == ["sync", "exists", "exists"]
    numbers = [c["X-Goog-Message-Number"] for c in receiver.calls[1:]]
    assert numbers[0] == numbers[1]
    emu.control("POST", "push", {"duplicateRate": 0.0, "delaySeconds": 0.2})
    alice.events().insert(calendarId="primary", body=event_body()).execute()
    assert len(receiver.calls) == 3
    assert emu.control("POST", "push/flush", {"timeout": 5})["flushed"] is True
    assert len(receiver.calls) == 4
