"""The in-process stack (tests/e2e/stack.py) with the bridge on, and the Apps Script stand-in
running the bridge's script (Node) against it."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localgoogle.apps_script import DEFAULT_BRIDGE_CLIENT_ID, AppsScriptStandIn
from localgoogle.datastore_emulator import free_port
from localrun.bridge import write_bridge_project
from tests.e2e.stack import Stack, running_stack


@dataclass
class BridgeStack:
    stack: Stack
    script: AppsScriptStandIn

    def settle(self, timeout: float = 30.0) -> None:
        """Until nothing moves: push notifications delivered, the script's executions done,
        trigger calls and sync tasks finished (a sync's write-back is a change again)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        last = -1
        while quiet < 2:
            assert time.monotonic() < deadline, "the bridge did not settle"
            self.stack.control("POST", "/_emulator/push/flush", {"timeout": 10})
            assert self.script.idle(10), "script executions did not finish"
            self.stack.settle(max(1.0, deadline - time.monotonic()))
            count = len(self.script.executions())
            quiet = quiet + 1 if count == last else 0
            last = count

    def trigger_runs(self) -> list[dict[str, Any]]:
        return [e for e in self.script.executions() if e["kind"] == "trigger"]


@contextlib.contextmanager
def running_bridge(
    project: str, client_id: str = DEFAULT_BRIDGE_CLIENT_ID, **overrides: Any
) -> Iterator[BridgeStack]:
    """``client_id``: the client the stand-in's script has (its identity tokens' audience);
    the backend trusts ``DEFAULT_BRIDGE_CLIENT_ID``."""
    overrides.setdefault("bridge_client_id", DEFAULT_BRIDGE_CLIENT_ID)
    with running_stack(project, **overrides) as stack, tempfile.TemporaryDirectory() as tmp:
        settings = stack.services.settings
        out = write_bridge_project(settings, stack.addon_url, Path(tmp))
        script = AppsScriptStandIn(out, stack.emulator_url, client_id, port=free_port()).start()
        try:
            yield BridgeStack(stack, script)
        finally:
            with contextlib.suppress(Exception):
                script.reset()
            script.stop()
