"""The bridge's Apps Script project: rendered from the solutions configuration, the committed
files match the rendering, and the script defines every function the manifest names."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from addon.apps_script import BRIDGE_SCOPES, render_manifest, render_solutions_js
from addon.deployment import PLACEHOLDER_BASE_URL, render
from addon.settings import SettingsError, from_env

ROOT = Path(__file__).resolve().parents[2]
BRIDGE = ROOT / "bridge"


def test_committed_project_is_the_rendering_for_the_placeholder_host() -> None:
    settings = from_env({})
    manifest = json.loads((BRIDGE / "appsscript.json").read_text())
    assert manifest == render_manifest(settings, PLACEHOLDER_BASE_URL)
    assert (BRIDGE / "Solutions.js").read_text() == render_solutions_js(
        settings, PLACEHOLDER_BASE_URL
    )


def test_solutions_are_the_http_deployments_and_every_function_exists() -> None:
    settings = from_env({})
    manifest = render_manifest(settings, PLACEHOLDER_BASE_URL)
    http = render(settings, PLACEHOLDER_BASE_URL)["addOns"]["calendar"]["conferenceSolution"]
    bridge = manifest["addOns"]["calendar"]["conferenceSolution"]
    assert [(s["id"], s["name"], s["logoUrl"]) for s in bridge] == [
        (s["id"], s["name"], s["logoUrl"]) for s in http
    ]
    assert manifest["addOns"]["calendar"]["currentEventAccess"] == "READ_WRITE"
    assert manifest["runtimeVersion"] == "V8"
    assert manifest["oauthScopes"] == BRIDGE_SCOPES
    assert {"openid", "https://www.googleapis.com/auth/script.external_request"} <= set(
        manifest["oauthScopes"]
    )
    script = (BRIDGE / "Solutions.js").read_text() + (BRIDGE / "Code.js").read_text()
    defined = set(re.findall(r"^function (\w+)\(", script, re.MULTILINE))
    assert {s["onCreateFunction"] for s in bridge} | {
        "createConference_",
        "onCalendarEventUpdated",
    } <= defined
    # Every URL the script calls is under an allowlisted prefix (https, non-empty path).
    (prefix,) = manifest["urlFetchWhitelist"]
    assert prefix == PLACEHOLDER_BASE_URL + "/bridge/"
    for url in re.findall(r'= "(https?://[^"]+)"', script):
        assert url.startswith(prefix)


def test_function_names_must_not_collide() -> None:
    raw = [
        {"id": "a-b", "name": "A", "provider": "jitsi"},
        {"id": "a_b", "name": "B", "provider": "jitsi"},
    ]
    settings = from_env({"ADDON_SOLUTIONS": json.dumps(raw)})
    with pytest.raises(Exception, match="one Apps Script function name"):
        render_manifest(settings, PLACEHOLDER_BASE_URL)


def test_the_client_id_setting_is_checked() -> None:
    assert from_env({}).bridge_client_id is None
    ok = "123-abc.apps.googleusercontent.com"
    assert from_env({"ADDON_BRIDGE_CLIENT_ID": ok}).bridge_client_id == ok
    with pytest.raises(SettingsError, match="ADDON_BRIDGE_CLIENT_ID must be the OAuth client id"):
        from_env({"ADDON_BRIDGE_CLIENT_ID": "https://not-a-client"})


def flask(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_prints_and_writes_the_project(tmp_path: Path) -> None:
    printed = flask("bridge-manifest", "--base-url", "https://addon.example.com")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == json.loads((BRIDGE / "appsscript.json").read_text())
    written = flask("bridge-manifest", "--base-url", "https://x.example/", "--out", str(tmp_path))
    assert written.returncode == 0, written.stderr
    manifest = json.loads((tmp_path / "appsscript.json").read_text())
    assert manifest["urlFetchWhitelist"] == ["https://x.example/bridge/"]
    assert '"https://x.example/bridge/notification"' in (tmp_path / "Solutions.js").read_text()
    refused = flask("bridge-manifest", "--base-url", "http://addon.example.com")
    assert refused.returncode == 2 and "https" in refused.stderr
