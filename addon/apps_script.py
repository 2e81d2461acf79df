"""The Apps Script bridge's project files, rendered from the same settings as ``deployment.json``.

``flask --app app bridge-manifest --base-url URL`` prints ``appsscript.json``; with
``--out DIR`` it writes ``DIR/appsscript.json`` and ``DIR/Solutions.js`` (one
``onCreateFunction`` per solution, and the backend URL the script calls). ``bridge/Code.js``
is the hand-written rest of the script. The committed ``bridge/appsscript.json`` and
``bridge/Solutions.js`` are the rendering for the placeholder host ``https://addon.example.com``
(a test checks they match), so solution ids and names are the HTTP deployment's.

Manifest fields follow Google's Apps Script manifest reference (``timeZone``,
``runtimeVersion``, ``exceptionLogging``, ``oauthScopes``, ``urlFetchWhitelist``,
``addOns.common``, ``addOns.calendar.conferenceSolution[]{id, name, logoUrl,
onCreateFunction}``, ``currentEventAccess``). ``urlFetchWhitelist`` prefixes must be https
with a non-empty path (Google's "Allowlist URLs" page); an ``http://`` loopback prefix is
rendered for the local stack only, as ``deployment --base-url`` allows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app

from addon.deployment import check_base_url, common_part, solutions_part
from addon.settings import Settings
from addon.web.bridge import BRIDGE_CONFERENCE_PATH, BRIDGE_NOTIFICATION_PATH

SCOPE = "https://www.googleapis.com/auth/"
# The least the bridge needs: run as a Calendar add-on and read/write the open event
# (calendar.addons.*); calendar.events for the backend's listing with sync tokens and its
# conditional writes, done with the script's OAuth token (ScriptApp.getOAuthToken() carries
# the manifest's scopes); UrlFetchApp (script.external_request); installable triggers
# (script.scriptapp); ScriptApp.getIdentityToken() needs openid, and userinfo.email puts the
# user's email in it.
BRIDGE_SCOPES = [
    SCOPE + "calendar.addons.execute",
    SCOPE + "calendar.addons.current.event.read",
    SCOPE + "calendar.addons.current.event.write",
    SCOPE + "calendar.events",
    SCOPE + "script.external_request",
    SCOPE + "script.scriptapp",
    "openid",
    SCOPE + "userinfo.email",
]
TRIGGER_FUNCTION = "onCalendarEventUpdated"  # defined in bridge/Code.js
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def on_create_function(solution_id: str) -> str:
    """The script function name of a solution's onCreateFunction."""
    return "onCreate_" + _UNSAFE.sub("_", solution_id)


def _functions(settings: Settings) -> dict[str, str]:
    names = {s.id: on_create_function(s.id) for s in settings.solutions}
    if len(set(names.values())) != len(names):
        raise click.UsageError(
            "two solution ids map to one Apps Script function name "
            f"({', '.join(sorted(names))}): make them differ in letters or digits"
        )
    return names


def render_manifest(settings: Settings, base_url: str | None = None) -> dict[str, Any]:
    base = check_base_url(base_url or settings.base_url)
    functions = _functions(settings)
    return {
        "timeZone": "Etc/UTC",
        "runtimeVersion": "V8",
        "exceptionLogging": "STACKDRIVER",
        "oauthScopes": list(BRIDGE_SCOPES),
        "urlFetchWhitelist": [base + "/bridge/"],
        "addOns": {
            "common": common_part(settings),
            "calendar": {
                "conferenceSolution": solutions_part(settings, lambda s: functions[s.id]),
                "currentEventAccess": "READ_WRITE",
            },
        },
    }


def render_solutions_js(settings: Settings, base_url: str | None = None) -> str:
    """``Solutions.js``: the backend URLs and one onCreateFunction per solution."""
    base = check_base_url(base_url or settings.base_url)
    lines = [
        "// Rendered by `flask --app app bridge-manifest --out DIR`; do not edit by hand.",
        "// The backend the bridge forwards to, and one onCreateFunction per solution of the",
        "// manifest (the same ids as deployment.json). The logic is in Code.js.",
        "",
        f"const BRIDGE_CONFERENCE_URL = {json.dumps(base + BRIDGE_CONFERENCE_PATH)};",
        f"const BRIDGE_NOTIFICATION_URL = {json.dumps(base + BRIDGE_NOTIFICATION_PATH)};",
    ]
    for solution_id, function in _functions(settings).items():
        lines += [
            "",
            f"function {function}(arg) {{",
            f"  return createConference_({json.dumps(solution_id)}, arg);",
            "}",
        ]
    return "\n".join(lines) + "\n"


def write_project(settings: Settings, base_url: str | None, out: Path) -> list[Path]:
    """Write ``appsscript.json`` and ``Solutions.js`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "appsscript.json"
    manifest.write_text(json.dumps(render_manifest(settings, base_url), indent=2) + "\n")
    solutions = out / "Solutions.js"
    solutions.write_text(render_solutions_js(settings, base_url))
    return [manifest, solutions]


def _base_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_base_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def register_cli(app: Flask) -> None:
    @app.cli.command("bridge-manifest")
    @click.option(
        "--base-url",
        default=None,
        callback=_base_url,
        help="Public https URL of this service (http only for localhost / 127.0.0.1).",
    )
    @click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Write appsscript.json and Solutions.js into this folder (e.g. bridge).",
    )
    def bridge_manifest_command(base_url: str | None, out: Path | None) -> None:
        """Print the Apps Script bridge's manifest (appsscript.json), or write its files."""
        settings: Settings = current_app.extensions["addon"].settings
        if out is None:
            click.echo(json.dumps(render_manifest(settings, base_url), indent=2))
            return
        for path in write_project(settings, base_url, out):
            click.echo(f"wrote {path}")
