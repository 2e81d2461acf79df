"""Operator commands (``flask --app app <command>``).

* ``deployment --base-url URL``   print the deployment JSON for that public URL.
* ``create-queue``                create the Cloud Tasks queue with the recommended settings.
* ``sync CALENDAR_ID | --due``    run a sync now and report what it did (``--retry-parked``: try
  the changes parked as needing attention again, once you fixed their cause). Credentials: an
  access token (``--access-token`` or ``ADDON_SYNC_ACCESS_TOKEN``), or what the add-on holds
  for the calendar (``addon.credentials.access``: domain-wide delegation, offline consent).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, cast

import click
from flask import Flask, current_app
from google.auth.credentials import Credentials

from addon import deployment
from addon.credentials.access import NoAccess
from addon.services import Services
from addon.store.records import CalendarState
from addon.sync.report import SyncRun

BUSY_POLL_SECONDS = 0.5


def _services() -> Services:
    return cast(Services, current_app.extensions["addon"])


def _credentials(svc: Services, calendar_id: str, access_token: str | None) -> Credentials:
    """The given access token, else what the add-on holds for the calendar (the same choice a
    task makes: domain-wide delegation, then the sync user's offline consent)."""
    state = svc.store.get_calendar(calendar_id)
    if state is None and not access_token:
        raise click.UsageError(f"{calendar_id}: not a calendar this add-on syncs")
    access = svc.access.for_calendar(
        state or CalendarState(calendar_id), access_token, stored_only=not access_token
    )
    if isinstance(access, NoAccess):
        raise click.UsageError(
            f"{calendar_id}: No credentials ({access.reason}). Pass --access-token (or "
            "ADDON_SYNC_ACCESS_TOKEN), or have its user turn on offline sync, or configure "
            "domain-wide delegation (ADDON_DELEGATION)."
        )
    return access.credentials


def _summary(run: SyncRun) -> dict[str, Any]:
    return {
        "calendarId": run.calendar_id,
        "status": run.status,
        "runs": [r.to_dict() for r in run.reports],
    }


def _base_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return deployment.check_base_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def register(app: Flask) -> None:
    @app.cli.command("deployment")
    @click.option(
        "--base-url",
        default=None,
        callback=_base_url,
        help="Public https URL of this service (http only for localhost / 127.0.0.1).",
    )
    def deployment_command(base_url: str | None) -> None:
        """Print the Workspace add-on deployment JSON."""
        click.echo(json.dumps(deployment.render(_services().settings, base_url), indent=2))

    @app.cli.command("create-queue")
    def create_queue_command() -> None:
        """Create the Cloud Tasks queue (ADDON_TASKS_QUEUE) with the recommended settings."""
        svc = _services()
        created = svc.queue.ensure_queue()
        state = "created" if created else "exists already (settings left as they are)"
        click.echo(f"{svc.settings.tasks_queue}: {state}")

    @app.cli.command("sync")
    @click.argument("calendar_id", required=False)
    @click.option("--due", is_flag=True, help="Sync every calendar that has work due.")
    @click.option("--access-token", default=None, help="OAuth access token to read Calendar.")
    @click.option(
        "--retry-parked", is_flag=True, help="Try the changes parked as needing attention again."
    )
    @click.option(
        "--wait",
        default=60.0,
        show_default=True,
        type=click.FloatRange(min=0, max=3600),
        help="Seconds to wait for a sync already running on the calendar (0: answer busy).",
    )
    def sync_command(
        calendar_id: str | None,
        due: bool,
        access_token: str | None,
        retry_parked: bool,
        wait: float,
    ) -> None:
        """Sync one calendar (or all due calendars) now and report what happened."""
        svc = _services()
        token = access_token or os.environ.get("ADDON_SYNC_ACCESS_TOKEN")
        if due == bool(calendar_id):
            raise click.UsageError("Give either a CALENDAR_ID or --due.")
        targets = svc.store.due_calendars() if due else [str(calendar_id)]
        results = []
        for cal in targets:
            client = svc.calendar(_credentials(svc, cal, token))
            run = svc.engine.sync(cal, client, retry_parked=retry_parked)
            deadline = time.monotonic() + wait
            if run.status == "busy" and wait > 0:
                # A trigger's or a task's sync holds the calendar's lease: the person asked for
                # a sync, so theirs runs once that one is done (its lease bounds the wait).
                click.echo(f"{cal}: a sync is running; waiting up to {wait:g} s", err=True)
            while run.status == "busy" and time.monotonic() < deadline:
                time.sleep(BUSY_POLL_SECONDS)
                run = svc.engine.sync(cal, client, retry_parked=retry_parked)
            results.append(_summary(run))
        click.echo(json.dumps({"synced": results}, indent=2, default=str))
