"""The production entry points (Procfile, Dockerfile) start the same gunicorn app.

There is no Docker engine on the CI machine, so the image is not built here; this checks the
command it runs, and that gunicorn really serves ``app:app`` with that command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from addon.local.datastore_emulator import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_procfile_and_dockerfile_agree() -> None:
    procfile = (ROOT / "Procfile").read_text().strip()
    docker_cmd = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    )
    proc_cmd = procfile.removeprefix("web: ")
    assert docker_cmd.removeprefix("CMD exec ") == proc_cmd
    assert re.search(r"--workers \d+", proc_cmd) and proc_cmd.endswith("app:app")


def test_procfile_command_serves_healthz() -> None:
    port = free_port()
    command = (
        (ROOT / "Procfile").read_text().strip().removeprefix("web: ").replace("$PORT", str(port))
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    args = [gunicorn, *command.split()[1:]]
    env = {**os.environ, "ADDON_VERIFY_ID_TOKENS": "true", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline:
            try:
                body = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert body is not None and body["status"] == "ok"
        assert body["idTokenVerification"] == "on"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
