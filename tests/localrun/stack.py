"""The local stack in the test process: the emulator side exactly as the runner composes it
(``create_local_emulator_app``: Calendar emulator, add-on host, fake conferencing server,
console), the real add-on app configured from ``backend_env`` (inline sync by default, so a
settled trigger means a finished sync; tasks mode as ``make run`` has it for offline sync),
the Apps Script stand-in running the bridge's script (as the runner starts it), and the real
Datastore emulator of the test session."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from flask import Flask

from addon import create_app
from addon.calendar.client import RetryPolicy
from addon.settings import from_env
from localgoogle.apps_script import AppsScriptStandIn
from localgoogle.datastore_emulator import DatastoreEmulator, free_port
from localgoogle.server import serve
from localgoogle.vendors.rest import ConferencingState
from localrun.bridge import write_bridge_project
from localrun.config import LocalPorts, backend_env, bootstrap
from localrun.emulator_stack import create_local_emulator_app

ALICE = "alice@example.com"
BOB = "bob@example.com"


@dataclass
class LocalStack:
    ports: LocalPorts
    emulator_app: Flask
    addon_app: Flask
    tokens: dict[str, str]
    script: AppsScriptStandIn | None = None

    @property
    def console_url(self) -> str:
        return f"{self.ports.emulator_url}/console/"

    @property
    def conferencing(self) -> ConferencingState:
        state: ConferencingState = self.emulator_app.extensions["conferencing"]
        return state

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every trigger call is answered (inline sync: every sync finished); in
        tasks mode also every push delivery and every task due soon (and those they made);
        with the bridge, the script's trigger executions too."""
        url = self.ports.emulator_url
        tasks = self.addon_app.extensions["addon"].settings.sync_mode == "tasks"
        for _ in range(3 if tasks else 1):
            if tasks or self.script is not None:
                requests.post(f"{url}/_emulator/push/flush", json={"timeout": timeout}, timeout=60)
            r = requests.post(f"{url}/_emulator/addon/flush", json={"timeout": timeout}, timeout=60)
            assert r.status_code == 200 and r.json()["idle"], r.text
            if self.script is not None:
                # The bridge: Calendar's push to the stand-in, then the triggers' executions.
                assert self.script.idle(timeout), "script executions did not finish"
            if tasks:
                r = requests.post(
                    f"{url}/_tasks/wait-idle", json={"timeout": timeout, "within": 2.0}, timeout=60
                )
                assert r.status_code == 200 and r.json()["idle"], r.text

    def sync_runs(self, calendar_id: str = ALICE) -> int:
        """How many sync runs the add-on has recorded (what the console's log will show)."""
        return len(self.addon_app.extensions["addon"].store.recent_sync_runs(calendar_id, 50))

    def calendar(self, method: str, path: str, user: str = ALICE, **kwargs: Any) -> Any:
        r = requests.request(
            method,
            f"{self.ports.emulator_url}/calendar/v3{path}",
            headers={"Authorization": f"Bearer {self.tokens[user]}"},
            timeout=30,
            **kwargs,
        )
        assert r.status_code < 300, (r.status_code, r.text)
        return r.json() if r.content else None


@contextlib.contextmanager
def running_local_stack(
    datastore: DatastoreEmulator, sync_mode: str = "inline"
) -> Iterator[LocalStack]:
    ports = LocalPorts(
        backend=free_port(), emulator=free_port(), datastore=datastore.port, bridge=free_port()
    )
    settings = from_env(backend_env(ports, project=datastore.project, sync_mode=sync_mode))
    emulator_app = create_local_emulator_app(
        datastore_project=datastore.project,
        public_url=ports.emulator_url,
        bridge_url=ports.bridge_url,
    )
    addon_app = create_app(settings)
    addon_app.extensions["addon"].calendar_retry = RetryPolicy(base_delay=0.01, max_delay=0.05)
    with (
        serve(emulator_app, port=ports.emulator),
        serve(addon_app, port=ports.backend),
        tempfile.TemporaryDirectory() as tmp,
    ):
        tokens = bootstrap(ports.emulator_url, settings)
        project = write_bridge_project(settings, ports.backend_url, Path(tmp))
        script = AppsScriptStandIn(project, ports.emulator_url, port=ports.bridge).start()
        stack = LocalStack(ports, emulator_app, addon_app, tokens, script)
        try:
            yield stack
        finally:
            with contextlib.suppress(Exception):
                stack.settle(10)
            with contextlib.suppress(Exception):
                script.reset()
            script.stop()
            emulator_app.extensions["addon_host"].close()
