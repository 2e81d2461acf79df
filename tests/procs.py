"""A multi-process harness: the emulator side in this process, the add-on under real gunicorn.

Used by ``tests/procs/`` (concurrency and crash tests), ``bench`` and ``bench.faults``.

* ``emulator_side()`` — the Calendar emulator, the add-on host and the fake conferencing server
  (mounted at ``/_conferencing``) served by threaded werkzeug on a free loopback port.
* ``Gunicorn`` / ``gunicorn_addon()`` — ``gunicorn -w N --threads T app:app`` as a subprocess in
  its own process group, on a fixed free port (so a restart keeps the URL and the ID-token
  audience), killable with SIGKILL (master and workers at once) and restartable.
* ``install_deployment`` registers the add-on with the host; ``id_token`` mints system ID
  tokens; ``Trigger`` fires calendarNotificationTrigger calls by hand; ``wait_quiet`` polls
  Datastore until a calendar has no sync in flight and no work left.

Every wait is bounded; every process started here is stopped by the context managers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from flask import Flask

from addon.deployment import render
from addon.settings import from_env
from addon.store.datastore import Store
from addon.store.records import CalendarState
from addon.tasks.queue import SyncQueue
from localgoogle.app import create_emulator_app
from localgoogle.calendar.client import calendar_service
from localgoogle.datastore_emulator import free_port
from localgoogle.server import serve
from localgoogle.vendors.rest import ConferencingState, conferencing_blueprint

ROOT = Path(__file__).resolve().parent.parent
# Cloud Tasks retries a failed delivery after these (the deployment guide's are 1 s to 300 s).
QUEUE_BACKOFFS = {"min_backoff": timedelta(seconds=0.5), "max_backoff": timedelta(seconds=4)}


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) of every process, read from /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
SOLUTION = "web-conference"
RECORDED = "recorded-web-conference"
NOTIFICATION_PATH = "/calendar/notification"


class HarnessError(RuntimeError):
    """A process did not start, or a wait ran out of time."""


# ---- the emulator side ---------------------------------------------------------------------
@dataclass
class EmulatorSide:
    url: str
    app: Flask
    conferencing: ConferencingState
    tokens: dict[str, str] = field(default_factory=dict)
    _session: requests.Session = field(default_factory=requests.Session)

    def control(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        r = self._session.request(method, self.url + path, json=body, timeout=timeout)
        if r.status_code >= 300:
            raise HarnessError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def user(self, email: str) -> str:
        """The user's emulator access token (the userOAuthToken Google would send)."""
        if email not in self.tokens:
            answer = self.control("POST", "/_emulator/users", {"email": email})
            self.tokens[email] = answer["accessToken"]
        return self.tokens[email]

    def calendar(self, email: str) -> Any:
        """google-api-python-client Calendar service as ``email``, pointed at the emulator."""
        return calendar_service(self.url, self.user(email))

    def id_token(self, audience: str, **overrides: Any) -> str:
        body = {"audience": audience, **overrides}
        return str(self.control("POST", "/_emulator/addon/id-token", body)["idToken"])

    def stats(self) -> dict[str, int]:
        return dict(self.control("GET", "/_emulator/stats")["requests"])

    def list_calls(self) -> int:
        return int(self.stats().get("events.list", 0))

    def pick(self, calendar_id: str, event_id: str, user: str, solution: str = SOLUTION) -> Any:
        return self.control(
            "POST",
            f"/_emulator/calendars/{calendar_id}/events/{event_id}/pick-conference",
            {"solutionId": solution, "user": user},
        )

    def notifications(self, **settings: Any) -> Any:
        return self.control("POST", "/_emulator/addon/notifications", settings)

    def silence(self) -> None:
        """Stop the host's own trigger calls (tests then fire triggers by hand)."""
        self.notifications(dropRate=1.0, duplicateRate=0.0, delaySeconds=0.0)

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until the host has made every trigger call it owes and the tasks due within
        a second (the debounce of ``Gunicorn``) have run."""
        host = self.app.extensions["addon_host"]
        deadline = time.monotonic() + timeout
        return bool(host.flush(timeout)) and self.tasks_idle(max(0.1, deadline - time.monotonic()))

    def tasks_idle(self, timeout: float = 30.0, within: float = 1.0) -> bool:
        return bool(self.app.extensions["cloud_tasks"].wait_idle(timeout, within=within))

    def tasks_stats(self) -> dict[str, int]:
        return dict(self.app.extensions["cloud_tasks"].stats()["total"])

    def events(self, calendar_id: str) -> list[dict[str, Any]]:
        """Every stored event, cancelled ones included (control API; not counted in stats)."""
        return list(self.control("GET", f"/_emulator/calendars/{calendar_id}/events")["items"])

    # -- the conferencing server's log ---------------------------------------------------------
    def provider_calls(self, outcome: str | None = None) -> list[dict[str, Any]]:
        calls = self.conferencing.calls()
        return [c for c in calls if outcome is None or c["outcome"] == outcome]

    def meetings(self) -> dict[str, dict[str, Any]]:
        return {m["id"]: m for m in self.conferencing.meetings()}


@contextlib.contextmanager
def emulator_side() -> Iterator[EmulatorSide]:
    """Calendar emulator + add-on host + conferencing server, threaded, on a free port."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    conferencing = ConferencingState()
    app = create_emulator_app()
    app.register_blueprint(conferencing_blueprint(conferencing), url_prefix="/_conferencing")
    with serve(app) as url:
        side = EmulatorSide(url, app, conferencing)
        try:
            yield side
        finally:
            app.extensions["addon_host"].close()
            app.extensions["cloud_tasks"].close()
            conferencing.reset()  # releases provider calls hanging under a fault
            side._session.close()


# ---- the add-on under gunicorn -------------------------------------------------------------
def solutions_json(emulator_url: str) -> str:
    base = emulator_url + "/_conferencing"
    return json.dumps(
        [
            {"id": SOLUTION, "name": "Web conference", "provider": "rest",
             "options": {"base_url": base, "timeout_seconds": 0.5}},
            {"id": RECORDED, "name": "Recorded web conference", "provider": "rest",
             "options": {"base_url": base, "timeout_seconds": 0.5}},
        ]
    )  # fmt: skip


class Gunicorn:
    """The add-on under real gunicorn, in its own process group on a fixed loopback port."""

    def __init__(
        self,
        *,
        emulator_url: str,
        datastore_host: str,
        project: str,
        workers: int = 2,
        threads: int = 4,
        lease_seconds: int = 5,
        app: str = "app:app",
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
        log_dir: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.threads = threads
        self.app = app
        self.emulator_url = emulator_url
        self.env = {
            "ADDON_BASE_URL": self.url,
            "ADDON_CERTS_URL": emulator_url + "/oauth2/v1/certs",
            "ADDON_CALENDAR_API_ENDPOINT": emulator_url + "/calendar/v3/",
            "DATASTORE_EMULATOR_HOST": datastore_host,
            "ADDON_DATASTORE_PROJECT": project,
            "ADDON_SOLUTIONS": solutions_json(emulator_url),
            "ADDON_LEASE_SECONDS": str(lease_seconds),
            "ADDON_SYNC_MODE": "tasks",
            "ADDON_TASKS_API_ENDPOINT": emulator_url,
            "ADDON_SYNC_DEBOUNCE_SECONDS": "0.3",
            "ADDON_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self._log_dir = log_dir or tempfile.mkdtemp(prefix="gunicorn-addon-")
        self.log_path = Path(self._log_dir) / f"gunicorn-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def notification_url(self) -> str:
        return self.url + NOTIFICATION_PATH

    def conference_url(self, solution: str = SOLUTION) -> str:
        return f"{self.url}/calendar/conference/{solution}"

    def settings_env(self) -> dict[str, str]:
        return {k: v for k, v in self.env.items() if k.startswith("ADDON_")}

    def start(self, timeout: float = 30.0) -> Gunicorn:
        if self.proc is not None and self.proc.poll() is None:
            raise HarnessError("gunicorn is already running")
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        argv = [
            str(GUNICORN),
            "-w", str(self.workers),
            "--threads", str(self.threads),
            "-b", f"127.0.0.1:{self.port}",
            "--graceful-timeout", "3",
            "--timeout", "120",
            "--backlog", "2048",
            self.app,
        ]  # fmt: skip
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: SIGKILL takes the workers too
            )
        finally:
            log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"gunicorn exited with {self.proc.returncode}: {self.tail()}")
            if self._healthy() and len(self.worker_pids()) >= self.workers:
                return self
            time.sleep(0.1)
        self.kill()
        raise HarnessError(f"gunicorn did not answer within {timeout}s: {self.tail()}")

    def _healthy(self) -> bool:
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        """Live worker processes (children of the master)."""
        if self.proc is None:
            return []
        master = self.proc.pid
        return sorted(
            pid
            for pid, (parent, state) in process_table().items()
            if parent == master and state != "Z"
        )

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup runs, leases stay taken."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.proc = None

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one worker; the master starts a replacement."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        # Workers are in the same group; make sure none outlives the master.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None

    def restart(self, timeout: float = 30.0) -> Gunicorn:
        self.stop()
        return self.start(timeout)


def install_deployment(side: EmulatorSide, addon: Gunicorn) -> None:
    """Render the add-on's Deployment from its settings and install it in the host; in tasks
    mode create the sync queue (deployment guide's limits, test-sized backoffs)."""
    settings = from_env(addon.settings_env())
    side.control("POST", "/_emulator/addon/deployment", render(settings))
    if settings.sync_mode == "tasks":
        SyncQueue.for_settings(settings).ensure_queue(QUEUE_BACKOFFS)


@contextlib.contextmanager
def gunicorn_addon(
    side: EmulatorSide, datastore_host: str, project: str, **kwargs: Any
) -> Iterator[Gunicorn]:
    addon = Gunicorn(
        emulator_url=side.url, datastore_host=datastore_host, project=project, **kwargs
    )
    addon.start()
    try:
        install_deployment(side, addon)
        yield addon
    finally:
        addon.stop()


# ---- triggers by hand ----------------------------------------------------------------------
def notification_body(calendar_id: str, user_token: str) -> dict[str, Any]:
    return {
        "commonEventObject": {"hostApp": "CALENDAR", "platform": "WEB"},
        "authorizationEventObject": {"userOAuthToken": user_token},
        "calendar": {"calendarId": calendar_id},
    }


class Trigger:
    """Fires calendarNotificationTrigger calls like Google does (thread-safe: a session per
    thread). The system ID token for the URL is minted once and reused (valid one hour)."""

    def __init__(self, side: EmulatorSide, addon: Gunicorn, calendar_id: str, user: str) -> None:
        self.url = addon.notification_url
        self.body = json.dumps(notification_body(calendar_id, side.user(user)))
        self.token = side.id_token(self.url)
        self._local = threading.local()
        self.statuses: dict[int, int] = {}
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def fire(self, timeout: float = 30.0) -> int:
        try:
            r = self._session().post(
                self.url,
                data=self.body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self.token}",
                },
                timeout=timeout,
            )
            status = r.status_code
        except requests.RequestException:
            status = 0
        with self._lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
        return status


def burst(fire: Callable[[], Any], count: int, threads: int, deadline_s: float = 60.0) -> float:
    """Call ``fire`` ``count`` times from ``threads`` threads; return the wall time."""
    remaining = [count]
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s

    def worker() -> None:
        while time.monotonic() < stop_at:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            fire()

    started = time.monotonic()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=deadline_s + 5)
    return time.monotonic() - started


# ---- waiting on Datastore ------------------------------------------------------------------
def is_quiet(store: Store, calendar_id: str, now: datetime | None = None) -> bool:
    state = store.get_calendar(calendar_id)
    if state is None:
        return False
    return _quiet_state(state, now or datetime.now(UTC)) and store.count_pending(calendar_id) == 0


def _quiet_state(state: CalendarState, now: datetime) -> bool:
    lease_free = state.lease_owner is None or (
        state.lease_expires is not None and state.lease_expires <= now
    )
    return lease_free and not state.dirty and state.pending_count == 0


def wait_quiet(
    store: Store,
    calendar_id: str,
    *,
    since: datetime | None = None,
    timeout: float = 60.0,
    stable_for: float = 0.4,
    refire: Callable[[], object] | None = None,
    max_refires: int = 5,
) -> CalendarState:
    """Wait until the calendar is quiet (lease free, not dirty, nothing pending), stays so for
    ``stable_for`` seconds, and — with ``since`` — has finished a sync that started later.

    The engine gives up after a few runs per lease in a sustained storm and leaves the
    calendar dirty and unleased for the next trigger or the ``--due`` sweep. With ``refire``
    that state (held for ``stable_for``) is answered by calling ``refire()`` (a trigger), at
    most ``max_refires`` times; without it the wait times out, which is what a test that must
    see no such leftovers wants.
    """
    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    stuck_since: float | None = None
    refires = 0
    while time.monotonic() < deadline:
        now = datetime.now(UTC)
        state = store.get_calendar(calendar_id)
        synced = state is not None and (
            since is None or (state.last_sync_at is not None and state.last_sync_at >= since)
        )
        ok = state is not None and synced and is_quiet(store, calendar_id, now)
        if ok:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= stable_for:
                assert state is not None
                return state
        else:
            quiet_since = None
        stuck = (
            state is not None
            and state.dirty
            and (state.lease_owner is None or (state.lease_expires or now) <= now)
        )
        if stuck and refire is not None and refires < max_refires:
            stuck_since = stuck_since or time.monotonic()
            if time.monotonic() - stuck_since >= stable_for:
                refire()
                refires += 1
                stuck_since = None
        else:
            stuck_since = None
        time.sleep(0.05)
    raise HarnessError(
        f"calendar {calendar_id} not quiet after {timeout}s: {store.get_calendar(calendar_id)}"
    )


def wait_for(predicate: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise HarnessError(f"timed out after {timeout}s waiting for {message}")


def wait_lease_expired(store: Store, calendar_id: str, timeout: float = 60.0) -> None:
    """After a crash the dead holder's lease stays until it expires: wait for that."""

    def free() -> bool:
        state = store.get_calendar(calendar_id)
        if state is None or state.lease_owner is None:
            return True
        return state.lease_expires is not None and state.lease_expires <= datetime.now(UTC)

    wait_for(free, timeout, "the lease to expire")


# ---- invariants ----------------------------------------------------------------------------
def meeting_mismatches(side: EmulatorSide, calendar_id: str) -> list[str]:
    """Live events carrying one of our conferences whose meeting disagrees (title/start), and
    deleted events whose meeting is still alive."""
    meetings = side.meetings()
    problems: list[str] = []
    for event in side.events(calendar_id):
        if event.get("recurringEventId"):
            continue
        conf = (event.get("conferenceData") or {}).get("conferenceId")
        if not conf or conf not in meetings:
            continue
        meeting = meetings[conf]
        if event.get("status") == "cancelled":
            if not meeting["deleted"]:
                problems.append(f"{conf}: event deleted, meeting alive")
            continue
        if meeting["deleted"]:
            problems.append(f"{conf}: meeting deleted, event alive")
        if meeting.get("title") != event.get("summary"):
            problems.append(f"{conf}: title {meeting.get('title')!r} != {event.get('summary')!r}")
        if meeting.get("start") != event.get("start"):
            problems.append(f"{conf}: start {meeting.get('start')} != {event.get('start')}")
    return problems


def updates_by_meeting(side: EmulatorSide) -> dict[str, int]:
    """How many updates the conferencing server applied, per meeting."""
    out: dict[str, int] = {}
    for call in side.provider_calls("applied"):
        if call["op"] == "update":
            out[call["meetingId"]] = out.get(call["meetingId"], 0) + 1
    return out


def applied_twice(side: EmulatorSide) -> list[str]:
    """Idempotency keys the conferencing server applied more than once (must be none)."""
    counts: dict[str, int] = {}
    for call in side.provider_calls("applied"):
        key = call.get("idempotencyKey")
        if key:
            counts[key] = counts.get(key, 0) + 1
    return sorted(k for k, n in counts.items() if n > 1)


def token_is_valid(side: EmulatorSide, user: str, calendar_id: str, token: str) -> bool:
    from googleapiclient.errors import HttpError

    try:
        side.calendar(user).events().list(calendarId=calendar_id, syncToken=token).execute()
    except HttpError:
        return False
    return True


# ---- scenario building blocks --------------------------------------------------------------
def create_conferences(side: EmulatorSide, user: str, count: int) -> list[dict[str, Any]]:
    """``count`` events in ``user``'s primary calendar, each given one of our conferences by
    the host calling the add-on's onCreateFunction (as Calendar does when a user picks it)."""
    api = side.calendar(user)
    events = []
    for i in range(count):
        day, hour = divmod(i, 8)
        start = f"2030-02-{1 + day % 27:02d}T{9 + hour:02d}:00:00Z"
        end = f"2030-02-{1 + day % 27:02d}T{9 + hour:02d}:30:00Z"
        body = {
            "summary": f"Meeting {i}",
            "start": {"dateTime": start},
            "end": {"dateTime": end},
            "attendees": [{"email": "bob@example.com"}],
        }
        event = api.events().insert(calendarId=user, body=body).execute()
        answer = side.pick(user, event["id"], user)
        if not answer.get("applied"):
            raise HarnessError(f"conference not created: {answer}")
        events.append(event)
    return events


def edit_events(
    side: EmulatorSide, user: str, events: list[dict[str, Any]], tag: str, move: bool = True
) -> None:
    """A meaningful edit on each event (title, and start/end unless ``move`` is False)."""
    api = side.calendar(user)
    for i, event in enumerate(events):
        body: dict[str, Any] = {"summary": f"Meeting {i} ({tag})"}
        if move:
            body["start"] = {"dateTime": f"2030-03-{1 + i % 27:02d}T{8 + i % 10:02d}:15:00Z"}
            body["end"] = {"dateTime": f"2030-03-{1 + i % 27:02d}T{8 + i % 10:02d}:45:00Z"}
        api.events().patch(calendarId=user, eventId=event["id"], body=body).execute()


def settle_calendar(
    side: EmulatorSide, addon: Gunicorn, store: Store, calendar_id: str, user: str
) -> CalendarState:
    """Silence the host's triggers, then fire one by hand and wait for its sync to finish.

    A storm of host triggers (creating many conferences) may end with the calendar left dirty
    and unleased (the engine stops after a few runs per lease and leaves it for the next
    trigger or the ``--due`` sweep); one more trigger settles it deterministically.
    """
    side.silence()
    if not side.settle(30):
        raise HarnessError("the host's trigger calls did not finish")
    started = datetime.now(UTC)
    trigger = Trigger(side, addon, calendar_id, user)
    if trigger.fire() != 200:
        raise HarnessError(f"trigger answered {trigger.statuses}")
    return wait_quiet(store, calendar_id, since=started, timeout=60, refire=trigger.fire)


def wait_sync_done(
    store: Store, calendar_id: str, *, since: datetime, timeout: float = 60.0
) -> CalendarState:
    """Wait until a sync that started after ``since`` has finished and released the lease
    (pending changes may remain: that is what a provider outage leaves)."""
    found: list[CalendarState] = []

    def done() -> bool:
        state = store.get_calendar(calendar_id)
        if state is None or state.last_sync_at is None or state.last_sync_at < since:
            return False
        if state.lease_owner is not None or state.dirty:
            return False
        found[:] = [state]
        return True

    wait_for(done, timeout, "the sync to finish")
    return found[0]
