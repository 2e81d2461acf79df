"""Shared pieces of the benchmarks and the fault campaign: a Datastore emulator of their own,
fast data set-up, figures (median/min/max) and tables.

Set-up writes go through the emulator's model in-process (the same code its HTTP API runs,
minus HTTP) and through Datastore ``put_multi``; only what is measured goes over HTTP.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import os
import platform
import statistics
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from addon.calendar.client import CalendarClient
from addon.conference_data import conference_data_resource, join_digest, owner_parameters
from addon.providers.http import HttpResponse
from addon.providers.rest import RestProvider
from addon.settings import Solution
from addon.store.datastore import Store
from addon.store.records import CalendarState, Conference, EventSnapshot
from addon.sync.keys import create_key
from addon.sync.provider_calls import meeting_request
from bench.floor import put_records
from localgoogle.datastore_emulator import DatastoreEmulator
from localgoogle.vendors.rest import ConferencingState
from tests.procs import RECORDED, SOLUTION, EmulatorSide

BENCH_SOLUTION = Solution(SOLUTION, "Web conference", "https://x.example/l.png", "rest", {})
_ = RECORDED


# ---- processes ---------------------------------------------------------------------------
@contextlib.contextmanager
def datastore(host_port: str | None, project: str) -> Iterator[tuple[str, str]]:
    """Use the given Datastore emulator, or start one of our own for the run."""
    if host_port:
        previous = os.environ.get("DATASTORE_EMULATOR_HOST")
        os.environ["DATASTORE_EMULATOR_HOST"] = host_port
        try:
            yield host_port, project
        finally:
            if previous is None:
                os.environ.pop("DATASTORE_EMULATOR_HOST", None)
            else:
                os.environ["DATASTORE_EMULATOR_HOST"] = previous
        return
    emu = DatastoreEmulator(project=project).start()
    os.environ["DATASTORE_EMULATOR_HOST"] = emu.host_port
    try:
        yield emu.host_port, project
    finally:
        emu.stop()


def reset_datastore(host_port: str) -> None:
    import urllib.request

    req = urllib.request.Request(f"http://{host_port}/reset", method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:  # loopback emulator
        r.read()


def machine() -> dict[str, Any]:
    mem_gb = 0.0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "system": platform.platform(),
        "load_at_start": os.getloadavg()[0],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# ---- figures -----------------------------------------------------------------------------
def spread(values: Sequence[float]) -> dict[str, float]:
    """Median with min and max (what every table cell shows)."""
    if not values:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {
        "median": float(statistics.median(values)),
        "min": float(min(values)),
        "max": float(max(values)),
        "n": len(values),
    }


def cell(s: Mapping[str, float], fmt: str = "{:.2f}") -> str:
    if not s.get("n"):
        return "-"
    if s["min"] == s["max"]:
        return fmt.format(s["median"])
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}..{fmt.format(s['max'])})"


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
        for r in rows
    ]
    return "\n".join([f"\n### {title}\n", line, sep, *body])


# ---- data set-up -------------------------------------------------------------------------
class InProcessTransport:
    """``HttpTransport`` straight into a ``ConferencingState`` (fast set-up, no HTTP)."""

    def __init__(self, state: ConferencingState) -> None:
        self.state = state

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        json: Any = None,
        data: Mapping[str, str] | bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        parts = urlsplit(url).path.split("/meetings", 1)[1].strip("/").split("/")
        meeting_id = parts[0] or None
        op = {"POST": "create", "PATCH": "update", "DELETE": "delete"}[method]
        if len(parts) > 1:
            op = "occurrence"
        status, body = self.state.handle(
            method, op, meeting_id, headers.get("Idempotency-Key"), None, json or {}
        )
        return HttpResponse(status, b"" if body is None else jsonlib.dumps(body).encode())


def put_conferences(store: Store, conferences: Sequence[Conference]) -> None:
    """Write conference records in batches of 500 (set-up only; the product writes them from
    the sync). Uses the store's own entity mapping, as the floor's writes do."""
    put_records(store, conferences)


def _due_marker_key(client: Any, calendar_id: str) -> Any | None:
    """The key of the calendar's due marker where the store keeps one (a child entity that
    exists while the calendar is due, as ``CalendarRecords._put_calendar`` writes it); None
    where due calendars are found by an indexed ``due`` property instead."""
    from addon.store import entities

    kind = getattr(entities, "DUE_MARKER", None)
    return client.key(entities.CALENDAR, calendar_id, kind, "due") if kind else None


def put_calendars(store: Store, states: Sequence[CalendarState]) -> None:
    """Write calendar states in batches of 500, with the due markers of the due ones
    (set-up only). Uses the store's own entity mapping."""
    from google.cloud import datastore as gds

    from addon.store.entities import CALENDAR, CALENDAR_UNINDEXED, calendar_to_props

    client = store._client
    entities = []
    for s in states:
        entity = gds.Entity(
            client.key(CALENDAR, s.calendar_id), exclude_from_indexes=CALENDAR_UNINDEXED
        )
        entity.update(calendar_to_props(s))
        entities.append(entity)
        marker = _due_marker_key(client, s.calendar_id) if s.due else None
        if marker is not None:
            entities.append(gds.Entity(marker))
    for i in range(0, len(entities), 500):
        client.put_multi(entities[i : i + 500])


def conference_events(
    side: EmulatorSide, store: Store, user: str, count: int, tag: str = "a"
) -> list[Conference]:
    """``count`` events in ``user``'s calendar carrying our conference (as Calendar stores it
    after onCreate), their meetings on the conferencing server, and our confirmed records."""
    side.user(user)  # the user and their primary calendar
    model = side.app.config["EMULATOR_STATE"]
    provider = RestProvider(
        {"base_url": "http://in-process/_conferencing"},
        http=InProcessTransport(side.conferencing),
    )
    solution = BENCH_SOLUTION
    start = datetime(2030, 1, 7, 9, tzinfo=UTC)
    out = []
    for i in range(count):
        event_id = f"c0{tag}{i:09d}"
        begin = start + timedelta(minutes=30 * i)
        body: dict[str, Any] = {
            "id": event_id,
            "summary": f"Meeting {i}",
            "start": {"dateTime": begin.isoformat().replace("+00:00", "Z")},
            "end": {"dateTime": (begin + timedelta(minutes=25)).isoformat().replace("+00:00", "Z")},
            "attendees": [{"email": "bob@example.com"}],
        }
        request = meeting_request(user, event_id, solution, body)
        key = create_key(solution.id, user, event_id, 0)
        meeting = provider.create(request, idempotency_key=key)
        body["conferenceData"] = conference_data_resource(
            meeting,
            solution_name=solution.name,
            icon_uri=solution.logo_url,
            parameters=owner_parameters(user, event_id, solution.id),
        )
        event = model.events_insert(user, user, body, 1)
        out.append(
            Conference(
                calendar_id=user,
                event_id=event_id,
                solution_id=solution.id,
                conference_id=meeting.meeting_id,
                meeting=meeting,
                snapshot=EventSnapshot.from_event(event),
                confirmed=True,
                written_digest=join_digest(meeting),
            )
        )
    put_conferences(store, out)
    return out


def take_token(side: EmulatorSide, user: str, lookback_days: int = 1) -> str:
    """The sync token our engine's full sync would store now (same window, same paging)."""
    import google.oauth2.credentials

    creds = google.oauth2.credentials.Credentials(token=side.user(user))
    client = CalendarClient(creds, api_endpoint=side.url + "/calendar/v3/")
    time_min = (datetime.now(UTC) - timedelta(days=lookback_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    token = None
    for page in client.iter_pages(user, time_min=time_min):
        token = page.get("nextSyncToken") or token
    assert token
    return token


def set_calendar(store: Store, calendar_id: str, token: str, user: str) -> None:
    """Our state for a subscribed calendar whose last sync stored ``token``, nothing due."""
    put_calendars(
        store,
        [
            CalendarState(
                calendar_id=calendar_id,
                subscribed=True,
                subscribed_by=user,
                sync_token=token,
                token_generation=1,
                token_stored_at=datetime.now(UTC),
            )
        ],
    )
    marker = _due_marker_key(store._client, calendar_id)
    if marker is not None:
        store._client.delete(marker)  # a run that left work behind left the calendar due
    for change in store.list_pending(calendar_id):
        store.delete_pending(calendar_id, change.event_id)


def change_events(
    side: EmulatorSide, user: str, conferences: Sequence[Conference], plain: int, tag: str
) -> None:
    """Edit every conference event's title and add ``plain`` ordinary events, interleaved in
    ten rounds so changes carrying conferences are spread through the listing."""
    model = side.app.config["EMULATOR_STATE"]
    rounds = 10
    per_conf = -(-len(conferences) // rounds)
    per_plain = -(-plain // rounds)
    seeded = 0
    for r in range(rounds):
        n = min(per_plain, plain - seeded)
        if n > 0:
            model.seed(
                user,
                n,
                datetime(2030, 6, 1, tzinfo=UTC) + timedelta(days=r),
                interval=timedelta(minutes=1),
                duration=timedelta(minutes=30),
                summary="Filler",
            )
            seeded += n
        for c in conferences[r * per_conf : (r + 1) * per_conf]:
            model.events_patch(user, user, c.event_id, {"summary": f"{c.snapshot.summary} ({tag})"})
