"""What the vendor provider tests share: a fake vendor served over real HTTP and reset for each
test, a provider built from its options, a meeting request, event times relative to now, a
free port nobody listens on, and setting a fake's fault over its control API."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Protocol, TypeVar

import requests
from flask import Flask

from addon.providers.base import ConferenceProvider, MeetingRequest
from addon.providers.registry import build_provider
from localgoogle.server import serve

ZONE = "Europe/Paris"


class Resettable(Protocol):
    def reset(self) -> None: ...


S = TypeVar("S", bound=Resettable)
P = TypeVar("P", bound=ConferenceProvider)


def served(state: S, create_app: Callable[[S], Flask]) -> Iterator[tuple[S, str]]:
    """A fake's state and its URL while a module's tests run (the body of a module fixture)."""
    with serve(create_app(state)) as url:
        yield state, url


def fresh(server: tuple[S, str]) -> tuple[S, str]:
    """The served fake, reset for one test: a server per module, a clean vendor per test."""
    server[0].reset()
    return server


def built(kind: type[P], name: str, options: dict[str, Any]) -> P:
    """The registered provider ``name`` built from ``options``, as its class."""
    provider = build_provider(name, options)
    assert isinstance(provider, kind)
    return provider


def when(hours: float) -> dict[str, str]:
    """A Calendar EventDateTime ``hours`` from now (whole minutes, UTC offset written out)."""
    moment = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=hours)
    return {"dateTime": moment.isoformat(), "timeZone": ZONE}


def epoch_of(value: dict[str, str]) -> int:
    return int(datetime.fromisoformat(value["dateTime"]).timestamp())


def meeting_request(**overrides: Any) -> MeetingRequest:
    fields: dict[str, Any] = {
        "calendar_id": "cal@example.com",
        "event_id": "evt1",
        "solution_id": "vendor",
        "summary": "Planning",
        "start": when(24),
        "end": when(25),
        "time_zone": ZONE,
        "attendees": ("ada@example.com", "bob@example.com"),
        "organizer": "ada@example.com",
    }
    fields.update(overrides)
    return MeetingRequest(**fields)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fault(base: str, mode: str, **more: Any) -> None:
    r = requests.post(f"{base}/_control/faults", json={"mode": mode, **more}, timeout=5)
    assert r.status_code == 204, r.text


def http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.fromtimestamp(time.time() + seconds_from_now, UTC), usegmt=True)
