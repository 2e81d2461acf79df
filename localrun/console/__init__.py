"""The local console: a web page that plays the Calendar user and shows what happens.

Mounted at ``/console`` on the emulator-side app (``localrun.emulator_stack``). Modules:
``client`` (how it acts: the emulator's HTTP surfaces, as the user), ``actions`` (what a
person can do: create, pick a solution, move, retitle, add a guest, copy, delete, change one
occurrence; expire the sync token, inject outages; choose per calendar whether picks go
through the HTTP add-on or the Apps Script bridge), ``board`` (what it shows, gathered once
per refresh) with its view models ``event_views`` (events with their conference, meeting and
record), ``relations`` (copies and their originals, invitations and their organizer, the
solutions an event can still get), ``status_view`` (the calendar's sync state and when work
left behind is retried), ``timeline`` (trigger calls, sync runs with the 410s they met and
provider calls, filtered to what concerns the user) and ``text`` (times and counts in words),
``views`` (routes), ``favicon`` (the page icon). Pages are server-rendered; a little
JavaScript posts forms without a reload, shows the answers as short-lived toasts and
refreshes the live parts every two seconds.

Playing a guest (bob on alice's events): the calendar shows the guest's own copies of the
events they are invited to, marked as invitations with their organizer; what only the
organizer may change is not offered.

Routes: ``GET /console/?user=EMAIL`` the page (``EMAIL`` in any letter case, or the name
before its ``@``; a user the emulator does not know gets a banner saying so);
``GET /console/live?user=EMAIL`` its live parts as HTML fragments in JSON;
``POST /console/actions/<name>`` one action (form fields, JSON answer ``{ok, message}`` for
``Accept: application/json``, else a redirect back); ``GET /console/join/<meeting_id>`` the
meeting page a join link opens. The emulator stack answers ``/favicon.ico`` with the same
icon.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from addon.store.datastore import Store
from localgoogle.vendors.rest import ConferencingState
from localrun.console.client import EmulatorClient

EXTENSION = "console"


class FaultWindows:
    """Faults that end by themselves after a number of seconds (a timer undoes them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timers: dict[str, threading.Timer] = {}
        self._until: dict[str, datetime] = {}

    def open(self, name: str, seconds: float, end: Callable[[], None]) -> datetime:
        """The fault ``name`` is on now (the caller started it); ``end`` runs after ``seconds``."""

        def expire() -> None:
            with self._lock:
                if self._timers.get(name) is not timer:
                    return  # replaced or closed meanwhile
                del self._timers[name]
                self._until.pop(name, None)
            end()

        timer = threading.Timer(seconds, expire)
        timer.daemon = True
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        with self._lock:
            previous = self._timers.pop(name, None)
            self._timers[name] = timer
            self._until[name] = until
        if previous is not None:
            previous.cancel()
        timer.start()
        return until

    def close(self, name: str, end: Callable[[], None]) -> None:
        with self._lock:
            timer = self._timers.pop(name, None)
            self._until.pop(name, None)
        if timer is not None:
            timer.cancel()
        end()

    def active(self) -> dict[str, datetime]:
        with self._lock:
            return dict(self._until)


@dataclass
class Console:
    """What the console works with, kept on ``app.extensions["console"]``."""

    client: EmulatorClient
    conferencing: ConferencingState
    store_factory: Callable[[], Store]
    windows: FaultWindows = field(default_factory=FaultWindows)
    # The add-on's home card each user last opened, and when (Calendar's side panel shows
    # it as it was when opened, too).
    home_cards: dict[str, tuple[dict[str, Any], datetime]] = field(default_factory=dict)
    # The eventOpen card of each (user, event) opened in the side panel, when, and the
    # notification the last button click answered with (``card_view``).
    event_cards: dict[tuple[str, str], tuple[dict[str, Any], datetime, str | None]] = field(
        default_factory=dict
    )
    # The Apps Script stand-in running the bridge's script (None: no bridge to pick through),
    # and, per calendar, which host mode picks go through ("http" unless chosen otherwise).
    bridge_url: str | None = None
    host_modes: dict[str, str] = field(default_factory=dict)
    # Per user, the last pick that answered AUTHENTICATION: (solution name, the linking page).
    link_prompts: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The fake vendors' states by provider (``localrun.vendors.mount_vendors``): the board
    # shows the meeting each holds next to the REST fake's.
    vendors: Mapping[str, Any] = field(default_factory=dict)
    _store: Store | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def store(self) -> Store:
        """The add-on's Datastore, read-only here (built on first use)."""
        with self._lock:
            if self._store is None:
                self._store = self.store_factory()
            return self._store


def init_app(
    app: Flask,
    *,
    conferencing: ConferencingState,
    store_factory: Callable[[], Store],
    bridge_url: str | None = None,
    vendors: Mapping[str, Any] | None = None,
) -> Console:
    from localrun.console.views import bp

    console = Console(
        EmulatorClient(app),
        conferencing,
        store_factory,
        bridge_url=bridge_url,
        vendors=dict(vendors or {}),
    )
    app.extensions[EXTENSION] = console
    app.register_blueprint(bp)
    return console
