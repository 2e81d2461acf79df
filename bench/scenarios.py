"""The four benchmark scenarios of issues 6 and 12; each returns a JSON-able dict and a table.

1. ``sync_cost``     — one sync after N changes (a tenth carry our conferences) at provider
                       latencies of 0 and 10 ms: ours vs the seed port vs the floor
                       (``bench.floor``: the same sync's minimal work, pooled and sequential),
                       each run in a subprocess of its own (peak RSS is its own).
2. ``trigger_storm`` — 1,000 triggers from 16 clients against gunicorn; the seed port runs
                       once per trigger (16 at a time, like concurrent Apps Script executions).
3. ``creation``      — onCreate throughput/latency at 1/8/32 clients vs a seed-style minimum
                       (events.get, provider create, one put; no ID-token check) and a bare
                       one-write endpoint of the same app (``bench.ceiling_app``).
4. ``state_scale``   — ``Store.due_calendars`` with 100, 1,000 and 10,000 subscribed calendars
                       (and how the largest compares with the smallest).
"""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from addon.store.datastore import Store
from addon.store.records import CalendarState, Conference
from bench.common import (
    cell,
    change_events,
    conference_events,
    percentile,
    put_calendars,
    put_conferences,
    reset_datastore,
    set_calendar,
    spread,
    table,
    take_token,
)
from localgoogle.vendors.rest import VendorSnapshot
from tests.procs import (
    ROOT,
    EmulatorSide,
    Gunicorn,
    Trigger,
    applied_twice,
    burst,
    emulator_side,
    install_deployment,
    updates_by_meeting,
    wait_for,
    wait_quiet,
)

USER = "bench@example.com"
PAGE = 2500


@dataclass
class Env:
    datastore_host: str
    project: str
    quick: bool

    def store(self) -> Store:
        return Store.connect(self.project)

    def reset(self, side: EmulatorSide) -> None:
        reset_datastore(self.datastore_host)
        side.control("POST", "/_emulator/reset")
        side.conferencing.reset()
        side.tokens.clear()


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


# ---- 1. sync cost ------------------------------------------------------------------------
# Who runs, in this order in every round (interleaved, so drift over a long run affects all
# alike), and how the table names them.
SYNC_MODES = ("ours", "seed", "floor", "floor-sequential")
SYNC_LABELS = {
    "ours": "ours",
    "seed": "seed port (null-checked)",
    "floor": "floor (pool {pool})",
    "floor-sequential": "floor, sequential",
}
# Goals printed beside the figures (reported as met / not met, never enforced here).
GOAL_TO_SEED = {0: 1.0, 10: 0.3}  # provider latency ms -> ours ÷ seed at most
GOAL_TO_FLOOR = 1.2
GOAL_RSS_MB = 100.0  # ours' peak RSS below this at RSS_GOAL_SIZE changes
RSS_GOAL_SIZE = 100_000

SyncReps = Callable[[int, int, str], int]  # (changes, provider latency ms, mode) -> runs


def _worker(env: Env, side: EmulatorSide, mode: str, props: Path) -> dict[str, Any]:
    argv = [
        sys.executable, "-m", "bench.sync_worker", "--mode", mode,
        "--emulator", side.url, "--calendar", USER, "--token", side.user(USER),
        "--project", env.project, "--props", str(props),
    ]  # fmt: skip
    done = subprocess.run(  # fixed argv
        argv,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={"DATASTORE_EMULATOR_HOST": env.datastore_host, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sync worker failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@dataclass
class SyncData:
    """One size's data set, and how to put it back exactly before every run."""

    store: Store
    confs: list[Conference]
    token: str
    props: Path
    vendor: VendorSnapshot

    def restore(self, side: EmulatorSide) -> None:
        # Datastore: our records and the calendar's state as the last sync left them.
        put_conferences(self.store, self.confs)
        set_calendar(self.store, USER, self.token, USER)
        self.props.write_text(json.dumps({"syncToken": self.token}))
        # The vendor's meetings as set-up made them. The seed port deletes every meeting it
        # touches (its defect) and ours applies updates under keys the vendor then remembers;
        # restoring the snapshot gives every run, whatever ran before it, the same live
        # meetings and no applied keys. (Without it the order of runs would matter: after a
        # seed run ours would meet deleted meetings, and later runs would only see their own
        # earlier keys answered as duplicates.)
        side.conferencing.restore(self.vendor)
        side.control("POST", "/_emulator/stats/reset")


def _sync_run(env: Env, side: EmulatorSide, data: SyncData, mode: str) -> dict[str, Any]:
    data.restore(side)
    r = _worker(env, side, mode, data.props)
    calls = side.provider_calls()
    r["calendar_api"] = side.stats()
    r["provider_calls"] = len(calls)
    r["provider_outcomes"] = dict(Counter(c["outcome"] for c in calls))
    r["provider_peak_in_flight"] = side.conferencing.stats()["peakInFlight"]
    return r


def _set_latency(side: EmulatorSide, ms: int) -> None:
    """Through the vendor's control API, as any client of it would."""
    side.control("POST", "/_conferencing/latency", {"seconds": ms / 1000})


def _mode_figures(rs: list[dict[str, Any]]) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    for r in rs:
        outcomes.update(r["provider_outcomes"])
    return {
        "seconds": spread([r["seconds"] for r in rs]),
        "list_calls": spread([r["calendar_api"].get("events.list", 0) for r in rs]),
        "calendar_calls": spread([sum(r["calendar_api"].values()) for r in rs]),
        "provider_calls": spread([r["provider_calls"] for r in rs]),
        "provider_outcomes": dict(outcomes),
        "provider_peak_in_flight": spread([r["provider_peak_in_flight"] for r in rs]),
        "maxrss_mb": spread([r["maxrss_mb"] for r in rs]),
        "rss_before_mb": spread([r["rss_before_mb"] for r in rs]),
        "runs": len(rs),
    }


def _ratio(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Median of ``a``'s wall time over ``b``'s."""
    return float(a["seconds"]["median"] / b["seconds"]["median"])


def _goal(name: str, value: float, limit: float, strict: bool = False) -> dict[str, Any]:
    met = value < limit if strict else value <= limit
    return {"goal": f"{name} {'<' if strict else '≤'} {limit:g}", "value": value, "met": met}


def _sync_goals(n: int, ms: int, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    goals = []
    if ms in GOAL_TO_SEED:
        goals.append(_goal("ours ÷ seed", entry["ratio_to_seed"], GOAL_TO_SEED[ms]))
    goals.append(_goal("ours ÷ floor", entry["ratio_to_floor"], GOAL_TO_FLOOR))
    if n >= RSS_GOAL_SIZE:
        goals.append(_goal("ours peak RSS MB", entry["maxrss_mb"], GOAL_RSS_MB, strict=True))
    return goals


def _latency_entry(
    n: int, ms: int, runs: dict[str, list[dict[str, Any]]], expected_lists: int
) -> dict[str, Any]:
    entry: dict[str, Any] = {"latency_ms": ms}
    for mode, rs in runs.items():
        entry[mode] = _mode_figures(rs)
    ours_lists = [r["calendar_api"].get("events.list", 0) for r in runs["ours"]]
    entry["ours_list_calls_equal_expected"] = all(x == expected_lists for x in ours_lists)
    entry["ratio_to_seed"] = _ratio(entry["ours"], entry["seed"])
    entry["ratio_to_floor"] = _ratio(entry["ours"], entry["floor"])
    entry["ratio_to_floor_sequential"] = _ratio(entry["ours"], entry["floor-sequential"])
    entry["maxrss_mb"] = entry["ours"]["maxrss_mb"]["max"]  # ours' highest peak of its runs
    entry["floor_pool_size"] = runs["floor"][0]["result"]["pool_size"]
    entry["goals"] = _sync_goals(n, ms, entry)
    return entry


def _sync_latency(
    env: Env, side: EmulatorSide, data: SyncData, n: int, ms: int, reps: SyncReps
) -> dict[str, list[dict[str, Any]]]:
    """Every mode's runs at one provider latency, interleaved round by round."""
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in SYNC_MODES}
    wanted = {mode: reps(n, ms, mode) for mode in SYNC_MODES}
    _set_latency(side, ms)
    try:
        for round_ in range(max(wanted.values())):
            for mode in SYNC_MODES:
                if round_ >= wanted[mode]:
                    continue
                r = _sync_run(env, side, data, mode)
                runs[mode].append(r)
                log(
                    f"  {n:,} @ {ms} ms {mode}: {r['seconds']:.2f}s, lists "
                    f"{r['calendar_api'].get('events.list', 0)}, provider "
                    f"{r['provider_calls']} (in flight ≤ {r['provider_peak_in_flight']}), "
                    f"rss {r['maxrss_mb']} MB"
                )
    finally:
        _set_latency(side, 0)
    return runs


def _sync_rows(n: int, entry: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for key, lat in entry["latency_ms"].items():
        for mode in SYNC_MODES:
            e = lat[mode]
            ours = mode == "ours"
            rows.append(
                [f"{n:,}", key, SYNC_LABELS[mode].format(pool=lat["floor_pool_size"]),
                 str(e["runs"]), cell(e["list_calls"], "{:.0f}"),
                 cell(e["provider_calls"], "{:.0f}"), cell(e["provider_peak_in_flight"], "{:.0f}"),
                 cell(e["seconds"]),
                 f"{lat['ratio_to_seed']:.2f}" if ours else "-",
                 f"{lat['ratio_to_floor']:.2f}" if ours else "-",
                 cell(e["maxrss_mb"], "{:.0f}"), f"{e['rss_before_mb']['median']:.0f}"]
            )  # fmt: skip
    strict = entry["seed_strict"]
    rows.append(
        [f"{n:,}", "-", "seed as written", "1", "-", "-", "-", "-", "-", "-", "-",
         f"crashed after {strict['events_seen']} events: {(strict['crashed'] or 'no')[:40]}"]
    )  # fmt: skip
    return rows


def _goal_lines(sizes: Mapping[str, Any]) -> list[str]:
    lines = ["", "Goals (reported, not enforced):"]
    for n, entry in sizes.items():
        for ms, lat in entry["latency_ms"].items():
            for g in lat["goals"]:
                verdict = "met" if g["met"] else "NOT MET"
                lines.append(
                    f"* {int(n):,} changes @ {ms} ms: {g['goal']}: {g['value']:.2f} {verdict}"
                )
    return lines


def sync_cost(
    env: Env, sizes: list[int], latencies_ms: list[int], reps: SyncReps
) -> dict[str, Any]:
    out: dict[str, Any] = {"sizes": {}, "latencies_ms": latencies_ms}
    rows = []
    with emulator_side() as side, tempfile.TemporaryDirectory() as tmp:
        props = Path(tmp) / "user-properties.json"
        for n in sizes:
            env.reset(side)
            store = env.store()
            t0 = time.perf_counter()
            confs = conference_events(side, store, USER, n // 10)
            token = take_token(side, USER)
            change_events(side, USER, confs, n - len(confs), "edited")
            data = SyncData(store, confs, token, props, side.conferencing.snapshot())
            setup_s = time.perf_counter() - t0
            log(f"sync cost: {n} changes set up in {setup_s:.1f}s")
            expected_lists = math.ceil(n / PAGE)
            # The seed exactly as written, once: how far does it get?
            data.restore(side)
            strict = _worker(env, side, "seed-strict", props)
            entry: dict[str, Any] = {
                "changes": n,
                "conferences": len(confs),
                "setup_seconds": round(setup_s, 1),
                "expected_list_calls": expected_lists,
                "seed_strict": {
                    "crashed": strict["result"]["crashed"],
                    "events_seen": strict["result"]["events_seen"],
                    "list_calls": side.stats().get("events.list", 0),
                },
                "latency_ms": {},
            }
            for ms in latencies_ms:
                runs = _sync_latency(env, side, data, n, ms, reps)
                entry["latency_ms"][str(ms)] = _latency_entry(n, ms, runs, expected_lists)
            entry["ours_list_calls_equal_expected"] = all(
                lat["ours_list_calls_equal_expected"] for lat in entry["latency_ms"].values()
            )
            assert entry["ours_list_calls_equal_expected"], entry["latency_ms"]
            out["sizes"][str(n)] = entry
            rows.extend(_sync_rows(n, entry))
    header = ["changes", "latency ms", "who", "runs", "events.list", "provider calls",
              "in flight (peak)", "wall s", "ours ÷ seed", "ours ÷ floor", "peak RSS MB",
              "RSS before sync MB"]  # fmt: skip
    title = (
        "Sync cost: one sync after N changes (a tenth carry our conferences), by provider latency"
    )
    out["table"] = "\n".join([table(title, header, rows), *_goal_lines(out["sizes"])])
    return out


# ---- 2. trigger storm --------------------------------------------------------------------
def _all_updated(side: EmulatorSide, keys: set[str]) -> bool:
    return set(updates_by_meeting(side)) >= keys


def _calls_since(side: EmulatorSide, before: int, count: int) -> bool:
    return len(side.provider_calls()) - before >= count


def trigger_storm(
    env: Env, triggers: int, clients: int, meetings: int, reps: int, workers: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"triggers": triggers, "clients": clients, "meetings": meetings}
    with emulator_side() as side:
        env.reset(side)
        store = env.store()
        confs = conference_events(side, store, USER, meetings)
        token = take_token(side, USER)
        change_events(side, USER, confs, 0, "storm")
        addon = Gunicorn(
            emulator_url=side.url,
            datastore_host=env.datastore_host,
            project=env.project,
            workers=workers,
            threads=4,
            lease_seconds=30,
        ).start()
        ours: list[dict[str, Any]] = []
        try:
            install_deployment(side, addon)
            trigger = Trigger(side, addon, USER, USER)
            for rep in range(reps):
                put_conferences(store, confs)
                set_calendar(store, USER, token, USER)
                lists0 = side.list_calls()
                calls0 = len(side.provider_calls())
                trigger.statuses.clear()
                extra = [0]

                def refire(t: Trigger = trigger, extra: list[int] = extra) -> None:
                    extra[0] += 1
                    t.fire()

                started_at = datetime.now(UTC)
                t0 = time.monotonic()
                fired_s = burst(trigger.fire, triggers, clients, deadline_s=120)
                keys_needed = {c.conference_id for c in confs}
                # Applied once per meeting in the first repetition; later ones are answered as
                # duplicates by the server (same idempotency keys), so wait for the provider
                # calls instead.
                if rep == 0:
                    done = functools.partial(_all_updated, side, keys_needed)
                else:
                    done = functools.partial(_calls_since, side, calls0, len(confs))
                wait_for(done, 120, "all changes applied")
                applied_s = time.monotonic() - t0
                wait_quiet(store, USER, since=started_at, timeout=120, refire=refire)
                r = {
                    "fire_seconds": fired_s,
                    "statuses": dict(trigger.statuses),
                    "list_calls": side.list_calls() - lists0,
                    "provider_calls": len(side.provider_calls()) - calls0,
                    "seconds_until_applied": applied_s,
                    "extra_triggers_to_settle": extra[0],
                }
                ours.append(r)
                log(f"storm ours: {r}")
            updates = updates_by_meeting(side)
            once = sorted(updates.values()) == [1] * len(confs) and not applied_twice(side)
        finally:
            addon.stop()

        # The seed: one whole run per trigger, 16 at a time, same data, same starting token.
        from bench.storm_seed import seed_storm

        seed_runs = []
        for _ in range(reps):
            seed_runs.append(seed_storm(side, USER, token, confs, triggers, clients))
            log(f"storm seed: {seed_runs[-1]}")

    def summary(rs: list[dict[str, Any]], key: str) -> dict[str, float]:
        return spread([float(r[key]) for r in rs])

    out["ours"] = {
        k: summary(ours, k)
        for k in ("fire_seconds", "list_calls", "provider_calls", "seconds_until_applied")
    }
    out["ours"]["each_change_applied_once"] = once
    out["ours"]["runs"] = ours
    out["seed"] = {
        k: summary(seed_runs, k)
        for k in ("fire_seconds", "list_calls", "provider_calls", "seconds_until_applied")
    }
    out["seed"]["runs"] = seed_runs
    rows = [
        ["ours (gunicorn, lease)", str(len(ours)), cell(out["ours"]["fire_seconds"]),
         cell(out["ours"]["list_calls"], "{:.0f}"), cell(out["ours"]["provider_calls"], "{:.0f}"),
         cell(out["ours"]["seconds_until_applied"]),
         f"yes: {len(confs)} updates, each once" if once else "NO"],
        ["seed port, run per trigger", str(len(seed_runs)), cell(out["seed"]["fire_seconds"]),
         cell(out["seed"]["list_calls"], "{:.0f}"), cell(out["seed"]["provider_calls"], "{:.0f}"),
         cell(out["seed"]["seconds_until_applied"]),
         f"no: 0 updates; meetings deleted (defect), {seed_runs[0]['duplicate_deletes']} "
         "repeated deletes"],
    ]  # fmt: skip
    out["table"] = table(
        f"Trigger storm: {triggers} triggers from {clients} clients, {meetings} edited meetings "
        f"(gunicorn -w {workers} --threads 4)",
        ["who", "runs", "firing s", "events.list", "provider calls", "s until applied",
         "each change applied once"],
        rows,
    )  # fmt: skip
    return out


# ---- 3. conference creation --------------------------------------------------------------
def _event_object(calendar_id: str, event_id: str, token: str) -> str:
    return json.dumps(
        {
            "commonEventObject": {"hostApp": "CALENDAR", "platform": "WEB",
                                  "timeZone": {"id": "UTC", "offset": 0}},
            "authorizationEventObject": {"userOAuthToken": token},
            "calendar": {"calendarId": calendar_id, "id": event_id,
                         "capabilities": {"canSetConferenceData": True}},
        }
    )  # fmt: skip


def _load(
    make_request: Callable[[requests.Session, int, int], requests.Response],
    clients: int,
    count: int,
    cap_s: float,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    per_client = max(1, count // clients)
    stop_at = time.monotonic() + cap_s

    def client(i: int) -> None:
        session = requests.Session()
        for j in range(per_client):
            if time.monotonic() > stop_at:
                return
            t = time.perf_counter()
            try:
                r = make_request(session, i, j)
                ok = r.status_code == 200
                status = str(r.status_code)
            except requests.RequestException as exc:
                ok, status = False, type(exc).__name__
            dt = time.perf_counter() - t
            with lock:
                if ok:
                    latencies.append(dt)
                else:
                    errors[status] = errors.get(status, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(cap_s + 60)
    wall = time.perf_counter() - t0
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / wall if wall else 0.0,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


CREATION_WHO = ("ours", "seed_minimum", "ceiling")
CREATION_LABELS = {
    "ours": "ours",
    "seed_minimum": "seed-style minimum (no ID-token check)",
    "ceiling": "ceiling (1 Datastore write)",
}
GOAL_TO_SEED_MINIMUM = 0.9  # ours req/s ÷ seed-style minimum req/s at least


def _creation_entry(res: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for who, rs in res.items():
        entry[who] = {k: spread([r[k] for r in rs]) for k in ("rps", "p50_ms", "p95_ms", "p99_ms")}
        entry[who]["errors"] = [r["errors"] for r in rs]
        entry[who]["requests"] = [r["requests"] for r in rs]
    ours = entry["ours"]["rps"]["median"]
    entry["ratio_of_ceiling"] = ours / entry["ceiling"]["rps"]["median"]
    entry["ratio_to_seed_minimum"] = ours / entry["seed_minimum"]["rps"]["median"]
    ratio = entry["ratio_to_seed_minimum"]
    entry["goal"] = {
        "goal": f"ours req/s ÷ seed-style minimum req/s ≥ {GOAL_TO_SEED_MINIMUM:g}",
        "value": ratio,
        "met": ratio >= GOAL_TO_SEED_MINIMUM,
    }
    return entry


def _creation_rows(c: int, entry: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for who in CREATION_WHO:
        e = entry[who]
        ours = who == "ours"
        rows.append(
            [str(c), CREATION_LABELS[who], cell(e["rps"], "{:.0f}"), cell(e["p50_ms"], "{:.1f}"),
             cell(e["p95_ms"], "{:.1f}"), cell(e["p99_ms"], "{:.1f}"),
             f"{entry['ratio_to_seed_minimum']:.2f}" if ours else "-",
             f"{entry['ratio_of_ceiling']:.2f}" if ours else "-",
             str(sum(sum(x.values()) for x in e["errors"]))]
        )  # fmt: skip
    return rows


def creation(
    env: Env, levels: list[int], count: int, reps: int, workers: int, threads: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"levels": {}}
    rows = []
    with emulator_side() as side:
        env.reset(side)
        addon = Gunicorn(
            emulator_url=side.url,
            datastore_host=env.datastore_host,
            project=env.project,
            workers=workers,
            threads=threads,
            app="bench.ceiling_app:app",
        ).start()
        try:
            install_deployment(side, addon)
            url = addon.conference_url()
            bearer = {"Authorization": f"Bearer {side.id_token(url)}",
                      "Content-Type": "application/json"}  # fmt: skip
            model = side.app.config["EMULATOR_STATE"]
            max_clients = max(levels)
            users = [f"user{i}@example.com" for i in range(max_clients)]
            tokens = [side.user(u) for u in users]
            # One event per request, in the client's own calendar (many users creating at
            # once); made beforehand so onCreate's events.get finds it, as in real use. Ours
            # and the seed-style minimum each get fresh events (the same event twice would
            # be a replay for ours and a duplicate creation key for the vendor).
            events: dict[tuple[int, int], str] = {}

            def prepare(clients: int, per_client: int) -> None:
                for i in range(clients):
                    for j in range(per_client):
                        ev = model.events_insert(
                            users[i], users[i],
                            {"summary": f"Sync {j}",
                             "start": {"dateTime": "2030-05-01T10:00:00Z"},
                             "end": {"dateTime": "2030-05-01T10:30:00Z"}},
                        )  # fmt: skip
                        events[(i, j)] = ev["id"]

            def poster(target: str) -> Callable[[requests.Session, int, int], requests.Response]:
                # Both endpoints get the same request: body and headers (the seed-style
                # minimum ignores the bearer, as the seed checks no ID token).
                def post(session: requests.Session, i: int, j: int) -> requests.Response:
                    body = _event_object(users[i], events[(i, j)], tokens[i])
                    return session.post(target, data=body, headers=bearer, timeout=60)

                return post

            ours = poster(url)
            seed_minimum = poster(addon.url + "/bench/seed-minimum")
            ceiling_url = addon.url + "/bench/ceiling"

            def ceiling(session: requests.Session, i: int, j: int) -> requests.Response:
                return session.post(ceiling_url, json={"i": i, "j": j}, timeout=60)

            # Warm-up: subscriptions and initial syncs of every calendar happen here, and
            # each worker builds the seed-style minimum's service.
            prepare(max_clients, 1)
            _load(ours, max_clients, max_clients, 60)
            prepare(max_clients, 1)
            _load(seed_minimum, max_clients, max_clients, 60)
            _load(ceiling, 4, 40, 30)
            for c in levels:
                res: dict[str, list[dict[str, Any]]] = {who: [] for who in CREATION_WHO}
                per_client = max(1, count // c)
                for _ in range(reps):  # interleaved: ours, seed-style minimum, ceiling
                    prepare(c, per_client)
                    res["ours"].append(_load(ours, c, per_client * c, 30))
                    prepare(c, per_client)
                    res["seed_minimum"].append(_load(seed_minimum, c, per_client * c, 30))
                    res["ceiling"].append(_load(ceiling, c, per_client * c, 30))
                entry = _creation_entry(res)
                out["levels"][str(c)] = entry
                log(f"creation c={c}: ours {entry['ours']['rps']['median']:.0f}/s, seed-style "
                    f"minimum {entry['seed_minimum']['rps']['median']:.0f}/s, ceiling "
                    f"{entry['ceiling']['rps']['median']:.0f}/s")  # fmt: skip
                rows.extend(_creation_rows(c, entry))
        finally:
            addon.stop()
    goals = ["", "Goals (reported, not enforced):"] + [
        f"* {c} clients: {e['goal']['goal']}: {e['goal']['value']:.2f} "
        f"{'met' if e['goal']['met'] else 'NOT MET'}"
        for c, e in out["levels"].items()
    ]
    header = ["clients", "endpoint", "req/s", "p50 ms", "p95 ms", "p99 ms",
              "ours ÷ seed minimum", "ours ÷ ceiling", "errors"]  # fmt: skip
    title = (
        f"Conference creation (gunicorn -w {workers} --threads {threads}; ours with ID-token "
        "check and Datastore writes on)"
    )
    out["table"] = "\n".join([table(title, header, rows), *goals])
    return out


# ---- 4. scale of state -------------------------------------------------------------------
def state_scale(env: Env, totals: list[int], due: int, reps: int) -> dict[str, Any]:
    out: dict[str, Any] = {"due": due, "totals": {}}
    rows = []
    for total in totals:
        reset_datastore(env.datastore_host)
        store = env.store()
        t0 = time.perf_counter()
        states = [
            CalendarState(
                calendar_id=f"cal{i:06d}@example.com",
                subscribed=True,
                sync_token=f"token-{i}",
                token_generation=1,
                dirty=i < due,
                due=i < due,
            )
            for i in range(total)
        ]
        put_calendars(store, states)
        write_s = time.perf_counter() - t0
        timings, peaks, scans = [], [], []
        store.due_calendars()  # warm-up, not counted: the first query pays the connection
        for _ in range(reps):
            tracemalloc.start()
            t = time.perf_counter()
            found = store.due_calendars()
            timings.append((time.perf_counter() - t) * 1000)
            peaks.append(tracemalloc.get_traced_memory()[1] / 1024)
            tracemalloc.stop()
            assert len(found) == due, (len(found), due)
        for _ in range(max(1, reps // 2)):
            t = time.perf_counter()
            naive = [s.calendar_id for s in store.all_calendars() if s.due]
            scans.append((time.perf_counter() - t) * 1000)
            assert len(naive) == due
        entry: dict[str, Any] = {
            "calendars": total,
            "write_seconds": write_s,
            "due_query_ms": spread(timings),
            "due_query_peak_kib": spread(peaks),
            "full_scan_ms": spread(scans),
        }
        out["totals"][str(total)] = entry
        log(f"state scale {total}: due query {entry['due_query_ms']['median']:.1f} ms")
        rows.append(
            [f"{total:,}", str(due), f"{write_s:.1f}", cell(entry["due_query_ms"], "{:.1f}"),
             cell(entry["due_query_peak_kib"], "{:.0f}"), cell(entry["full_scan_ms"], "{:.0f}")]
        )  # fmt: skip
    lines = []
    if len(totals) > 1:
        # How the due query grows with the state: the largest total's median over the
        # smallest's (``ratio_10000_to_100`` in a full run).
        small, large = min(totals), max(totals)
        ratio = (
            out["totals"][str(large)]["due_query_ms"]["median"]
            / out["totals"][str(small)]["due_query_ms"]["median"]
        )
        out[f"ratio_{large}_to_{small}"] = ratio
        out["due_query_ratio"] = {"largest": large, "smallest": small, "ratio": ratio}
        lines = ["", f"due_calendars() median at {large:,} ÷ at {small:,} calendars: {ratio:.2f}"]
    header = ["subscribed calendars", "due", "put_multi s", "due_calendars() ms",
              "its peak KiB (tracemalloc)", "for contrast: scan all ms"]  # fmt: skip
    title = "Scale of state: finding the calendars due for work"
    out["table"] = "\n".join([table(title, header, rows), *lines])
    return out
