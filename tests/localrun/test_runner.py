"""``python -m localrun`` as a person runs it: real processes (gcloud's Datastore emulator,
the emulator stack, gunicorn with two workers), real ports, real signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from localgoogle.datastore_emulator import free_port
from localrun.command import port_free
from localrun.config import LocalPorts
from tests.procs import process_table
from tests.test_readme import readme_commands

ROOT = Path(__file__).resolve().parents[2]
READY = "the local stack is up"
ALICE = "alice@example.com"


@dataclass
class RunnerProcess:
    process: subprocess.Popen[str]
    ports: LocalPorts
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY in self.output:
                return
            assert self.process.poll() is None, f"runner exited early:\n{self.output}"
            time.sleep(0.2)
        raise AssertionError(f"runner not ready within {timeout}s:\n{self.output}")


def free_ports() -> LocalPorts:
    return LocalPorts(
        backend=free_port(), emulator=free_port(), datastore=free_port(), bridge=free_port()
    )


def runner_argv(ports: LocalPorts) -> list[str]:
    return [
        sys.executable, "-m", "localrun",
        "--backend-port", str(ports.backend),
        "--emulator-port", str(ports.emulator),
        "--datastore-port", str(ports.datastore),
        "--bridge-port", str(ports.bridge),
    ]  # fmt: skip


@contextmanager
def started(ports: LocalPorts, env: dict[str, str] | None = None) -> Iterator[RunnerProcess]:
    process = subprocess.Popen(
        runner_argv(ports),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    runner = RunnerProcess(process, ports)
    assert process.stdout is not None
    reader = threading.Thread(
        target=lambda: runner.lines.extend(line.rstrip("\n") for line in process.stdout),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        yield runner
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=5)
        process.stdout.close()


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children in other sessions included), from /proc."""
    parents = {p: parent for p, (parent, _state) in process_table().items()}
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in found]
        found.update(children)
        frontier.extend(children)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def pick_one_conference(ports: LocalPorts) -> None:
    emulator = ports.emulator_url
    token = requests.post(f"{emulator}/_emulator/users", json={"email": ALICE}, timeout=10).json()[
        "accessToken"
    ]
    auth = {"Authorization": f"Bearer {token}"}
    event = requests.post(
        f"{emulator}/calendar/v3/calendars/{ALICE}/events",
        headers=auth,
        json={
            "summary": "Runner check",
            "start": {"dateTime": "2030-01-07T10:00:00Z"},
            "end": {"dateTime": "2030-01-07T11:00:00Z"},
        },
        timeout=10,
    ).json()
    answer = requests.post(
        f"{emulator}/_emulator/calendars/{ALICE}/events/{event['id']}/pick-conference",
        json={"solutionId": "web-conference", "user": ALICE},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] and answer.json()["subscribed"]
    stored = requests.get(
        f"{emulator}/calendar/v3/calendars/{ALICE}/events/{event['id']}", headers=auth, timeout=10
    ).json()
    conference_id = stored["conferenceData"]["conferenceId"]
    meeting = requests.get(f"{emulator}/_conferencing/meetings/{conference_id}", timeout=10)
    assert meeting.status_code == 200 and meeting.json()["title"] == "Runner check"
    console = requests.get(f"{emulator}/console/?user={ALICE}", timeout=30)
    assert console.status_code == 200 and "Runner check" in console.text
    assert conference_id in console.text


def stop_and_check_nothing_left(runner: RunnerProcess) -> None:
    children = descendants(runner.process.pid)
    assert len(children) >= 5, children  # emulator stack, gunicorn + 2 workers, gcloud, java
    runner.process.send_signal(signal.SIGINT)
    assert runner.process.wait(timeout=40) == 0, runner.output
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in children):
        time.sleep(0.2)
    assert not [p for p in children if alive(p)], runner.output
    for port in (runner.ports.backend, runner.ports.emulator, runner.ports.datastore):
        assert port_free(port), f"port {port} still taken"


def readme_sync_commands() -> list[str]:
    """The README's two lines that point ``flask sync`` at the local stack."""
    commands = [c for c in readme_commands() if "localrun.shell_env" in c]
    commands += [c for c in readme_commands() if c.endswith("app sync alice@example.com")]
    assert len(commands) == 2, commands
    return commands


def run_readme_sync(ports: LocalPorts) -> dict[str, object]:
    """Run the README's lines as written, with this test's ports, in one shell."""
    point, sync = readme_sync_commands()
    flags = " ".join(runner_argv(ports)[3:])
    point = point.replace("localrun.shell_env ", f"localrun.shell_env {flags} ", 1)
    script = f"set -e\n{point}\n{sync}\n".replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done
    # stderr carries the add-on's JSON log lines, and nothing else: no warning, no traceback.
    for line in done.stderr.splitlines():
        assert json.loads(line)["severity"] in ("INFO", "DEBUG"), done.stderr
    out: dict[str, object] = json.loads(done.stdout)
    return out


def test_runs_the_stack_then_stops_every_process_and_starts_again() -> None:
    ports = free_ports()
    caller = {
        "ADDON_CERTS_URL": "https://www.googleapis.com/oauth2/v1/certs",
        "ADDON_LEASE_SECONDS": "300",
    }
    with started(ports, caller) as runner:
        runner.wait_ready()
        health = requests.get(f"{ports.backend_url}/healthz", timeout=10).json()
        assert health["idTokenVerification"] == "on"
        assert f"{ports.emulator_url}/console/" in runner.output
        # The caller's variables: the wiring is the stack's and it says why; the rest is used.
        assert "ignoring your ADDON_CERTS_URL: " in runner.output
        assert "using your ADDON_LEASE_SECONDS" in runner.output
        assert "FutureWarning" not in runner.output and "Traceback" not in runner.output
        pick_one_conference(ports)
        synced = run_readme_sync(ports)
        runs = synced["synced"]
        assert isinstance(runs, list) and len(runs) == 1, synced
        run = runs[0]
        assert run["calendarId"] == ALICE and run["status"] == "done", synced
        stop_and_check_nothing_left(runner)
        assert "stopped" in runner.output

    with started(ports) as again:  # same ports, right after
        again.wait_ready()
        assert requests.get(f"{ports.backend_url}/healthz", timeout=10).status_code == 200
        stop_and_check_nothing_left(again)


def test_a_child_that_dies_stops_everything() -> None:
    with started(free_ports()) as runner:
        runner.wait_ready()
        children = descendants(runner.process.pid)
        emulator = next(
            p
            for p in children
            if b"localrun.emulator_stack" in Path(f"/proc/{p}/cmdline").read_bytes()
        )
        os.kill(emulator, signal.SIGKILL)
        assert runner.process.wait(timeout=40) == 1, runner.output
        assert "emulator exited with code -9: stopping everything" in runner.output
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in children):
            time.sleep(0.2)
        assert not [p for p in children if alive(p)], runner.output


def test_a_port_in_use_is_named_with_its_flag_and_exits_2() -> None:
    ports = free_ports()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports.backend))
        busy.listen()
        done = subprocess.run(
            runner_argv(ports), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 2, done
    [error] = done.stderr.splitlines()  # one line, and nothing else
    assert error.startswith("error:"), done.stderr
    assert f"port {ports.backend}" in error and "--backend-port" in error
    assert "starting" not in done.stdout
    assert port_free(ports.emulator) and port_free(ports.datastore)


def test_a_bad_port_value_is_a_usage_error() -> None:
    env = {**os.environ, "ADDON_LOCAL_EMULATOR_PORT": "eighty"}
    done = subprocess.run(
        [sys.executable, "-m", "localrun"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "ADDON_LOCAL_EMULATOR_PORT" in done.stderr


def test_bad_settings_are_listed_together_before_anything_starts() -> None:
    env = {**os.environ, "ADDON_LEASE_SECONDS": "soon", "ADDON_SOLUTIONS": "[{"}
    done = subprocess.run(
        runner_argv(free_ports()),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done
    lines = done.stderr.splitlines()
    assert lines[0] == "error: invalid settings (2 problems):", done.stderr
    assert lines[1].startswith("  - ADDON_LEASE_SECONDS must be an integer, got 'soon'")
    assert lines[2].startswith("  - ADDON_SOLUTIONS is not valid JSON")
    assert len(lines) == 3 and "starting" not in done.stdout


def test_healthz_200_means_the_whole_stack_is_ready() -> None:
    """The README promises it: the first moment the backend answers, a pick must work (the
    deployment installed, the Datastore emulator up), without waiting for the banner."""
    ports = free_ports()
    with started(ports) as runner:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert runner.process.poll() is None, runner.output
            try:
                if requests.get(f"{ports.backend_url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        else:
            raise AssertionError(f"the backend never answered:\n{runner.output}")
        pick_one_conference(ports)
        assert requests.get(f"{ports.backend_url}/readyz", timeout=10).status_code == 200
        runner.wait_ready()
        stop_and_check_nothing_left(runner)
