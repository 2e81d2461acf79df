"""What the vendor provider tests share: a meeting request, event times relative to now, a
free port nobody listens on, and setting a fake's fault over its control API."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import requests

from addon.providers.base import MeetingRequest

ZONE = "Europe/Paris"


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
