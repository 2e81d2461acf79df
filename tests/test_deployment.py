"""deployment.json: rendered from settings, every URL routes, every field is in the schema."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from addon import create_app
from addon.deployment import PLACEHOLDER_BASE_URL, render
from addon.settings import from_env

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = "lib/googlecloudsdk/generated_clients/apis/gsuiteaddons/v1/gsuiteaddons_v1_messages.py"


def _schema() -> dict[str, dict[str, str | None]]:
    """class name -> {field: message type or None}, read from the gcloud SDK's
    gsuiteaddons v1 messages (parsed, not imported: it needs gcloud's own libraries)."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.fail("gcloud SDK not installed: it is required for the Datastore emulator too")
    path = Path(gcloud).resolve().parents[1] / MESSAGES
    tree = ast.parse(path.read_text())
    out: dict[str, dict[str, str | None]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str | None] = {}
        for stmt in node.body:
            if (
                isinstance(stmt, ast.Assign)
                and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Attribute)
                and stmt.value.func.attr.endswith("Field")
                and isinstance(stmt.targets[0], ast.Name)
            ):
                kind = None
                if stmt.value.func.attr == "MessageField":
                    first = stmt.value.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        kind = first.value
                fields[stmt.targets[0].id] = kind
        out[node.name] = fields
    return out


def _check(obj: Any, cls: str, schema: dict[str, dict[str, str | None]], where: str) -> None:
    assert cls in schema, cls
    for key, value in obj.items():
        assert key in schema[cls], f"{where}.{key} is not a field of {cls}"
        child = schema[cls][key]
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict) and child:
                _check(item, child, schema, f"{where}.{key}")


def test_committed_file_is_the_rendering_with_placeholder_host() -> None:
    committed = json.loads((ROOT / "deployment.json").read_text())
    assert committed == render(from_env({}), PLACEHOLDER_BASE_URL)


def test_every_field_exists_in_the_deployment_schema() -> None:
    _check(render(from_env({})), "GoogleCloudGsuiteaddonsV1Deployment", _schema(), "deployment")


def test_every_url_routes_to_a_post_endpoint_of_the_app() -> None:
    app = create_app({})
    doc = render(from_env({}), PLACEHOLDER_BASE_URL)
    urls = [s["onCreateFunction"] for s in doc["addOns"]["calendar"]["conferenceSolution"]]
    calendar = doc["addOns"]["calendar"]
    for trigger in ("calendarNotificationTrigger", "homepageTrigger", "eventOpenTrigger"):
        urls.append(calendar[trigger]["runFunction"])
    urls.append(calendar["createSettingsUrlFunction"])
    adapter = app.url_map.bind("addon.example.com")
    for url in urls:
        assert url.startswith(PLACEHOLDER_BASE_URL + "/")
        endpoint, _ = adapter.match(urlsplit(url).path, method="POST")
        assert endpoint.startswith(("calendar_addon.", "panel."))
    scopes = doc["oauthScopes"]
    assert "https://www.googleapis.com/auth/calendar.addons.execute" in scopes
    assert doc["addOns"]["httpOptions"]["granularOauthPermissionSupport"] == "OPT_IN"
    assert doc["addOns"]["calendar"]["currentEventAccess"] == "READ_WRITE"


def test_cli_renders_for_a_base_url() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "app",
            "deployment",
            "--base-url",
            "https://x.example",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    doc = json.loads(out.stdout)
    assert doc["addOns"]["calendar"]["calendarNotificationTrigger"]["runFunction"] == (
        "https://x.example/calendar/notification"
    )


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("not-a-url", "is not an absolute https:// URL"),
        ("addon.example.com", "is not an absolute https:// URL"),
        ("ftp://addon.example.com", "is not an absolute https:// URL"),
        ("http://addon.example.com", "Google calls add-on endpoints over https only"),
        ("http://10.0.0.5:8080", "Google calls add-on endpoints over https only"),
        ("https://addon.example.com/?x=1", "must not carry a query"),
        ("https://user:pw@addon.example.com", "must not carry a query, a fragment or credentials"),
        ("https://addon.example.com:port", "is not a URL"),
    ],
)
def test_deployment_command_refuses_a_base_url_google_cannot_call(
    base_url: str, reason: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "deployment", "--base-url", base_url],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == "", done
    [*_usage, error] = done.stderr.strip().splitlines()
    assert error.startswith("Error: Invalid value for '--base-url'") and reason in error


@pytest.mark.parametrize(
    ("base_url", "base"),
    [
        ("https://addon.example.com/", "https://addon.example.com"),
        ("https://addon.example.com/calendar", "https://addon.example.com/calendar"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:8080/", "http://localhost:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_deployment_accepts_https_and_loopback_http(base_url: str, base: str) -> None:
    rendered = render(from_env({}), base_url)
    trigger = rendered["addOns"]["calendar"]["calendarNotificationTrigger"]["runFunction"]
    assert trigger.startswith(base + "/") and "//" not in trigger.removeprefix(
        base.split(":")[0] + "://"
    )
