"""Every command in the README's ``sh`` blocks is run by this test, by another named test, or
by CI; gcloud commands, which need a Google project, are checked against gcloud's own help so
a renamed or invented flag fails here."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from localgoogle.datastore_emulator import free_port

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        commands.extend(line.strip() for line in block.splitlines() if line.strip())
    return commands


COMMANDS = readme_commands()


def test_readme_has_the_two_commands_and_ci_runs_the_test_one() -> None:
    assert "make run" in COMMANDS
    assert "exec make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:.*\n\t\$\(BIN\)/python -m localrun \$\(ARGS\)$", makefile, re.MULTILINE)
    # `python -m localrun` itself is started and stopped by tests/localrun/test_runner.py.


def test_every_command_is_covered() -> None:
    known = (
        "make run",
        "make test",
        ".venv/bin/flask --app app ",
        "gcloud ",
        ".venv/bin/python -m localgoogle",
        # Run against a live stack by tests/localrun/test_runner.py (run_readme_sync).
        'eval "$(.venv/bin/python -m localrun.shell_env ',
        # The Apps Script bridge's deployment: checked by test_clasp_commands_are_documented.
        "npm install -g @google/clasp",
        "clasp ",
        "cd bridge && clasp ",
    )
    for command in COMMANDS:
        assert command.startswith(known), f"README command with no test: {command}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("gcloud ")])
def test_gcloud_commands_use_real_flags(command: str) -> None:
    gcloud = shutil.which("gcloud")
    assert gcloud, "the gcloud SDK is required (it also provides the Datastore emulator)"
    words = shlex.split(command)
    path = [w for w in words[1:] if not w.startswith("-") and "$" not in w and "=" not in w]
    # The command path ends where positional arguments (names, ids) begin: ask gcloud.
    for cut in range(len(path), 0, -1):
        result = subprocess.run(
            [gcloud, *path[:cut], "--help"],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode == 0:
            break
    assert result.returncode == 0, f"gcloud does not know {command}"
    help_text = ANSI.sub("", result.stdout)
    for flag in (w.split("=")[0] for w in words if w.startswith("--")):
        assert flag in help_text, f"{flag} is not a flag of `gcloud {' '.join(path[:cut])}`"


def test_deployment_command_renders() -> None:
    command = next(c for c in COMMANDS if " deployment --base-url https://" in c)
    out = subprocess.run(
        shlex.split(command.replace(".venv/bin/flask", f"{sys.executable} -m flask")),
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert '"calendarNotificationTrigger"' in out.stdout


def test_emulator_command_serves_calendar() -> None:
    command = next(c for c in COMMANDS if "-m localgoogle" in c)
    port = free_port()
    argv = shlex.split(
        command.replace("8090", str(port)).replace(".venv/bin/python", sys.executable)
    )
    proc = subprocess.Popen(argv, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                token = requests.post(
                    f"{base}/_emulator/users", json={"email": "a@example.com"}, timeout=2
                ).json()["accessToken"]
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.2)
        r = requests.get(
            f"{base}/calendar/v3/calendars/a@example.com/events",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert r.status_code == 200 and r.json()["kind"] == "calendar#events"
        # The standalone command serves the add-on host beside the Calendar.
        host = requests.get(f"{base}/_emulator/addon", timeout=5).json()
        assert host["installed"] is False and host["certsUrl"].endswith("/oauth2/v1/certs")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


# clasp's commands and flags the README uses, as Google's clasp guide
# (developers.google.com/apps-script/guides/clasp) and clasp's own README document them:
# clasp needs a Google account to run, so the commands are checked against this table.
CLASP = {
    "login": set(),
    "create": {"--type", "--title", "--parentId", "--rootDir"},
    "push": {"--force", "--watch"},
    "deploy": {"--versionNumber", "--description", "--deploymentId"},
}


def test_clasp_commands_are_documented() -> None:
    clasp = [c.split("clasp ", 1)[1] for c in COMMANDS if "clasp " in c and "@google" not in c]
    assert {c.split()[0] for c in clasp} == {"login", "create", "push", "deploy"}
    for command in clasp:
        words = shlex.split(command)
        assert words[0] in CLASP, command
        for flag in (w for w in words[1:] if w.startswith("--")):
            assert flag in CLASP[words[0]], f"clasp {words[0]} has no {flag}"
    # The project clasp pushes is the one rendered by the command before it.
    render = next(c for c in COMMANDS if "bridge-manifest" in c and "--out bridge" in c)
    assert COMMANDS.index(render) < COMMANDS.index(next(c for c in COMMANDS if "clasp push" in c))
    ignore = (ROOT / "bridge" / ".claspignore").read_text().split()
    assert {"!appsscript.json", "!Code.js", "!Solutions.js"} <= set(ignore)
