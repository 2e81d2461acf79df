"""Start and stop the real Cloud Datastore emulator from the gcloud SDK.

Used by the test fixtures and by the local runner. The emulator is a Java process started
with ``gcloud beta emulators datastore start``; we give it its own data directory so that
several can run at once, keep it in memory (``--no-store-on-disk``) and make it strongly
consistent (``--consistency=1.0``) so tests are deterministic.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# How to get what the emulator needs; the README's requirements say the same.
INSTALL_HINT = (
    "the Google Cloud SDK with its Datastore emulator component "
    "(`gcloud components install beta cloud-datastore-emulator`, or, for an SDK installed from "
    "Debian packages, `apt-get install google-cloud-cli-datastore-emulator`) and Java "
    "(`apt-get install --no-install-recommends default-jre-headless`)"
)
LOG_TAIL_LINES = 8


class DatastoreEmulatorError(RuntimeError):
    """The emulator could not be started (gcloud missing, port taken, start-up timed out)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass
class DatastoreEmulator:
    """A running emulator process; ``host_port`` goes into ``DATASTORE_EMULATOR_HOST``."""

    host: str = "127.0.0.1"
    port: int = 0
    project: str = "local-addon"
    log_path: Path | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _data_dir: str | None = field(default=None, init=False, repr=False)

    @property
    def host_port(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> DatastoreEmulator:
        gcloud = shutil.which("gcloud")
        if gcloud is None:
            raise DatastoreEmulatorError(f"gcloud is not on PATH: install {INSTALL_HINT}")
        if shutil.which("java") is None:
            raise DatastoreEmulatorError(
                f"java is not on PATH (the Datastore emulator runs on Java): install {INSTALL_HINT}"
            )
        if self.port == 0:
            self.port = free_port()
        elif port_in_use(self.host, self.port):
            raise DatastoreEmulatorError(
                f"port {self.port} is already in use: stop what listens there or choose "
                "another Datastore emulator port"
            )
        self._data_dir = tempfile.mkdtemp(prefix="datastore-emulator-")
        # Always a log, so a failed start can quote what gcloud said (a missing component).
        log_path = self.log_path or Path(self._data_dir, "emulator.log")
        log = open(log_path, "ab")  # noqa: SIM115 - closed below, once the child has its copy
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                gcloud,
                "beta",
                "emulators",
                "datastore",
                "start",
                "--no-store-on-disk",
                "--consistency=1.0",
                f"--host-port={self.host_port}",
                f"--project={self.project}",
                f"--data-dir={self._data_dir}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so stop() can kill the Java child too
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                said = _tail(log_path)
                code = self._proc.returncode
                self.stop()
                raise DatastoreEmulatorError(
                    f"the Datastore emulator exited with code {code}"
                    + (f"; gcloud said:\n{said}" if said else "")
                    + f"\nIt needs {INSTALL_HINT}."
                )
            if self._answers():
                return self
            time.sleep(0.25)
        self.stop()
        raise DatastoreEmulatorError(f"the Datastore emulator did not answer within {timeout}s")

    @property
    def pid(self) -> int | None:
        """The gcloud process (leader of the process group that holds the Java emulator)."""
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host_port}/", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def auto_indexes(self) -> set[tuple[str, bool, tuple[tuple[str, str], ...]]]:
        """The composite indexes the queries run so far would need in production, as the
        emulator records them (``WEB-INF/appengine-generated/datastore-indexes-auto.xml``):
        ``(kind, ancestor, ((property, direction), ...))``."""
        import xml.etree.ElementTree as ET  # the emulator's own file, trusted

        if self._data_dir is None:
            return set()
        path = Path(self._data_dir, "WEB-INF", "appengine-generated", "datastore-indexes-auto.xml")
        if not path.exists():
            return set()
        found = set()
        for index in ET.parse(path).getroot().iter("datastore-index"):  # noqa: S314
            props = tuple(
                (p.get("name", ""), p.get("direction", "asc")) for p in index.iter("property")
            )
            found.add((index.get("kind", ""), index.get("ancestor") == "true", props))
        return found

    def reset(self) -> None:
        """Drop every entity (the emulator's own ``/reset`` endpoint)."""
        req = urllib.request.Request(f"http://{self.host_port}/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
            r.read()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=10)
        self._proc = None
        if self._data_dir:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        lines = path.read_text(errors="replace").strip().splitlines()
        return "\n".join(f"  {line}" for line in lines[-LOG_TAIL_LINES:])
    return ""
