"""``Runner``: the whole add-on on this machine (``python -m localrun``, see ``command``).

The runner only supervises processes; it starts, each in its own process group:

1. the real Cloud Datastore emulator (gcloud; ``--datastore-port``, default 8081);
2. the emulator stack (``localrun.emulator_stack``: Calendar API, add-on host, fake
   conferencing server at ``/_conferencing``, console at ``/console``; ``--emulator-port``,
   default 8090), one process because its state is in memory;
3. the add-on backend under real gunicorn, 2 workers (``gunicorn app:app``;
   ``--backend-port``, default 8080), configured only through ``ADDON_*`` variables
   (``localrun.config.backend_env``) — ID-token verification on, against the emulator's keys;
4. the Apps Script stand-in (Node, ``bridge/runtime/host.js``; ``--bridge-port``, default
   8070) running the bridge's script, rendered for this backend (``localrun.bridge``), so the
   console can pick through the bridge as well as through the HTTP add-on;
5. then Cloud Scheduler's part (``localrun.scheduler``): the sweep every 30 s
   (``--sweep-seconds``).

It starts them in that order, installing the add-on's deployment in the emulator's add-on host
and creating the demo users before the backend starts, then waits for the backend's
``/readyz`` and prints the URLs: the backend answering means the whole stack is ready.
Children's output is streamed to the terminal, one prefix per process. Ctrl-C or SIGTERM
stops every process group it started (gcloud's Java child included); a child that dies stops
everything with a message.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from addon.settings import Settings, from_env
from localgoogle.apps_script import AppsScriptStandIn, StandInError
from localgoogle.datastore_emulator import DatastoreEmulator, DatastoreEmulatorError
from localrun.bridge import write_bridge_project
from localrun.config import (
    DEMO_USERS,
    HOST,
    PROJECT,
    WIRED,
    LocalPorts,
    StackEnvironment,
    bootstrap,
    stack_environment,
)
from localrun.scheduler import SweepScheduler

ROOT = Path(__file__).resolve().parents[1]  # where app.py lives
STOP_GRACE_SECONDS = 8.0


class RunnerError(Exception):
    """The stack could not start or stopped working; the message says which part and why."""


def format_line(name: str, line: str) -> str:
    """One child's output line for the terminal; the add-on's JSON log lines made readable."""
    text = line.rstrip("\n")
    if text.startswith("{"):
        try:
            entry = json.loads(text)
        except ValueError:
            entry = None
        if isinstance(entry, dict) and "message" in entry:
            extra = {
                k: v
                for k, v in entry.items()
                if k not in ("severity", "message", "logger", "time", "stack_trace")
            }
            text = f"{entry.get('severity', ''):<7} {entry.get('logger', '')}: {entry['message']}"
            if extra:
                text += "  " + " ".join(
                    f"{k}={json.dumps(v, default=str)}" for k, v in extra.items()
                )
            if entry.get("stack_trace"):
                text += "\n" + str(entry["stack_trace"])
    return f"{name:>9} | {text}"


@dataclass
class Child:
    name: str
    process: subprocess.Popen[str]
    reader: threading.Thread


class Runner:
    """Starts, watches and stops the local stack."""

    def __init__(
        self,
        ports: LocalPorts,
        *,
        project: str = PROJECT,
        workers: int = 2,
        out: IO[str] | None = None,
        environ: Mapping[str, str] | None = None,
        sweep_seconds: float = 30.0,
    ) -> None:
        self.ports = ports
        self.environ = os.environ if environ is None else environ
        self.project = project
        self.workers = workers
        self.out = out or sys.stdout
        self._print_lock = threading.Lock()
        self._children: list[Child] = []
        self._scheduler: SweepScheduler | None = None
        # How often the stand-in for Cloud Scheduler sweeps (production: every few minutes).
        self.sweep_seconds = sweep_seconds
        self._log_dir = tempfile.mkdtemp(prefix="addon-local-")
        self.datastore = DatastoreEmulator(
            port=ports.datastore,
            project=project,
            log_path=Path(self._log_dir) / "datastore-emulator.log",
        )

    # -- output ----------------------------------------------------------------------------

    def say(self, message: str, name: str | None = "runner") -> None:
        """Print one message, prefixed like the children's lines (``name=None``: as is)."""
        with self._print_lock:
            text = message if name is None else format_line(name, message)
            print(text, file=self.out, flush=True)

    def _stream(self, name: str, stream: IO[str]) -> None:
        for line in stream:
            with self._print_lock:
                print(format_line(name, line), file=self.out, flush=True)

    # -- starting --------------------------------------------------------------------------

    def _spawn(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Child:
        env = {**self.environ, **env, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            list(argv),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,  # its own process group: stopped as a whole, and the
            # terminal's Ctrl-C reaches only the runner, which stops children in order
        )
        assert process.stdout is not None
        reader = threading.Thread(
            target=self._stream, args=(name, process.stdout), name=f"log-{name}", daemon=True
        )
        reader.start()
        child = Child(name, process, reader)
        self._children.append(child)
        return child

    def stack_environment(self) -> StackEnvironment:
        return stack_environment(self.ports, self.environ, project=self.project)

    def settings(self) -> Settings:
        """The backend's settings, as it will read them; ``SettingsError`` lists every problem
        (checked before anything starts, so a bad value costs no emulator start-up)."""
        return from_env(self.stack_environment().env)

    def explain_environment(self) -> None:
        """Say which ``ADDON_*`` variables the stack sets, and what became of the user's."""
        stack = self.stack_environment()
        self.say(
            f"the stack sets {', '.join(WIRED)} to point the add-on at this machine's "
            "emulators (README: what make run sets)"
        )
        for name, why in stack.replaced:
            self.say(f"ignoring your {name}: {why}")
        if stack.honoured:
            self.say(f"using your {', '.join(stack.honoured)}")

    def start(self) -> None:
        """Start everything and wait until it answers; ``RunnerError`` if a part does not.

        The backend starts last: once it answers ``/healthz`` the whole stack is ready (the
        Datastore emulator up, the deployment installed in the emulator's add-on host, the
        demo users created), so nobody can reach it half-built.
        """
        ports = self.ports
        env = self.stack_environment().env
        settings = from_env(env)  # the backend reads the same variables: fail early here
        self.explain_environment()
        self.say(f"starting the Datastore emulator on {ports.datastore_host} (gcloud, Java)")
        try:
            self.datastore.start(timeout=120)
        except DatastoreEmulatorError as exc:
            raise RunnerError(f"the Datastore emulator did not start: {exc}") from exc
        self.say(f"starting the emulator stack on {ports.emulator_url}")
        self._spawn(
            "emulator",
            [
                sys.executable, "-m", "localrun.emulator_stack",
                "--host", HOST, "--port", str(ports.emulator),
                "--datastore-project", self.project,
                "--bridge-url", ports.bridge_url,
            ],
            {"DATASTORE_EMULATOR_HOST": ports.datastore_host},
        )  # fmt: skip
        self._wait_until("emulator", f"{ports.emulator_url}/_emulator/addon", 30)
        try:
            bootstrap(ports.emulator_url, settings, DEMO_USERS)
        except Exception as exc:
            raise RunnerError(f"could not install the add-on in the emulator: {exc}") from exc
        self.say("add-on deployment installed in the emulator's add-on host; users created")
        self.say(
            f"starting the add-on backend (gunicorn, {self.workers} workers) on {ports.backend_url}"
        )
        self._spawn(
            "backend",
            [
                sys.executable, "-m", "gunicorn",
                "--workers", str(self.workers), "--threads", "4",
                "--bind", f"{HOST}:{ports.backend}",
                "--graceful-timeout", "5", "--timeout", "60",
                "--access-logfile", "-", "--access-logformat", '"%(r)s" %(s)s %(M)sms',
                "app:app",
            ],
            env,
        )  # fmt: skip
        self._wait_until("backend", f"{ports.backend_url}/readyz", 60)
        self._start_bridge(settings)
        self._scheduler = SweepScheduler(
            ports.emulator_url,
            ports.backend_url,
            settings.sweep_invoker,
            self.sweep_seconds,
            self.say,
        )
        self._scheduler.start()
        self.say(f"Cloud Scheduler's part: the sweep runs every {self.sweep_seconds:g} s")

    def _start_bridge(self, settings: Settings) -> None:
        """The Apps Script stand-in with the bridge's project rendered for this backend."""
        ports = self.ports
        project = write_bridge_project(settings, ports.backend_url, Path(self._log_dir) / "bridge")
        stand_in = AppsScriptStandIn(project, ports.emulator_url, port=ports.bridge)
        try:
            argv = stand_in.argv()
        except StandInError as exc:
            raise RunnerError(str(exc)) from exc
        self.say(f"starting the Apps Script stand-in (the bridge's script) on {ports.bridge_url}")
        self._spawn("script", argv, {})
        self._wait_until("script", f"{ports.bridge_url}/_control/health", 30)

    def _wait_until(self, name: str, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            crashed = self.crashed()
            if crashed:
                raise RunnerError(crashed)
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RunnerError(f"{name} did not answer {url} within {timeout:.0f} s")

    def banner(self) -> str:
        p = self.ports
        rows = [
            ("Console", f"{p.emulator_url}/console/", "play alice or bob, watch the add-on work"),
            ("Add-on", p.backend_url, f"gunicorn, {self.workers} workers · /healthz"),
            ("Emulator", p.emulator_url, "Calendar API /calendar/v3/ · control /_emulator/"),
            ("Vendor API", f"{p.emulator_url}/_conferencing", "fake conferencing server"),
            ("Apps Script", p.bridge_url, "stand-in running the bridge's script (Node)"),
            ("Datastore", p.datastore_host, f"project {self.project}"),
        ]
        line = "─" * 78
        text = [line, " Conference add-on — the local stack is up", ""]
        text += [f"   {label:<11} {url:<36} {note}" for label, url, note in rows]
        text += [
            "",
            f"   Users       {', '.join(DEMO_USERS)}",
            f"   Logs        below; the Datastore emulator's in {self.datastore.log_path}",
            "   Ctrl-C stops everything.",
            line,
        ]
        return "\n".join(text)

    # -- watching and stopping -------------------------------------------------------------

    def crashed(self) -> str | None:
        """Why the stack is broken (a child exited), or None while every part runs."""
        for child in self._children:
            code = child.process.poll()
            if code is not None:
                return f"{child.name} exited with code {code}"
        if self.datastore.pid is not None and not self.datastore.alive():
            return "the Datastore emulator exited"
        return None

    def wait(self, poll_seconds: float = 0.3) -> str:
        """Block until a child dies; returns why (a signal ends it by KeyboardInterrupt)."""
        while True:
            crashed = self.crashed()
            if crashed:
                return crashed
            time.sleep(poll_seconds)

    def pids(self) -> list[int]:
        pids = [c.process.pid for c in self._children]
        if self.datastore.pid is not None:
            pids.append(self.datastore.pid)
        return pids

    def stop(self) -> None:
        """Stop every process group we started: SIGTERM, then SIGKILL after a grace period."""
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
        for child in reversed(self._children):
            _stop_group(child.process)
        self.datastore.stop()
        for child in self._children:
            child.reader.join(timeout=2)
        self._children.clear()
        with contextlib.suppress(OSError):
            shutil.rmtree(self._log_dir)


def _stop_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE_SECONDS)
    # The leader may be gone while others in its group (gunicorn workers) linger.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
