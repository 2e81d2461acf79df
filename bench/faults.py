"""``python -m bench.faults`` (``make faults``): issue 6's fault campaign. Bounded, self-stopping,
loopback only. Each case prints what it injected and what it checked; the totals (trials,
requests, faults injected, invariant violations) go to ``bench/faults.json``.

The sync invariant, checked after every sync case once the faults are cleared and **one**
trigger has run: every live event carrying one of our conferences has a meeting whose title and
start match it, deleted events have deleted meetings, and the conferencing server applied no
idempotency key twice (``duplicate`` answers are allowed: that is the key doing its job).

Cases: ``sigkill`` (a gunicorn worker killed at random moments of a long sync), ``datastore``
(the Datastore emulator restarted mid-sync), ``provider`` (conferencing API 500s, then hanging
past the client timeout), ``calendar`` (429/503 bursts and 410s at random), ``notifications``
(the host's triggers dropped 20%, duplicated, delayed), ``fuzz`` (Hypothesis-driven hostile
input at every endpoint), ``forged`` (callers with bad ID tokens).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from addon.store.datastore import Store
from bench.common import (
    change_events,
    conference_events,
    datastore,
    machine,
    reset_datastore,
    set_calendar,
    take_token,
)
from localgoogle.datastore_emulator import free_port
from tests.invariants import violations
from tests.procs import (
    RECORDED,
    SOLUTION,
    EmulatorSide,
    Gunicorn,
    HarnessError,
    Trigger,
    applied_twice,
    emulator_side,
    install_deployment,
    meeting_mismatches,
    notification_body,
    wait_for,
    wait_lease_expired,
    wait_quiet,
    wait_sync_done,
)

USER = "faults@example.com"
log = logging.getLogger("bench.faults")


def say(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


@dataclass
class CaseResult:
    name: str
    injected: str
    checked: str
    trials: int = 0
    requests: int = 0
    faults: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sizes:
    sigkill_trials: int = 20
    sigkill_changes: int = 10_000
    sync_changes: int = 2_000
    datastore_trials: int = 3
    provider_hang_seconds: float = 30.0
    calendar_rounds: int = 8
    notification_rounds: int = 10
    fuzz_examples: int = 3_000
    forged_rounds: int = 3
    lifecycle_trials: int = 8
    lifecycle_steps: int = 10
    readonly_trials: int = 3
    readonly_rounds: int = 4
    invitation_rounds: int = 8
    forbidden_rounds: int = 4
    slow_trials: int = 4
    jwt_rounds: int = 6
    unconfigured_trials: int = 2

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            sigkill_trials=2,
            sigkill_changes=400,
            sync_changes=200,
            datastore_trials=1,
            provider_hang_seconds=6.0,
            calendar_rounds=3,
            notification_rounds=4,
            fuzz_examples=300,
            forged_rounds=1,
            lifecycle_trials=2,
            lifecycle_steps=6,
            readonly_trials=1,
            readonly_rounds=2,
            invitation_rounds=2,
            forbidden_rounds=2,
            slow_trials=1,
            jwt_rounds=2,
            unconfigured_trials=1,
        )


class Traffic:
    """Counts every Calendar API answer of the emulator (and the failures it injected)."""

    def __init__(self, side: EmulatorSide) -> None:
        self.calendar = 0
        self.calendar_errors: dict[int, int] = {}
        side.app.config["EMULATOR_RESPONSE_HOOK"] = self._hook

    def _hook(self, method: str, status: int, body: Any) -> None:
        self.calendar += 1
        if status >= 400:
            self.calendar_errors[status] = self.calendar_errors.get(status, 0) + 1


# ---- the shared sync set-up and the invariant ------------------------------------------------
@dataclass
class SyncStack:
    side: EmulatorSide
    addon: Gunicorn
    store: Store
    datastore_host: str
    traffic: Traffic
    trigger: Trigger | None = None
    confs: list[Any] = field(default_factory=list)
    added_requests: int = 0

    def prepare(self, changes: int, subscribe: bool = False) -> None:
        """A calendar whose last sync stored a token, then ``changes`` changes: a tenth are
        edits of events carrying our conferences, the rest new ordinary events."""
        try:
            reset_datastore(self.datastore_host)
        except OSError:  # an emulator keeping its data on disk refuses /reset
            _delete_all(self.store)
        self.side.control("POST", "/_emulator/reset")
        self.side.conferencing.reset()
        self.side.tokens.clear()
        install_deployment(self.side, self.addon)
        self.confs = conference_events(self.side, self.store, USER, max(1, changes // 10))
        token = take_token(self.side, USER)
        set_calendar(self.store, USER, token, USER)
        if subscribe:
            self.side.control(
                "POST", "/_emulator/addon/subscribe", {"calendarId": USER, "user": USER}
            )
        change_events(self.side, USER, self.confs, changes - len(self.confs), "edited")
        self.trigger = Trigger(self.side, self.addon, USER, USER)

    def fire(self) -> int:
        assert self.trigger is not None
        self.added_requests += 1
        return self.trigger.fire()

    def clear_faults(self) -> None:
        self.side.conferencing.set_fault(None)
        self.side.control("DELETE", "/_emulator/faults")
        self.side.silence()
        self.side.settle(30)

    def recover_and_check(self, result: CaseResult, label: str) -> None:
        """Faults off, the dead holder's lease expired, ONE trigger, then the invariant."""
        self.clear_faults()
        wait_lease_expired(self.store, USER, timeout=60)
        since = datetime.now(UTC)
        status = self.fire()
        if status != 200:
            result.violations.append(f"{label}: recovery trigger answered {status}")
            return
        try:
            wait_quiet(self.store, USER, since=since, timeout=180)
        except HarnessError as exc:
            result.violations.append(f"{label}: not quiet after one trigger: {exc}"[:400])
            return
        for problem in meeting_mismatches(self.side, USER):
            result.violations.append(f"{label}: {problem}")
        for key in applied_twice(self.side):
            result.violations.append(f"{label}: applied twice: {key}")
        vendor_check(self.side, self.store, [USER], result, label)
        missing = [
            c.conference_id
            for c in self.confs
            if not any(
                call["meetingId"] == c.conference_id and call["op"] == "update"
                for call in self.side.provider_calls("applied")
            )
        ]
        if missing:
            result.violations.append(f"{label}: {len(missing)} edits never reached the provider")

    def account(self, result: CaseResult) -> None:
        provider = self.side.provider_calls()
        result.requests += self.traffic.calendar + len(provider) + self.added_requests
        result.faults += sum(1 for c in provider if c["outcome"] == "fault")
        result.faults += sum(
            n for status, n in self.traffic.calendar_errors.items() if status in (429, 503, 500)
        )
        self.traffic.calendar = 0
        self.traffic.calendar_errors = {}
        self.added_requests = 0


@contextlib.contextmanager
def sync_stack(
    datastore_host: str,
    project: str,
    workers: int = 1,
    lease_seconds: int = 5,
    extra_env: dict[str, str] | None = None,
) -> Iterator[SyncStack]:
    with emulator_side() as side:
        traffic = Traffic(side)
        addon = Gunicorn(
            emulator_url=side.url,
            datastore_host=datastore_host,
            project=project,
            workers=workers,
            threads=4,
            lease_seconds=lease_seconds,
            extra_env=extra_env,
        ).start()
        try:
            store = Store.connect(project)
            yield SyncStack(side, addon, store, datastore_host, traffic)
        finally:
            addon.stop()


def vendor_check(
    side: EmulatorSide,
    store: Store,
    calendars: list[str],
    result: CaseResult,
    label: str,
    *,
    check_guests: bool = True,
) -> None:
    """The user-visible invariants (``tests.invariants``) on the vendor's side and on the
    events. Changes parked as needing attention are exempt from "exactly one meeting" (a copy
    nobody may write keeps sharing its original's) and counted; they never excuse an orphan."""
    exempt = {(cal, p.event_id) for cal in calendars for p in store.list_pending(cal) if p.parked}
    problems = violations(
        side.events,
        calendars,
        side.meetings(),
        side.provider_calls(),
        exempt=exempt,
        check_guests=check_guests,
    )
    result.violations.extend(f"{label}: {p}" for p in problems)
    result.details["parked"] = result.details.get("parked", 0) + len(exempt)
    result.details["vendor_checks"] = result.details.get("vendor_checks", 0) + 1


def _wait_worker_back(addon: Gunicorn, old: list[int]) -> None:
    def back() -> bool:
        pids = addon.worker_pids()
        if len(pids) < addon.workers or set(pids) & set(old):
            return False
        try:
            return requests.get(addon.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(back, 60, "gunicorn to replace the killed worker")


# ---- cases -----------------------------------------------------------------------------------
def case_sigkill(host: str, project: str, sizes: Sizes, rng: random.Random) -> CaseResult:
    result = CaseResult(
        "sigkill",
        injected=f"SIGKILL of the gunicorn worker at a random moment of a "
        f"{sizes.sigkill_changes:,}-change sync ({sizes.sigkill_trials} trials)",
        checked="after the master restarts the worker, the lease expires and one trigger runs: "
        "every meeting matches its event, no idempotency key applied twice",
    )
    mid = 0
    with sync_stack(host, project, workers=1) as s:
        for trial in range(sizes.sigkill_trials):
            s.prepare(sizes.sigkill_changes)
            # A sync of 10,000 changes takes ~5 s here; kill anywhere in it (or just after).
            delay = rng.uniform(0.05, 5.0 * sizes.sigkill_changes / 10_000)
            s.fire()
            time.sleep(delay)
            state = s.store.get_calendar(USER)
            in_flight = state is not None and state.lease_owner is not None
            mid += int(in_flight)
            old = s.addon.worker_pids()
            for pid in old:
                s.addon.kill_worker(pid)
            result.faults += len(old)
            _wait_worker_back(s.addon, old)
            s.recover_and_check(result, f"trial {trial}")
            s.account(result)
            result.trials += 1
            say(
                f"  sigkill trial {trial}: killed after {delay:.2f}s "
                f"({'mid-sync' if in_flight else 'after the sync'}); "
                f"violations so far {len(result.violations)}"
            )
    result.details = {"killed_mid_sync": mid}
    return result


class RestartableDatastore:
    """A Datastore emulator that keeps its data on disk, so it can be restarted mid-sync."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.port = free_port()
        self.host_port = f"127.0.0.1:{self.port}"
        self.data_dir = tempfile.mkdtemp(prefix="datastore-restart-")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        gcloud = shutil.which("gcloud") or "gcloud"
        self.proc = subprocess.Popen(
            [gcloud, "beta", "emulators", "datastore", "start", "--store-on-disk",
             "--consistency=1.0", f"--host-port={self.host_port}", f"--project={self.project}",
             f"--data-dir={self.data_dir}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{self.host_port}/", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise HarnessError("the Datastore emulator did not restart")

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def case_datastore(sizes: Sizes, rng: random.Random) -> CaseResult:
    result = CaseResult(
        "datastore",
        injected="the Datastore emulator stopped (SIGTERM) and restarted on the same port at a "
        f"random moment of a {sizes.sync_changes:,}-change sync with a slow provider "
        f"({sizes.datastore_trials} trials)",
        checked="after the restart, lease expiry and one trigger: every meeting matches its "
        "event, no idempotency key applied twice",
    )
    project = "faults-restart"
    ds = RestartableDatastore(project)
    previous = os.environ.get("DATASTORE_EMULATOR_HOST")
    ds.start()
    os.environ["DATASTORE_EMULATOR_HOST"] = ds.host_port
    try:
        with sync_stack(ds.host_port, project, workers=1) as s:
            for trial in range(sizes.datastore_trials):
                s.prepare(sizes.sync_changes)
                s.side.conferencing.set_fault("hang", seconds=0.02)
                s.fire()
                time.sleep(rng.uniform(0.3, 1.5))
                ds.stop()
                time.sleep(rng.uniform(0.2, 1.0))
                ds.start()
                result.faults += 1
                s.recover_and_check(result, f"trial {trial}")
                s.account(result)
                result.trials += 1
                say(f"  datastore trial {trial}: violations so far {len(result.violations)}")
    finally:
        ds.close()
        if previous is not None:
            os.environ["DATASTORE_EMULATOR_HOST"] = previous
    return result


def case_provider(host: str, project: str, sizes: Sizes) -> CaseResult:
    result = CaseResult(
        "provider",
        injected="conferencing API answering 500 to every call during a sync; then hanging "
        f"{sizes.provider_hang_seconds:.0f} s per call (past the 5 s client timeout, and "
        "applied after the hang)",
        checked="changes kept pending and replayed; after the faults clear and one trigger "
        "runs every meeting matches its event, no idempotency key applied twice",
    )
    with sync_stack(host, project, workers=1, lease_seconds=60) as s:
        for mode, seconds in (("error500", 0.0), ("hang", sizes.provider_hang_seconds)):
            s.prepare(max(10, sizes.sync_changes // 10))
            s.side.conferencing.set_fault(mode, seconds=seconds)  # type: ignore[arg-type]
            since = datetime.now(UTC)
            s.fire()
            # The sync gives up on the provider and stores the changes as pending.
            state = wait_sync_done(s.store, USER, since=since, timeout=60 + 4 * seconds)
            pending = state.pending_count
            if pending == 0:
                result.violations.append(f"{mode}: no change kept pending during the outage")
            if mode == "hang":
                time.sleep(seconds + 1)  # let the hung calls be applied server-side
            s.recover_and_check(result, mode)
            s.account(result)
            result.trials += 1
            result.details[mode] = {"pending_during_outage": pending}
            say(f"  provider {mode}: {pending} pending; violations {len(result.violations)}")
    return result


def case_calendar(host: str, project: str, sizes: Sizes, rng: random.Random) -> CaseResult:
    result = CaseResult(
        "calendar",
        injected="Calendar events.list/get/patch answering 429 (30%) and 503 (20%) at random "
        f"over {sizes.calendar_rounds} rounds of edits and triggers, sync tokens expired "
        "(410) at random rounds",
        checked="after the faults clear and one trigger runs: every meeting matches its "
        "event, no idempotency key applied twice",
    )
    expired = 0
    with sync_stack(host, project, workers=2, lease_seconds=30) as s:
        s.prepare(sizes.sync_changes)
        for rnd in range(sizes.calendar_rounds):
            s.side.control(
                "POST",
                "/_emulator/faults",
                {
                    "seed": rng.randrange(1 << 30),
                    "rules": [
                        {"method": "*", "status": 429, "reason": "rateLimitExceeded", "rate": 0.3},
                        {"method": "*", "status": 503, "rate": 0.2},
                    ],
                },
            )
            if rng.random() < 0.4:
                s.side.control("POST", f"/_emulator/calendars/{USER}/expire-sync-tokens")
                expired += 1
                result.faults += 1
            # The user keeps editing (through the emulator's model: not counted as faults).
            for c in rng.sample(s.confs, min(5, len(s.confs))):
                s.side.app.config["EMULATOR_STATE"].events_patch(
                    USER, USER, c.event_id, {"summary": f"Round {rnd} {c.event_id}"}
                )
            for _ in range(3):
                s.fire()
            time.sleep(rng.uniform(0.5, 1.5))
        s.side.control("DELETE", "/_emulator/faults")
        s.recover_and_check(result, "calendar")
        s.account(result)
        result.trials = sizes.calendar_rounds
    result.details = {"token_expiries": expired}
    return result


def case_notifications(host: str, project: str, sizes: Sizes, rng: random.Random) -> CaseResult:
    result = CaseResult(
        "notifications",
        injected="the host's own trigger calls dropped (20%), duplicated (30%) and delayed "
        f"(0-1 s, so they arrive after later edits) over {sizes.notification_rounds} rounds "
        "of edits; triggers carry no event, so arrival order cannot matter beyond that",
        checked="after one more trigger: every meeting matches its event, no idempotency key "
        "applied twice",
    )
    with sync_stack(host, project, workers=2, lease_seconds=30) as s:
        s.prepare(max(20, sizes.sync_changes // 10), subscribe=True)
        api = s.side.calendar(USER)
        for rnd in range(sizes.notification_rounds):
            s.side.notifications(
                dropRate=0.2,
                duplicateRate=0.3,
                delaySeconds=rng.choice([0.0, 0.3, 1.0]),
                seed=rng.randrange(1 << 30),
            )
            for c in rng.sample(s.confs, min(4, len(s.confs))):
                api.events().patch(
                    calendarId=USER,
                    eventId=c.event_id,
                    body={"summary": f"Round {rnd} {c.event_id}"},
                ).execute()
            time.sleep(rng.uniform(0.1, 0.6))
        s.side.settle(60)
        calls = s.side.control("GET", "/_emulator/addon/calls")["calls"]
        notes = [c for c in calls if c.get("kind") == "notification"]
        dropped = sum(1 for c in notes if c.get("outcome") == "dropped")
        duplicated = sum(1 for c in notes if c.get("duplicate"))
        result.faults += dropped + duplicated
        result.requests += len(notes)
        api.close()
        s.recover_and_check(result, "notifications")
        s.account(result)
        result.trials = sizes.notification_rounds
        result.details = {"dropped": dropped, "duplicated": duplicated, "delivered": len(notes)}
    return result


def _delete_all(store: Store) -> None:
    client = store._client
    for kind in ("Calendar", "Conference", "Pending", "SyncRun"):
        query = client.query(kind=kind)
        query.keys_only()
        keys = [e.key for e in query.fetch()]
        for i in range(0, len(keys), 500):
            client.delete_multi(keys[i : i + 500])


def _snapshot(store: Store) -> dict[str, int]:
    client = store._client
    out = {}
    for kind in ("Calendar", "Conference", "Pending", "SyncRun"):
        query = client.query(kind=kind)
        query.keys_only()
        out[kind] = sum(1 for _ in query.fetch())
    return out


def case_fuzz(host: str, project: str, sizes: Sizes) -> CaseResult:
    from bench.fuzz import run_fuzz

    result = CaseResult(
        "fuzz",
        injected=f"{sizes.fuzz_examples:,} Hypothesis-generated hostile requests at every "
        "endpoint: malformed/oversized/deeply nested JSON and bytes, random methods, headers, "
        "content types and tokens (none, junk, valid for this or another endpoint)",
        checked="zero 5xx; every error answer a JSON {error: {code, reason, message}}; "
        "onCreate 2xx only as a conference error markup; Datastore and the conferencing "
        "server unchanged",
    )
    reset_datastore(host)
    with emulator_side() as side:
        addon = Gunicorn(
            emulator_url=side.url, datastore_host=host, project=project, workers=2, threads=4
        ).start()
        try:
            install_deployment(side, addon)
            store = Store.connect(project)
            before = _snapshot(store)
            stats = run_fuzz(side, addon, sizes.fuzz_examples)
            after = _snapshot(store)
        finally:
            addon.stop()
        if before != after:
            result.violations.append(f"Datastore changed: {before} -> {after}")
        if side.provider_calls():
            result.violations.append(f"{len(side.provider_calls())} conferencing calls made")
    result.violations.extend(stats["violations"][:50])
    result.requests = stats["requests"]
    result.faults = stats["requests"]
    result.trials = stats["requests"]
    result.details = {k: v for k, v in stats.items() if k != "violations"}
    return result


def _unsigned(audience: str) -> str:
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": audience,
        "email": "service-000000000000@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
        "sub": "1",
    }
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def case_forged(host: str, project: str, sizes: Sizes) -> CaseResult:
    result = CaseResult(
        "forged",
        injected="ID tokens: none, unsigned (alg none), wrong key, wrong audience, wrong "
        "issuer, wrong email, expired, and valid tokens replayed at another endpoint",
        checked="every one refused with 401 and a JSON error; nothing stored, no provider call",
    )
    reset_datastore(host)
    with emulator_side() as side:
        addon = Gunicorn(
            emulator_url=side.url, datastore_host=host, project=project, workers=1, threads=4
        ).start()
        try:
            install_deployment(side, addon)
            store = Store.connect(project)
            before = _snapshot(store)
            user_token = side.user(USER)
            endpoints = {
                "conference": addon.conference_url(SOLUTION),
                "recorded": addon.conference_url(RECORDED),
                "notification": addon.notification_url,
            }
            body = {
                **notification_body(USER, user_token),
                "calendar": {"calendarId": USER, "id": "evt12345"},
            }
            forgeries: dict[str, Callable[[str], str | None]] = {
                "no token": lambda url: None,
                "junk": lambda url: "not-a-jwt",
                "unsigned": _unsigned,
                "wrong key": lambda url: side.id_token(url, untrusted=True),
                "wrong audience": lambda url: side.id_token("https://elsewhere.example/x"),
                "wrong issuer": lambda url: side.id_token(url, issuer="https://evil.example"),
                "wrong email": lambda url: side.id_token(url, email="someone@example.com"),
                "expired": lambda url: side.id_token(url, expiresIn=-3600),
            }
            session = requests.Session()
            for _ in range(sizes.forged_rounds):
                for name, url in endpoints.items():
                    cases = {k: f(url) for k, f in forgeries.items()}
                    # Replays: a genuine token for each other endpoint.
                    for other, other_url in endpoints.items():
                        if other != name:
                            cases[f"replayed from {other}"] = side.id_token(other_url)
                    for label, token in cases.items():
                        headers = {"Content-Type": "application/json"}
                        if token is not None:
                            headers["Authorization"] = f"Bearer {token}"
                        r = session.post(url, data=json.dumps(body), headers=headers, timeout=30)
                        result.requests += 1
                        result.faults += 1
                        error = _json_error(r)
                        if r.status_code != 401 or error is None:
                            result.violations.append(
                                f"{label} at {name}: {r.status_code} {r.text[:120]}"
                            )
            result.trials = result.requests
            after = _snapshot(store)
        finally:
            addon.stop()
        if before != after:
            result.violations.append(f"Datastore changed: {before} -> {after}")
        if side.provider_calls():
            result.violations.append("a forged caller reached the conferencing server")
    return result


def _json_error(r: requests.Response) -> dict[str, Any] | None:
    try:
        body = r.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not {"code", "reason", "message"} <= set(error):
        return None
    return error


CASES = (
    "sigkill", "datastore", "provider", "calendar", "notifications", "fuzz", "forged",
    "lifecycle", "readonly", "invitation", "forbidden", "slow", "jwt", "unconfigured",
)  # fmt: skip


def run(
    cases: list[str],
    sizes: Sizes,
    datastore_host: str | None,
    project: str,
    seed: int,
    out: Path | None,
) -> dict[str, Any]:
    rng = random.Random(seed)
    results: list[CaseResult] = []
    started = time.monotonic()
    with datastore(datastore_host, project) as (host, proj):
        for name in cases:
            t0 = time.monotonic()
            say(f"case {name}: starting")
            if name == "sigkill":
                r = case_sigkill(host, proj, sizes, rng)
            elif name == "datastore":
                r = case_datastore(sizes, rng)
                os.environ["DATASTORE_EMULATOR_HOST"] = host
            elif name == "provider":
                r = case_provider(host, proj, sizes)
            elif name == "calendar":
                r = case_calendar(host, proj, sizes, rng)
            elif name == "notifications":
                r = case_notifications(host, proj, sizes, rng)
            elif name == "fuzz":
                r = case_fuzz(host, proj, sizes)
            elif name == "forged":
                r = case_forged(host, proj, sizes)
            elif name in CASES:
                from bench.faults_review import REVIEW_CASES

                r = REVIEW_CASES[name](host, proj, sizes, rng)
            else:
                raise SystemExit(f"unknown case {name!r}; choose from {', '.join(CASES)}")
            r.seconds = round(time.monotonic() - t0, 1)
            results.append(r)
            say(f"case {r.name}: injected: {r.injected}")
            say(f"case {r.name}: checked: {r.checked}")
            say(
                f"case {r.name}: trials {r.trials}, requests {r.requests}, faults {r.faults}, "
                f"violations {len(r.violations)}, {r.seconds}s"
            )
            for v in r.violations[:10]:
                say(f"    VIOLATION {v}")
    totals = {
        "trials": sum(r.trials for r in results),
        "requests": sum(r.requests for r in results),
        "faults_injected": sum(r.faults for r in results),
        "invariant_violations": sum(len(r.violations) for r in results),
        "seconds": round(time.monotonic() - started, 1),
    }
    report = {
        "machine": machine(),
        "seed": seed,
        "cases": [asdict(r) for r in results],
        "totals": totals,
    }
    print("\n| case | trials | requests | faults injected | violations | s |")
    print("|------|--------|----------|-----------------|------------|---|")
    for r in results:
        print(
            f"| {r.name} | {r.trials} | {r.requests} | {r.faults} | {len(r.violations)} "
            f"| {r.seconds} |"
        )
    print(
        f"| **total** | {totals['trials']} | {totals['requests']} | "
        f"{totals['faults_injected']} | {totals['invariant_violations']} | {totals['seconds']} |"
    )
    if out is not None:
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.faults")
    parser.add_argument("--trials", type=int, default=20, help="SIGKILL trials")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--datastore", default=None, help="HOST:PORT of a running emulator")
    parser.add_argument("--project", default="faults-addon")
    parser.add_argument("--out", default=str(Path(__file__).parent / "faults.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sizes = Sizes.quick() if args.quick else Sizes()
    if not args.quick:
        sizes.sigkill_trials = args.trials
    report = run(
        [c.strip() for c in args.cases.split(",") if c.strip()],
        sizes,
        args.datastore,
        args.project,
        args.seed,
        Path(args.out),
    )
    raise SystemExit(1 if report["totals"]["invariant_violations"] else 0)


if __name__ == "__main__":
    main()
