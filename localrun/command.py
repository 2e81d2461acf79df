"""The command line of the local stack: ``python -m localrun`` / ``make run``.

Ports come from flags or ``ADDON_LOCAL_*`` variables and are checked before anything starts;
then ``runner.Runner`` starts the processes and this waits for Ctrl-C, SIGTERM or a dead child.
Exit codes: 0 stopped by a signal, 1 start-up failed or a child died, 2 bad usage (a port in
use, an invalid port, invalid ``ADDON_*`` settings: all of them listed, without a traceback).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import NoReturn

from addon.settings import SettingsError
from localrun.config import HOST, PROJECT, LocalPorts
from localrun.runner import Runner, RunnerError

# (attribute of LocalPorts, flag, environment variable, what listens there)
PORT_OPTIONS = (
    ("backend", "--backend-port", "ADDON_LOCAL_BACKEND_PORT", "add-on backend"),
    ("emulator", "--emulator-port", "ADDON_LOCAL_EMULATOR_PORT", "Calendar emulator + console"),
    ("datastore", "--datastore-port", "ADDON_LOCAL_DATASTORE_PORT", "Datastore emulator"),
    ("bridge", "--bridge-port", "ADDON_LOCAL_BRIDGE_PORT", "Apps Script stand-in (bridge)"),
)


class PortInUse(RunnerError):
    def __init__(self, port: int, flag: str, env: str, what: str) -> None:
        super().__init__(
            f"port {port} ({what}) is already in use: stop what listens there, "
            f"or choose another port with {flag} or {env}"
        )
        self.port = port
        self.flag = flag


def port_free(port: int, host: str = HOST) -> bool:
    """True if a server could listen on ``port`` now (as our servers do: SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def check_ports(ports: LocalPorts) -> None:
    """Refuse before starting anything: ``PortInUse`` names the port and the flag."""
    for attr, flag, env, what in PORT_OPTIONS:
        port = getattr(ports, attr)
        if not port_free(port):
            raise PortInUse(port, flag, env, what)


def port_default(env: str, fallback: int) -> int:
    raw = os.environ.get(env)
    if not raw:
        return fallback
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        print(f"error: {env} must be a port number, got {raw!r}", file=sys.stderr)
        sys.exit(2)
    return int(raw)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = LocalPorts()
    parser = argparse.ArgumentParser(
        prog="python -m localrun",
        description="Run the add-on, the Calendar emulator with its console, and the "
        "Datastore emulator on this machine.",
    )
    for attr, flag, env, what in PORT_OPTIONS:
        parser.add_argument(
            flag,
            type=int,
            default=port_default(env, getattr(defaults, attr)),
            help=f"{what} port (env {env}; default {getattr(defaults, attr)})",
        )
    parser.add_argument(
        "--project",
        default=os.environ.get("ADDON_LOCAL_PROJECT", PROJECT),
        help=f"Datastore project id (env ADDON_LOCAL_PROJECT; default {PROJECT})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("ADDON_LOCAL_WORKERS", "2")),
        help="gunicorn workers of the backend (env ADDON_LOCAL_WORKERS; default 2)",
    )
    parser.add_argument(
        "--sweep-seconds",
        type=float,
        default=os.environ.get("ADDON_LOCAL_SWEEP_SECONDS", "30"),
        help="how often Cloud Scheduler's stand-in calls the sweep "
        "(env ADDON_LOCAL_SWEEP_SECONDS; default 30)",
    )
    args = parser.parse_args(argv)
    for _attr, flag, _env, _what in PORT_OPTIONS:
        port = getattr(args, flag[2:].replace("-", "_"))
        if not 0 < port < 65536:
            parser.error(f"{flag} must be a port number from 1 to 65535")
    ports = [args.backend_port, args.emulator_port, args.datastore_port, args.bridge_port]
    if len(set(ports)) != len(ports):
        parser.error(
            "--backend-port, --emulator-port, --datastore-port and --bridge-port must differ"
        )
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if not 1 <= args.sweep_seconds <= 3600:
        parser.error("--sweep-seconds must be between 1 and 3600")
    return args


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run until Ctrl-C / SIGTERM (exit 0) or a child dies (exit 1); see the module doc."""
    args = parse_args(argv)
    ports = LocalPorts(
        backend=args.backend_port,
        emulator=args.emulator_port,
        datastore=args.datastore_port,
        bridge=args.bridge_port,
    )
    try:
        check_ports(ports)
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runner = Runner(
        ports, project=args.project, workers=args.workers, sweep_seconds=args.sweep_seconds
    )
    try:
        runner.settings()
    except SettingsError as exc:
        print(f"error: {exc.report()}", file=sys.stderr)
        return 2
    previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, _interrupt)
    code = 0
    try:
        runner.start()
        runner.say(runner.banner(), name=None)
        reason = runner.wait()
        runner.say(f"{reason}: stopping everything")
        code = 1
    except KeyboardInterrupt:
        runner.say("stopping (signal received)")
    except RunnerError as exc:
        runner.say(f"error: {exc}; stopping everything")
        code = 1
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave processes behind.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        runner.stop()
        runner.say("stopped")
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    return code
