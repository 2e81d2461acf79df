"""Apps Script, played locally: starts the Node stand-in (``bridge/runtime/host.js``) that runs
the bridge's script project against the local Google, and drives its control API.

``AppsScriptStandIn(project_dir, google_url, client_id)`` runs ``node bridge/runtime/host.js``;
``start()`` waits until it answers; ``pick(...)`` is a Calendar user picking a solution (the
script's onCreateFunction runs, its ConferenceData lands on the event); ``triggers()``,
``executions()``, ``idle()``, ``reset()``, ``limits(...)`` reach its state; ``stop()`` ends it.
The stand-in gets identity tokens for ``client_id`` (the script's OAuth client) and users'
OAuth tokens from the emulator's control API, and learns of calendar changes through Calendar
push channels: nothing here knows the add-on (``localgoogle`` imports nothing of ``addon``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

BRIDGE_DIR = Path(__file__).resolve().parents[1] / "bridge"
HOST_SCRIPT = BRIDGE_DIR / "runtime" / "host.js"
# The OAuth client of the bridge's Apps Script project, locally: the audience of the identity
# tokens the stand-in obtains (a distinct client from the HTTP add-on's).
DEFAULT_BRIDGE_CLIENT_ID = "000000000000-bridge.apps.googleusercontent.com"


class StandInError(RuntimeError):
    """The stand-in did not start, or a control call failed."""


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise StandInError(
            "Node.js is required for the Apps Script bridge's stand-in "
            "(Debian: apt-get install nodejs; version 20 or later)"
        )
    return node


class AppsScriptStandIn:
    def __init__(
        self,
        project_dir: Path,
        google_url: str,
        client_id: str = DEFAULT_BRIDGE_CLIENT_ID,
        *,
        port: int,
        account: str = "consumer",
        output: Callable[[str], None] | None = None,
    ) -> None:
        self.project_dir = project_dir
        self.google_url = google_url
        self.client_id = client_id
        self.port = port
        self.account = account
        self.url = f"http://127.0.0.1:{port}"
        self._output = output
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def argv(self) -> list[str]:
        return [
            node_binary(), str(HOST_SCRIPT),
            "--project", str(self.project_dir), "--google", self.google_url,
            "--client-id", self.client_id, "--port", str(self.port), "--account", self.account,
        ]  # fmt: skip

    def start(self, timeout: float = 20.0) -> AppsScriptStandIn:
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            self.argv(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._pump, name="apps-script-log", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StandInError(f"the Apps Script stand-in exited ({self._process.returncode})")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/_control/health", timeout=1).ok:
                    return self
            time.sleep(0.05)
        self.stop()
        raise StandInError(f"the Apps Script stand-in did not answer on {self.url}")

    def _pump(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        for line in process.stdout:
            if self._output is not None:
                self._output(line.rstrip("\n"))

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
        if self._reader is not None:
            self._reader.join(timeout=2)
        self._process = None

    # -- control API --------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        r = requests.request(method, self.url + path, json=body, timeout=timeout)
        if r.status_code >= 400:
            raise StandInError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def pick(self, calendar_id: str, event_id: str, solution_id: str, user: str) -> dict[str, Any]:
        """``{execution, conferenceData, conferenceError, applied, eventMissing}``."""
        body = {"calendarId": calendar_id, "eventId": event_id, "solutionId": solution_id}
        answer: dict[str, Any] = self._call("POST", "/_control/pick", {**body, "user": user})
        return answer

    def triggers(self, user: str | None = None) -> list[dict[str, Any]]:
        query = f"?user={user}" if user else ""
        return list(self._call("GET", "/_control/triggers" + query)["triggers"])

    def executions(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_control/executions")["executions"])

    def idle(self, timeout: float = 10.0) -> bool:
        return bool(self._call("POST", "/_control/idle", {"timeout": timeout})["idle"])

    def reset(self) -> None:
        self._call("POST", "/_control/reset", {})

    def limits(self, **values: float) -> dict[str, Any]:
        return dict(self._call("POST", "/_control/limits", values)["limits"])
