"""``python -m bench --quick`` runs end to end and writes every figure the README quotes, and
those issue 12 added: the sync's floor and provider latencies, the seed-style creation
minimum, the state's growth ratio."""

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
        cwd=ROOT, capture_output=True, text=True, timeout=420, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert {"cpus", "memory_gb", "python"} <= set(results["machine"])
    scenarios = results["scenarios"]
    assert set(scenarios) == {
        "sync_cost", "trigger_storm", "creation", "state_scale", "tasks", "offline"
    }  # fmt: skip

    sync = scenarios["sync_cost"]
    assert sync["latencies_ms"] == [0, 10]
    for entry in sync["sizes"].values():
        assert entry["ours_list_calls_equal_expected"]
        assert entry["seed_strict"]["crashed"]  # the seed as written dies on a plain event
        assert set(entry["latency_ms"]) == {"0", "10"}
        for lat in entry["latency_ms"].values():
            for who in ("ours", "seed", "floor", "floor-sequential"):
                assert {"seconds", "list_calls", "provider_calls", "maxrss_mb"} <= set(lat[who])
                assert {"median", "min", "max"} <= set(lat[who]["seconds"])
                # Every run started from the same live meetings: all of them were changed.
                assert lat[who]["provider_calls"]["min"] == entry["conferences"]
                assert lat[who]["provider_outcomes"] == {"applied": entry["conferences"]}
            assert lat["ratio_to_seed"] > 0 and lat["ratio_to_floor"] > 0
            assert lat["maxrss_mb"] > 0
            assert lat["floor-sequential"]["provider_peak_in_flight"]["max"] == 1
            assert {g["goal"].split(" ≤")[0] for g in lat["goals"]} >= {
                "ours ÷ seed",
                "ours ÷ floor",
            }
            assert all(isinstance(g["met"], bool) for g in lat["goals"])
        # With latency the pooled floor has calls in flight at once; the seed never does.
        at_10 = entry["latency_ms"]["10"]
        assert at_10["floor"]["provider_peak_in_flight"]["max"] > 1
        assert at_10["seed"]["provider_peak_in_flight"]["max"] == 1
    assert "floor (pool" in sync["table"] and "Goals" in sync["table"]

    storm = scenarios["trigger_storm"]
    assert storm["ours"]["each_change_applied_once"]
    for who in ("ours", "seed"):
        assert {"list_calls", "provider_calls", "seconds_until_applied"} <= set(storm[who])
    assert storm["ours"]["list_calls"]["max"] < storm["seed"]["list_calls"]["min"]

    for level in scenarios["creation"]["levels"].values():
        assert level["ratio_of_ceiling"] > 0
        assert level["ratio_to_seed_minimum"] > 0
        assert isinstance(level["goal"]["met"], bool)
        for who in ("ours", "seed_minimum", "ceiling"):
            assert {"rps", "p50_ms", "p95_ms", "p99_ms"} <= set(level[who])
            assert level[who]["requests"][0] > 0
            assert not any(level[who]["errors"])
    assert "seed-style minimum" in scenarios["creation"]["table"]

    state = scenarios["state_scale"]
    for entry in state["totals"].values():
        assert {"due_query_ms", "due_query_peak_kib", "write_seconds"} <= set(entry)
    assert set(state["totals"]) == {"100", "500"}
    assert state["ratio_500_to_100"] == state["due_query_ratio"]["ratio"] > 0
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

    offline = scenarios["offline"]
    modes = offline["deletion"]["modes"]
    # Deletions fire no trigger: the trigger path alone never deletes the meeting; push does.
    assert modes["trigger only"]["deleted"] == 0
    assert modes["push"]["deleted"] == offline["deletion"]["samples"]
    renewals = offline["renewals"]["variants"]
    assert (
        renewals["ours (jitter)"]["peak_per_hour_week1"]
        < renewals["no jitter"]["peak_per_hour_week1"]
    )
    assert offline["renewals"]["real"]["all_within_window"]
    assert set(offline["sweep"]["totals"]) == {"100", "500"}
    for entry in offline["sweep"]["totals"].values():
        assert entry["last_report"]["due"] == offline["sweep"]["due"]
