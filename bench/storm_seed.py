"""The trigger storm for the seed port: one whole ``syncEvents`` run per trigger, at most
``clients`` at a time (Apps Script runs trigger executions concurrently), bounded in count
and time. BASELINE ONLY."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import google.oauth2.credentials
from googleapiclient.discovery import build

from addon.store.records import Conference
from bench.baseline_seed import SeedSync, ThirdParty, UserProperties
from tests.procs import EmulatorSide


def seed_storm(
    side: EmulatorSide,
    user: str,
    token: str,
    confs: Sequence[Conference],
    triggers: int,
    clients: int,
    deadline_s: float = 180.0,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        props = UserProperties(Path(tmp) / "props.json")
        props.set_property("syncToken", token)
        lists0 = side.list_calls()
        calls0 = len(side.provider_calls())
        remaining = [triggers]
        lock = threading.Lock()
        errors: dict[str, int] = {}
        wanted = {c.conference_id for c in confs}
        done_at: list[float] = []
        t0 = time.monotonic()
        stop_at = t0 + deadline_s

        def handled() -> bool:
            deleted = {
                c["meetingId"]
                for c in side.provider_calls()[calls0:]
                if c["op"] == "delete" and c["status"] < 500
            }
            return wanted <= deleted

        def worker() -> None:
            creds = google.oauth2.credentials.Credentials(token=side.user(user))
            service = build(
                "calendar", "v3", credentials=creds, static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": side.url + "/calendar/v3/"},
            )  # fmt: skip
            third = ThirdParty(side.url + "/_conferencing")
            seed = SeedSync(service, props, third, null_safe=True)
            while time.monotonic() < stop_at:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                try:
                    seed.sync_events({"calendarId": user})
                except Exception as exc:  # the seed has no error handling: count, go on
                    with lock:
                        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                if not done_at and handled():
                    done_at.append(time.monotonic() - t0)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(deadline_s + 30)
        total = time.monotonic() - t0
        calls = side.provider_calls()[calls0:]
        deletes: dict[str, int] = {}
        for c in calls:
            if c["op"] == "delete":
                deletes[str(c["meetingId"])] = deletes.get(str(c["meetingId"]), 0) + 1
        return {
            "fire_seconds": total,
            "runs": triggers - remaining[0],
            "list_calls": side.list_calls() - lists0,
            "provider_calls": len(calls),
            "seconds_until_applied": done_at[0] if done_at else total,
            "duplicate_deletes": sum(n - 1 for n in deletes.values()),
            "updates_applied": sum(1 for c in calls if c["op"] == "update"),
            "errors": errors,
        }
