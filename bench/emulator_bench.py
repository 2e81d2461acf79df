"""Benchmark of the Calendar emulator (not a test).

Seeds 100,000 events into an in-process state, then measures through the real HTTP server
and the unmodified google-api-python-client: a full listing in pages of 2500, and an
incremental list after 1,000 changes. Prints a table and writes bench/results/emulator.json.

Run: .venv/bin/python bench/emulator_bench.py [--events 100000] [--changes 1000]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import google.oauth2.credentials
from googleapiclient.discovery import build

# Runnable as a plain script from anywhere: the repository root holds the ``addon`` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localgoogle.app import create_emulator_app
from localgoogle.calendar.listing import ListParams, list_events
from localgoogle.calendar.models import CalendarState
from localgoogle.server import serve

USER = "bench@example.com"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=1_000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request log lines
    results: dict[str, float | int] = {"events": args.events, "changes": args.changes}
    rss_start = rss_mb()

    state = CalendarState()
    token = state.create_user(USER)
    started = time.perf_counter()
    state.seed(
        USER, args.events, datetime(2030, 1, 1, tzinfo=UTC),
        interval=timedelta(minutes=30), duration=timedelta(minutes=25),
    )  # fmt: skip
    results["seed_seconds"] = time.perf_counter() - started
    results["rss_after_seed_mb"] = rss_mb()

    app = create_emulator_app(state)
    with serve(app) as base_url:
        service = build(
            "calendar", "v3", static_discovery=True,
            credentials=google.oauth2.credentials.Credentials(token),
            client_options={"api_endpoint": f"{base_url}/calendar/v3/"},
        )  # fmt: skip
        started = time.perf_counter()
        pages, count, page_token = 0, 0, None
        while True:
            page = (
                service.events()
                .list(calendarId="primary", maxResults=2500, pageToken=page_token)
                .execute()
            )
            pages += 1
            count += len(page["items"])
            page_token = page.get("nextPageToken")
            if page_token is None:
                sync_token = page["nextSyncToken"]
                break
        results["full_list_seconds"] = time.perf_counter() - started
        results["full_list_pages"] = pages
        results["full_list_events"] = count

        ids = [e["id"] for e in state.admin_events(USER)]
        step = max(1, len(ids) // args.changes)
        for event_id in ids[::step][: args.changes]:
            state.events_patch(USER, "primary", event_id, {"summary": "changed"})
        started = time.perf_counter()
        changed, page_token = 0, None
        while True:
            page = (
                service.events()
                .list(calendarId="primary", syncToken=sync_token, pageToken=page_token)
                .execute()
            )
            changed += len(page["items"])
            page_token = page.get("nextPageToken")
            if page_token is None:
                break
        results["incremental_seconds"] = time.perf_counter() - started
        results["incremental_events"] = changed

    # Server-side cost alone (no HTTP/JSON): one full page and one incremental page.
    started = time.perf_counter()
    list_events(state, USER, "primary", ListParams(max_results=2500))
    results["in_process_full_page_seconds"] = time.perf_counter() - started
    results["peak_rss_mb"] = rss_mb()
    results["rss_at_start_mb"] = rss_start

    print(f"{'metric':<32} {'value':>12}")
    for key, value in results.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:<32} {shown:>12}")
    out = Path(__file__).parent / "results" / "emulator.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
