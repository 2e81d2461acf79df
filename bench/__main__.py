"""``python -m bench`` (``make bench``): the benchmarks of issues 6, 11, 12 and 14 in one
run — ours side by side with the seed port, the sync's floor (``bench.floor``) at provider
latencies of 0 and 10 ms, a seed-style creation minimum (``bench.ceiling_app``), Cloud Tasks
(``bench.tasks_bench``) and offline sync (``bench.offline_bench``).

Prints one table per scenario (goals reported as met / not met beside the figures) and writes
every figure to ``bench/results.json``. The emulators served by this process keep HTTP/1.1
connections alive (``localgoogle.server``, policy ``always``).
``--quick`` runs tiny sizes (a smoke run, used by ``tests/procs/test_bench_smoke.py``).
``--only sync,storm,creation,state,tasks,offline`` picks scenarios; ``--datastore HOST:PORT``
reuses a running Datastore emulator instead of starting one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from bench.common import datastore, machine
from bench.offline_bench import offline_scenarios
from bench.scenarios import Env, creation, log, state_scale, sync_cost, trigger_storm
from bench.tasks_bench import tasks_scenarios
from localgoogle.server import KEEP_ALIVE_ENV

SCENARIOS = ("sync", "storm", "creation", "state", "tasks", "offline")
FULL_SYNC_NOTE = (
    "runs interleaved (ours, seed, floor, floor-sequential, then again); three each, except "
    "at 100,000 changes and 10 ms provider latency: one run of the seed and of the sequential "
    "floor (each makes 10,000 provider calls one after another, about two minutes a run)"
)


def quick_sync_reps(changes: int, latency_ms: int, mode: str) -> int:
    return 1


def full_sync_reps(changes: int, latency_ms: int, mode: str) -> int:
    """Three runs of everything except the two sequential callers at 100,000 changes and
    10 ms: one run each keeps the sync scenario near 15 minutes on 2 cores."""
    if changes >= 100_000 and latency_ms > 0 and mode in ("seed", "floor-sequential"):
        return 1
    return 3


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results.json"))
    parser.add_argument("--datastore", default=None, help="HOST:PORT of a running emulator")
    parser.add_argument("--project", default="bench-addon")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # The emulators this process serves keep every client's connection open (httplib2's
    # too, as Google's servers do), so the figures measure our code, not reconnects.
    os.environ.setdefault(KEEP_ALIVE_ENV, "always")
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    quick = args.quick
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "scenarios": {}}
    started = time.monotonic()
    with datastore(args.datastore, args.project) as (host, project):
        env = Env(host, project, quick)
        if "sync" in chosen:
            sync = (
                sync_cost(env, [300], [0, 10], quick_sync_reps)
                if quick
                else sync_cost(env, [10_000, 100_000], [0, 10], full_sync_reps)
            )
            sync["note"] = "quick" if quick else FULL_SYNC_NOTE
            results["scenarios"]["sync_cost"] = sync
        if "storm" in chosen:
            results["scenarios"]["trigger_storm"] = (
                trigger_storm(env, triggers=40, clients=8, meetings=5, reps=1, workers=2)
                if quick
                else trigger_storm(env, triggers=1000, clients=16, meetings=100, reps=3, workers=3)
            )
        if "creation" in chosen:
            results["scenarios"]["creation"] = (
                creation(env, levels=[1, 4], count=16, reps=1, workers=2, threads=4)
                if quick
                else creation(env, levels=[1, 8, 32], count=480, reps=3, workers=3, threads=8)
            )
        if "state" in chosen:
            results["scenarios"]["state_scale"] = (
                state_scale(env, totals=[100, 500], due=5, reps=3)
                if quick
                else state_scale(env, totals=[100, 1_000, 10_000], due=10, reps=7)
            )
        if "tasks" in chosen:
            results["scenarios"]["tasks"] = tasks_scenarios(env)
        if "offline" in chosen:
            results["scenarios"]["offline"] = offline_scenarios(env)
    seconds = results["seconds"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    if set(chosen) != set(SCENARIOS) and out.exists():
        # A partial run updates its scenarios in the existing file and keeps the others.
        previous = json.loads(out.read_text())
        previous.setdefault("scenarios", {}).update(results["scenarios"])
        previous.setdefault("partial_runs", []).append(
            {"scenarios": chosen, "machine": results["machine"], "seconds": results["seconds"]}
        )
        results = {**previous, "scenarios": previous["scenarios"]}
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    m = results["machine"]
    print(f"\nMachine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, Python {m['python']}")
    for s in results["scenarios"].values():
        print(s["table"])  # every scenario in the file, including kept ones
    log(f"done in {seconds}s; figures in {args.out}")
    return results


if __name__ == "__main__":
    main()
