"""Sync that does not wait for the next trigger, measured (issue 14):
``python -m bench --only offline``.

* ``deletion``  — deletion-to-meeting-deleted latency when deletions fire **no**
  calendarNotificationTrigger (as Google documents the trigger), side by side: the trigger
  path alone (what the add-on did before: the meeting stays), push channels (debounce 2 s, as
  in production), and the sweep alone (push off; its periodic check compressed to 10 s and
  the sweep called every second, so a day's interval becomes seconds).
* ``renewals``  — channel renewals per hour for 10,000 calendars subscribed in the same
  minute, over four weeks, with the renewal jitter (ours) and without it: renewal times come
  from ``addon.channels.schedule.renew_at``, the function the renewal uses; a real run of
  channels opened through the add-on against the emulator checks that stored renewal times
  follow it.
* ``sweep``     — one sweep among 100, 1,000 and 10,000 subscribed calendars (each with a live
  channel and a periodic check a day ahead), 10 of them due, beside reading every calendar.

The stacks are in-process (the add-on's Flask app on a real socket, the Calendar, OAuth and
Cloud Tasks emulators, the Datastore emulator), in tasks mode with the production debounce.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from addon.channels.schedule import renew_at
from addon.settings import Settings
from addon.store.channels import ChannelRecord
from addon.store.records import CalendarState
from addon.sweep import sweep
from bench.common import cell, percentile, put_calendars, reset_datastore, spread, table
from tests.e2e.offline_support import ALICE, settle_all, turn_on
from tests.e2e.offline_support import sweep as call_sweep
from tests.e2e.stack import Stack, running_stack
from tests.e2e.test_tasks import conference_event, quick_solutions

PRODUCTION_DEBOUNCE = 2.0


def log(msg: str) -> None:
    print(f"[offline] {msg}", flush=True)


@contextmanager
def sweeping(stack: Stack, every: float) -> Iterator[None]:
    """Cloud Scheduler's part: the sweep every ``every`` seconds while the block runs."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            try:
                call_sweep(stack)
            except Exception as exc:  # a failed sweep is the next one's to make up
                log(f"sweep failed: {type(exc).__name__}")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _stack(env: Any, mode: str) -> Any:
    overrides: dict[str, Any] = {
        "sync_mode": "tasks",
        "debounce_seconds": PRODUCTION_DEBOUNCE,
        "lease_seconds": 10,
        "retry_base_seconds": 0.5,
    }
    if mode == "sweep only":
        overrides.update(push_channels=False, check_interval_seconds=10.0)
    return running_stack(env.project, quick_solutions, offline=mode != "trigger only", **overrides)


def deletion_latency(env: Any, samples: int, timeout: float) -> dict[str, Any]:
    out: dict[str, Any] = {"samples": samples, "timeout_seconds": timeout, "modes": {}}
    rows = []
    for mode in ("trigger only", "push", "sweep only"):
        reset_datastore(env.datastore_host)
        count = 2 if mode == "trigger only" else samples
        with _stack(env, mode) as stack:
            stack.control("POST", "/_emulator/addon/notifications", {"notifyDeletions": False})
            made = [conference_event(stack, f"Meeting {n}") for n in range(count)]
            settle_all(stack)
            if mode != "trigger only":
                assert turn_on(stack, ALICE).status_code == 200
                settle_all(stack)
            latencies: list[float] = []
            missed = 0
            with sweeping(stack, 1.0):
                for event, meeting_id in made:
                    started = time.monotonic()
                    stack.calendar(ALICE).events().delete(
                        calendarId=ALICE, eventId=event["id"]
                    ).execute()
                    while time.monotonic() - started < timeout:
                        if stack.meetings()[meeting_id]["deleted"]:
                            latencies.append(time.monotonic() - started)
                            break
                        time.sleep(0.05)
                    else:
                        missed += 1
        entry: dict[str, Any] = {
            "deleted": len(latencies),
            "missed": missed,
            "seconds": spread(latencies),
            "p95_seconds": percentile(latencies, 0.95) if latencies else None,
        }
        out["modes"][mode] = entry
        log(f"deletion via {mode}: {len(latencies)} of {count} deleted")
        rows.append(
            [mode, f"{len(latencies)} of {count}",
             cell(entry["seconds"]) if latencies else f"never (waited {timeout:g} s)",
             f"{entry['p95_seconds']:.2f}" if latencies else "-"]
        )  # fmt: skip
    header = ["path", "meetings deleted", "seconds to deleted, median (min..max)", "p95 s"]
    note = (
        "Deletions fire no trigger. Push: production debounce 2 s. Sweep only: periodic "
        "check every 10 s, sweep every 1 s (production: a day and 5 min, so up to about "
        "24 h 5 min)."
    )
    out["table"] = "\n".join(
        [table("Deletion to meeting deleted, deletions unnotified", header, rows), note]
    )
    return out


def _per_hour(times: list[float], start: float, end: float) -> Counter[int]:
    return Counter(int((t - start) // 3600) for t in times if start <= t < end)


def renewal_schedule(calendars: int, weeks: int, settings: Settings) -> dict[str, Any]:
    """Channels opened at t=0 for every calendar, each renewal opening the next channel at its
    renewal time: renewals per hour, with the jitter and without."""
    ttl = settings.channel_ttl_seconds
    before = settings.channel_renew_before_seconds
    out: dict[str, Any] = {"calendars": calendars, "weeks": weeks, "variants": {}}
    rows = []
    horizon = weeks * 7 * 86400.0
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    for label, jitter in (("ours (jitter)", settings.channel_jitter_seconds), ("no jitter", 0)):
        rng = random.Random(14)
        renewals: list[float] = []
        for _ in range(calendars):
            opened = 0.0
            while True:
                expires = epoch + timedelta(seconds=opened + ttl)
                at = renew_at(expires, renew_before=before, jitter=jitter, rng=rng) - epoch
                seconds = at.total_seconds()
                if seconds >= horizon:
                    break
                renewals.append(seconds)
                opened = seconds
        first = _per_hour(renewals, 0, 7 * 86400)
        last = _per_hour(renewals, horizon - 7 * 86400, horizon)
        entry = {
            "renewals": len(renewals),
            "peak_per_hour_week1": max(first.values(), default=0),
            "peak_per_hour_last_week": max(last.values(), default=0),
            "hours_with_renewals_last_week": len(last),
            "mean_per_hour": len(renewals) / (horizon / 3600),
        }
        out["variants"][label] = entry
        rows.append(
            [label, f"{entry['renewals']:,}", f"{entry['peak_per_hour_week1']:,}",
             f"{entry['peak_per_hour_last_week']:,}", str(entry["hours_with_renewals_last_week"]),
             f"{entry['mean_per_hour']:.0f}"]
        )  # fmt: skip
    header = [
        "renewal",
        f"renewals in {weeks} weeks",
        "peak / hour, week 1",
        f"peak / hour, week {weeks}",
        f"hours with renewals, week {weeks}",
        "mean / hour",
    ]
    out["table"] = table(
        f"Channel renewals for {calendars:,} calendars subscribed in the same minute", header, rows
    )
    return out


def real_renewals(env: Any, calendars: int) -> dict[str, Any]:
    """Channels opened through the add-on (delegated credentials, the emulator's Calendar):
    their stored renewal times fall in the window the schedule says, spread over it."""
    from tests.e2e.test_offline import SERVICE_ACCOUNT, grant_delegation

    reset_datastore(env.datastore_host)
    with running_stack(
        env.project,
        quick_solutions,
        offline=True,
        sync_mode="tasks",
        delegation="keyless",
        delegation_service_account=SERVICE_ACCOUNT,
        delegation_domains=("example.com",),
    ) as stack:
        stack.control("POST", "/_oauth/service-accounts", {"email": SERVICE_ACCOUNT})
        grant_delegation(stack)
        svc = stack.services
        users = [f"user{n:04d}@example.com" for n in range(calendars)]
        for user in users:
            stack.user(user)
            svc.store.subscribe(user, user, verified=(f"sub-{user}", user))
        from addon.channels.lifecycle import open_channel

        started = time.monotonic()
        outcomes = Counter(open_channel(svc, user, None) for user in users)
        seconds = time.monotonic() - started
        records: list[ChannelRecord] = []
        for state in svc.store.get_calendars(users):
            assert state.channel_id is not None
            record = svc.store.get_channel(state.channel_id)
            assert record is not None
            records.append(record)
        s = svc.settings
        early = [
            (r.expires_at - r.renew_at).total_seconds()  # type: ignore[operator]
            for r in records
        ]
        inside = all(
            s.channel_renew_before_seconds
            <= e
            <= s.channel_renew_before_seconds + s.channel_jitter_seconds + 1
            for e in early
        )
        hours = Counter(int(e // 3600) for e in early)
        out: dict[str, Any] = {
            "calendars": calendars,
            "opened": dict(outcomes),
            "seconds": seconds,
            "renew_before_expiry_hours": spread([e / 3600 for e in early]),
            "all_within_window": inside,
            "hours_used": len(hours),
            "peak_per_hour": max(hours.values()),
        }
        log(f"real channels: {dict(outcomes)} in {seconds:.1f} s; within window: {inside}")
        return out


def sweep_scale(env: Any, totals: list[int], due: int, reps: int) -> dict[str, Any]:
    out: dict[str, Any] = {"due": due, "totals": {}}
    rows = []
    for total in totals:
        reset_datastore(env.datastore_host)
        with running_stack(env.project, quick_solutions, offline=True, sync_mode="tasks") as stack:
            svc = stack.services
            store = svc.store
            now = datetime.now(UTC)
            states = [
                CalendarState(
                    calendar_id=f"cal{i:06d}@example.com",
                    subscribed=True,
                    sync_token=f"token-{i}",
                    token_generation=1,
                    dirty=i < due,
                    due=i < due,
                    next_check_at=now + timedelta(days=1, seconds=i),
                    channel_id=f"ch{i:06d}",
                )
                for i in range(total)
            ]
            put_calendars(store, states)
            _put_channels(store, states, now)
            timings, scans = [], []
            report: dict[str, Any] = {}
            sweep(svc, now)  # warm-up (connections), not counted
            for _ in range(reps):
                t = time.perf_counter()
                report = sweep(svc, datetime.now(UTC)).to_dict()
                timings.append((time.perf_counter() - t) * 1000)
                assert report["due"] == due and report["renewals"] == 0, report
            queries = _query_times(store, datetime.now(UTC), reps)
            for _ in range(max(1, reps // 2)):
                t = time.perf_counter()
                every = store.all_calendars()
                [s for s in every if s.due]
                scans.append((time.perf_counter() - t) * 1000)
        entry: dict[str, Any] = {
            "calendars": total,
            "sweep_ms": spread(timings),
            "scan_all_ms": spread(scans),
            "query_ms": {name: spread(times) for name, times in queries.items()},
            "last_report": report,
        }
        out["totals"][str(total)] = entry
        log(f"sweep among {total}: {entry['sweep_ms']['median']:.0f} ms")
        per_query = entry["query_ms"]
        rows.append([f"{total:,}", str(due), cell(entry["sweep_ms"], "{:.0f}"),
                     *(f"{per_query[q]['median']:.1f}" for q in per_query),
                     cell(entry["scan_all_ms"], "{:.0f}")])  # fmt: skip
    small, large = min(totals), max(totals)
    ratio = (
        out["totals"][str(large)]["sweep_ms"]["median"]
        / out["totals"][str(small)]["sweep_ms"]["median"]
    )
    out["ratio"] = {"largest": large, "smallest": small, "ratio": ratio}
    header = ["subscribed calendars (each with a channel)", "due", "sweep ms (enqueues the due)",
              "due markers ms", "checks due ms", "channels to renew ms", "expired channels ms",
              "for contrast: reading every calendar, ms"]  # fmt: skip
    out["table"] = "\n".join(
        [
            table("One sweep", header, rows),
            f"sweep median at {large:,} ÷ at {small:,} calendars: {ratio:.2f}",
        ]
    )
    return out


def _query_times(store: Any, later: datetime, reps: int) -> dict[str, list[float]]:
    """Each of the sweep's queries alone (keys only), to see which one grows."""
    queries: dict[str, Any] = {
        "due markers": lambda: store.due_calendars(500),
        "checks due": lambda: store.checks_due(later, 500),
        "channels to renew": lambda: store.channels_to_renew(later, 500),
        "expired channels": lambda: store.expired_channels(later, 500),
    }
    times: dict[str, list[float]] = {}
    for name, query in queries.items():
        for _ in range(reps):
            t = time.perf_counter()
            query()
            times.setdefault(name, []).append((time.perf_counter() - t) * 1000)
    return times


def _put_channels(store: Any, states: list[CalendarState], now: datetime) -> None:
    """A live channel per calendar, renewals days ahead (set-up only, in batches of 500)."""
    rng = random.Random(7)
    client = store._client
    batch = []
    for s in states:
        renew = now + timedelta(days=5, seconds=rng.random() * 43200)
        record = ChannelRecord(
            str(s.channel_id), s.calendar_id, "live", "res", now + timedelta(days=7), renew, now
        )
        batch.append(store._channel_entity(record))
        if len(batch) == 500:
            client.put_multi(batch)
            batch = []
    if batch:
        client.put_multi(batch)


def offline_scenarios(env: Any) -> dict[str, Any]:
    quick = env.quick
    deletion = deletion_latency(env, samples=2 if quick else 10, timeout=8 if quick else 20)
    schedule = renewal_schedule(200 if quick else 10_000, 2 if quick else 4, Settings())
    real = schedule["real"] = real_renewals(env, 20 if quick else 300)
    schedule["table"] += (
        f"\nOpened through the add-on: {real['calendars']} channels "
        f"({real['seconds']:.1f} s), renewal {cell(real['renew_before_expiry_hours'], '{:.1f}')} h "
        f"before expiry, all within the window: {real['all_within_window']}, "
        f"spread over {real['hours_used']} hours."
    )
    scale = sweep_scale(env, [100, 500] if quick else [100, 1_000, 10_000], 10, 3 if quick else 7)
    tables = [deletion["table"], schedule["table"], scale["table"]]
    return {
        "deletion": deletion,
        "renewals": schedule,
        "sweep": scale,
        "table": "\n\n".join(tables),
    }
