"""One sync in a process of its own, so its peak memory (``VmHWM``) is its own.

``python -m bench.sync_worker --mode MODE --emulator URL --calendar ID --token ACCESS_TOKEN
--project P [--props FILE]`` (``DATASTORE_EMULATOR_HOST`` in the environment). Prints one JSON
line: ``{seconds, rss_before_mb, maxrss_mb, result}``. Modes:

* ``ours``: the product's ``SyncEngine.sync`` built exactly as the service builds it.
* ``seed``: ``bench.baseline_seed`` with the null check added (so it can run at all);
  ``seed-strict``: the seed as written (raises on the first event without conference data).
* ``floor``: ``bench.floor`` — the same sync's minimal work, provider calls on a pool of the
  product's size; ``floor-sequential``: the same with a pool of one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

MODES = ("ours", "seed", "seed-strict", "floor", "floor-sequential")
START_RSS = [0.0]  # resident size once everything is imported and built, before the sync


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """This process's own peak resident size. Not ``ru_maxrss``: Linux carries the parent's
    high-water mark across fork+exec into it, so a child of a big process looks big."""
    return rss_mb("VmHWM")


def solutions(emulator: str) -> tuple[Any, ...]:
    from addon.settings import Solution

    base = emulator + "/_conferencing"
    return (
        Solution("web-conference", "Web conference", "https://x.example/l.png", "rest",
                 {"base_url": base}),
        Solution("recorded-web-conference", "Recorded web conference",
                 "https://x.example/l.png", "rest", {"base_url": base}),
    )  # fmt: skip


def run_ours(args: argparse.Namespace) -> tuple[float, dict[str, Any]]:
    from addon.services import Services
    from addon.settings import Settings

    settings = Settings(
        base_url="http://127.0.0.1:9",
        certs_url=args.emulator + "/oauth2/v1/certs",
        calendar_api_endpoint=args.emulator + "/calendar/v3/",
        datastore_project=args.project,
        solutions=solutions(args.emulator),
        sync_mode="inline",
    ).validate()
    svc = Services.build(settings)
    client = svc.calendar_for_token(args.token)
    svc.engine  # noqa: B018 - build the engine and the Datastore client before timing
    START_RSS[0] = rss_mb()
    started = time.perf_counter()
    run = svc.engine.sync(args.calendar, client)
    seconds = time.perf_counter() - started
    return seconds, {
        "status": run.status,
        "runs": [r.to_dict() for r in run.reports],
        "calendar_calls": dict(client.calls),
    }


def run_floor(args: argparse.Namespace, sequential: bool) -> tuple[float, dict[str, Any]]:
    import google.oauth2.credentials

    from addon.calendar.client import CalendarClient
    from addon.store.datastore import Store
    from bench.floor import FloorSync

    # Built before timing, as ours builds its services before timing.
    floor = FloorSync(
        Store.connect(args.project), solutions(args.emulator), 1 if sequential else None
    )
    credentials = google.oauth2.credentials.Credentials(token=args.token)
    client = CalendarClient(credentials, api_endpoint=args.emulator + "/calendar/v3/")
    START_RSS[0] = rss_mb()
    started = time.perf_counter()
    report = floor.sync(client, args.calendar)
    seconds = time.perf_counter() - started
    return seconds, {"pool_size": floor.pool_size, **asdict(report), "calendar_calls": client.calls}


def run_seed(args: argparse.Namespace, strict: bool) -> tuple[float, dict[str, Any]]:
    from bench.baseline_seed import SeedSync, ThirdParty, UserProperties
    from localgoogle.calendar.client import calendar_service

    service = calendar_service(args.emulator, args.token)
    third = ThirdParty(args.emulator + "/_conferencing")
    seed = SeedSync(service, UserProperties(Path(args.props)), third, null_safe=not strict)
    START_RSS[0] = rss_mb()
    started = time.perf_counter()
    error = None
    try:
        seed.sync_events({"calendarId": args.calendar})
    except Exception as exc:  # the strict seed is expected to die; report how
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    return seconds, {
        "events_seen": seed.events_seen,
        "provider_calls": third.calls,
        "crashed": error,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--calendar", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--project", default="bench-addon")
    parser.add_argument("--props", default="")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("addon").setLevel(logging.WARNING)
    if args.mode == "ours":
        seconds, result = run_ours(args)
    elif args.mode in ("floor", "floor-sequential"):
        seconds, result = run_floor(args, sequential=args.mode == "floor-sequential")
    else:
        seconds, result = run_seed(args, strict=args.mode == "seed-strict")
    out = {
        "seconds": seconds,
        "rss_before_mb": round(START_RSS[0], 1),
        "maxrss_mb": round(peak_rss_mb(), 1),
        "result": result,
    }
    sys.stdout.write(json.dumps(out, default=str) + "\n")


if __name__ == "__main__":
    main()
