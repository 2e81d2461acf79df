"""Background work on Cloud Tasks, measured (issue 11): ``python -m bench --only tasks``.

Against gunicorn (2 workers x 4 threads) in tasks mode with the production debounce (2 s),
the Cloud Tasks emulator dispatching with OIDC tokens, the Datastore emulator:

* ``latency``  — trigger-to-meeting time (a rename until the vendor shows the new title) at
                 1, 10 and 100 calendars renamed at once, each firing its own trigger.
* ``storms``   — a sequential storm (changes made one after another, each firing a trigger
                 through the add-on host, as Calendar would) and a 1-second storm (1,000
                 triggers for one calendar fired as fast as 16 clients can): listings,
                 provider calls, tasks created vs coalesced.
* ``fairness`` — another user's rename while one tenant's four 25,000-event calendars are in
                 their initial sync, with time slices (ours) and without (one task per
                 listing, ``ADDON_SLICE_PAGES`` past the listing's size) side by side.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from bench.common import percentile, reset_datastore, table
from tests.procs import (
    EmulatorSide,
    Gunicorn,
    Trigger,
    burst,
    create_conferences,
    emulator_side,
    install_deployment,
    settle_calendar,
    wait_for,
)

DEBOUNCE = "2"


def log(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


@contextmanager
def tasks_backend(env: Any, side: EmulatorSide, **extra: str) -> Iterator[Gunicorn]:
    reset_datastore(env.datastore_host)
    side.control("POST", "/_emulator/reset")
    side.conferencing.reset()
    side.tokens.clear()
    addon = Gunicorn(
        emulator_url=side.url,
        datastore_host=env.datastore_host,
        project=env.project,
        workers=2,
        threads=4,
        lease_seconds=30,
        extra_env={"ADDON_SYNC_DEBOUNCE_SECONDS": DEBOUNCE, **extra},
    ).start()
    try:
        install_deployment(side, addon)
        yield addon
    finally:
        addon.stop()


def _title_of(side: EmulatorSide, meeting_id: str) -> str | None:
    meeting = side.conferencing.meetings()
    for m in meeting:
        if m["id"] == meeting_id:
            return str(m.get("title"))
    return None


def _shows(side: EmulatorSide, meeting_id: str, title: str) -> bool:
    return _title_of(side, meeting_id) == title


def _all_idle(store: Any, calendars: list[str]) -> bool:
    """Every calendar has its token and nothing left to do (its initial sync is done)."""
    for calendar_id in calendars:
        state = store.get_calendar(calendar_id)
        if state is None or not state.sync_token or state.due or state.lease_owner:
            return False
    return True


def _all_started(store: Any, calendars: list[str]) -> bool:
    states = [store.get_calendar(c) for c in calendars]
    return all(s is not None and (s.lease_owner or s.cursor or s.sync_token) for s in states)


def _syncing(store: Any, calendars: list[str]) -> list[str]:
    return [c for c in calendars if not _all_idle(store, [c])]


def _rename_and_time(
    side: EmulatorSide, addon: Gunicorn, user: str, event_id: str, meeting_id: str, title: str
) -> float:
    """Rename the event, fire its trigger, and wait until the vendor shows the new title."""
    started = time.monotonic()
    side.calendar(user).events().patch(
        calendarId=user, eventId=event_id, body={"summary": title}
    ).execute()
    Trigger(side, addon, user, user).fire()
    wait_for(lambda: _title_of(side, meeting_id) == title, 120, f"{title} applied")
    return time.monotonic() - started


def _parallel(jobs: list[Callable[[], float]], threads: int = 16) -> list[float]:
    with ThreadPoolExecutor(max_workers=min(threads, len(jobs))) as pool:
        return list(pool.map(lambda job: job(), jobs))  # re-raises a job's failure


def latency(env: Any, side: EmulatorSide, levels: list[int], rounds: int) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for n in levels:
        with tasks_backend(env, side) as addon:
            users = [f"user{i}@example.com" for i in range(n)]
            targets = []
            for user in users:
                event = create_conferences(side, user, 1)[0]
                targets.append((user, event["id"]))
            store = env.store()
            wait_for(functools.partial(_all_idle, store, users), 300, "every initial sync")
            side.silence()  # from here on each rename fires its one trigger by hand
            meetings = {m["eventId"]: m["id"] for m in side.conferencing.meetings()}
            samples: list[float] = []
            for r in range(rounds):
                jobs: list[Callable[[], float]] = [
                    functools.partial(
                        _rename_and_time, side, addon, u, e, meetings[e], f"Round {r}"
                    )
                    for u, e in targets
                ]
                samples.extend(_parallel(jobs))
            rows[str(n)] = {
                "calendars": n,
                "samples": len(samples),
                "p50": round(percentile(samples, 0.5), 3),
                "p95": round(percentile(samples, 0.95), 3),
                "max": round(max(samples), 3),
            }
            log(f"latency {n}: {rows[str(n)]}")
    out: dict[str, Any] = {"debounce_seconds": float(DEBOUNCE), "levels": rows}
    out["table"] = table(
        f"Trigger to meeting (tasks mode, debounce {DEBOUNCE} s, gunicorn -w 2 --threads 4)",
        ["calendars renamed at once", "samples", "p50 s", "p95 s", "max s"],
        [[str(v["calendars"]), str(v["samples"]), f"{v['p50']:.2f}", f"{v['p95']:.2f}",
          f"{v['max']:.2f}"] for v in rows.values()],
    )  # fmt: skip
    return out


def storms(env: Any, side: EmulatorSide, sequential: int, burst_size: int) -> dict[str, Any]:
    user = "storm@example.com"
    out: dict[str, Any] = {}
    with tasks_backend(env, side) as addon:
        event = create_conferences(side, user, 1)[0]
        settle_calendar(side, addon, env.store(), user, user)
        meeting_id = side.conferencing.meetings()[0]["id"]
        api = side.calendar(user)
        for name, run in (("sequential", True), ("one_second", False)):
            lists0, calls0 = side.list_calls(), len(side.provider_calls("applied"))
            tasks0 = side.tasks_stats()
            started = time.monotonic()
            title = f"{name} end"
            if run:
                side.notifications(dropRate=0.0)  # every change fires a trigger, in order
                for i in range(sequential):
                    last = i == sequential - 1
                    body = {"summary": title if last else f"{name} {i}"}
                    api.events().patch(calendarId=user, eventId=event["id"], body=body).execute()
                fired = time.monotonic() - started
                changes = sequential
            else:
                side.silence()
                api.events().patch(
                    calendarId=user, eventId=event["id"], body={"summary": title}
                ).execute()
                trigger = Trigger(side, addon, user, user)
                fired = burst(trigger.fire, burst_size, 16)
                changes = 1
            wait_for(functools.partial(_shows, side, meeting_id, title), 120, "storm applied")
            side.settle(60)
            tasks1 = side.tasks_stats()
            out[name] = {
                "changes": changes,
                "triggers": sequential if run else burst_size,
                "fire_seconds": round(fired, 2),
                "seconds_until_applied": round(time.monotonic() - started, 2),
                "list_calls": side.list_calls() - lists0,
                "provider_calls": len(side.provider_calls("applied")) - calls0,
                "tasks_created": tasks1["created"] - tasks0["created"],
                "tasks_coalesced": tasks1["deduplicated"] - tasks0["deduplicated"],
            }
            log(f"storm {name}: {out[name]}")
        side.silence()
    rows = [
        [k, str(v["triggers"]), f"{v['fire_seconds']:.1f}", str(v["list_calls"]),
         str(v["provider_calls"]), str(v["tasks_created"]), str(v["tasks_coalesced"])]
        for k, v in out.items()
    ]  # fmt: skip
    out["table"] = table(
        f"Trigger storms in tasks mode (debounce {DEBOUNCE} s)",
        ["storm", "triggers", "firing s", "events.list", "provider calls", "tasks created",
         "tasks coalesced"],
        rows,
    )  # fmt: skip
    return out


def fairness(env: Any, side: EmulatorSide, events: int, calendars: int) -> dict[str, Any]:
    out: dict[str, Any] = {"events_per_calendar": events, "calendars": calendars}
    variants = {"ours (slices of 4 pages / 10 s)": {}, "one task per listing": {
        "ADDON_SLICE_PAGES": "1000", "ADDON_SLICE_SECONDS": "100000"}}  # fmt: skip
    for label, extra in variants.items():
        with tasks_backend(env, side, **extra) as addon:
            other = "other@example.com"
            event = create_conferences(side, other, 1)[0]
            settle_calendar(side, addon, env.store(), other, other)
            meeting_id = side.conferencing.meetings()[0]["id"]
            big = [f"tenant{i}@example.com" for i in range(calendars)]
            for user in big:
                side.user(user)
                side.control("POST", f"/_emulator/calendars/{user}/seed", {"count": events})
            side.notifications(dropRate=0.0)
            for user in big:  # the first conference starts each calendar's initial sync
                create_conferences(side, user, 1)
            store = env.store()
            wait_for(functools.partial(_all_started, store, big), 60, "the initial syncs")
            busy = _syncing(store, big)
            seconds = _rename_and_time(side, addon, other, event["id"], meeting_id, "Renamed")
            still = _syncing(store, big)
            out[label] = {
                "rename_seconds": round(seconds, 2),
                "big_calendars_syncing_at_rename": len(busy),
                "still_syncing_when_applied": len(still),
            }
            log(f"fairness {label}: {out[label]}")
            wait_for(functools.partial(_all_idle, store, big), 600, "the initial syncs to end")
    rows = [[k, f"{v['rename_seconds']:.2f}", str(v["big_calendars_syncing_at_rename"]),
             str(v["still_syncing_when_applied"])]
            for k, v in out.items() if isinstance(v, dict)]  # fmt: skip
    out["table"] = table(
        f"Fair share: another user's rename during {calendars} initial syncs of {events:,} "
        f"events (debounce {DEBOUNCE} s)",
        ["variant", "rename to meeting s", "initial syncs running", "still running after"],
        rows,
    )
    return out


def tasks_scenarios(env: Any) -> dict[str, Any]:
    quick = env.quick
    with emulator_side() as side:
        lat = latency(env, side, [1, 3] if quick else [1, 10, 100], 2 if quick else 5)
        st = storms(env, side, 20 if quick else 300, 50 if quick else 1000)
        fair = fairness(env, side, 3000 if quick else 25_000, 2 if quick else 4)
    figures = {"latency": lat, "storms": st, "fairness": fair}
    return {**figures, "table": "\n".join(f["table"] for f in figures.values())}
