"""``python -m localrun`` as a person runs it: real processes (gcloud's Datastore emulator,
the emulator stack, gunicorn with two workers), real ports, real signals."""

from __future__ import annotations

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
    return LocalPorts(backend=free_port(), emulator=free_port(), datastore=free_port())


def runner_argv(ports: LocalPorts) -> list[str]:
    return [
        sys.executable, "-m", "localrun",
        "--backend-port", str(ports.backend),
        "--emulator-port", str(ports.emulator),
        "--datastore-port", str(ports.datastore),
    ]  # fmt: skip


@contextmanager
def started(ports: LocalPorts) -> Iterator[RunnerProcess]:
    process = subprocess.Popen(
        runner_argv(ports), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
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


def test_runs_the_stack_then_stops_every_process_and_starts_again() -> None:
    ports = free_ports()
    with started(ports) as runner:
        runner.wait_ready()
        health = requests.get(f"{ports.backend_url}/healthz", timeout=10).json()
        assert health["idTokenVerification"] == "on"
        assert f"{ports.emulator_url}/console/" in runner.output
        pick_one_conference(ports)
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
    # One line (an import-time FutureWarning of google-api-core may precede it).
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and done.stderr.strip().endswith(errors[0]), done.stderr
    assert f"port {ports.backend}" in errors[0] and "--backend-port" in errors[0]
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
