"""``python -m bench --quick`` runs end to end and writes every figure the README quotes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from localgoogle.datastore_emulator import DatastoreEmulator
from tests.procs import ROOT

pytestmark = pytest.mark.datastore


def test_quick_bench_writes_every_scenario(datastore: DatastoreEmulator, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out),
         "--datastore", datastore.host_port, "--project", datastore.project],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert {"cpus", "memory_gb", "python"} <= set(results["machine"])
    scenarios = results["scenarios"]
    assert set(scenarios) == {"sync_cost", "trigger_storm", "creation", "state_scale", "tasks"}

    for entry in scenarios["sync_cost"]["sizes"].values():
        assert entry["ours_list_calls_equal_expected"]
        for who in ("ours", "seed"):
            assert {"seconds", "list_calls", "provider_calls", "maxrss_mb"} <= set(entry[who])
            assert {"median", "min", "max"} <= set(entry[who]["seconds"])
        assert entry["seed_strict"]["crashed"]  # the seed as written dies on a plain event

    storm = scenarios["trigger_storm"]
    assert storm["ours"]["each_change_applied_once"]
    for who in ("ours", "seed"):
        assert {"list_calls", "provider_calls", "seconds_until_applied"} <= set(storm[who])
    assert storm["ours"]["list_calls"]["max"] < storm["seed"]["list_calls"]["min"]

    for level in scenarios["creation"]["levels"].values():
        assert level["ratio_of_ceiling"] > 0
        for who in ("ours", "ceiling"):
            assert {"rps", "p50_ms", "p95_ms", "p99_ms"} <= set(level[who])

    for entry in scenarios["state_scale"]["totals"].values():
        assert {"due_query_ms", "due_query_peak_kib", "write_seconds"} <= set(entry)
    for s in scenarios.values():
        assert s["table"].strip()

    tasks = scenarios["tasks"]
    for level in tasks["latency"]["levels"].values():
        assert 0 < level["p50"] <= level["p95"] <= level["max"]
    for storm_run in (tasks["storms"]["sequential"], tasks["storms"]["one_second"]):
        # One task per debounce window: the triggers of a quick storm collapse.
        assert storm_run["tasks_coalesced"] > storm_run["tasks_created"] >= 1
        assert storm_run["list_calls"] <= storm_run["tasks_created"] + 1
    assert all(v["rename_seconds"] > 0 for k, v in tasks["fairness"].items() if isinstance(v, dict))
