"""Fixtures for the add-on host simulation: fake Calendar state, fake add-on, served emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from localgoogle.addon_host import register

from .support import CALENDAR, USER, Emulator, FakeAddon, FakeCalendars, serve


@pytest.fixture
def calendars() -> FakeCalendars:
    fake = FakeCalendars()
    fake.owners[CALENDAR] = USER
    return fake


@pytest.fixture
def addon() -> Iterator[FakeAddon]:
    fake = FakeAddon()
    for base_url, _server in serve(fake.app()):
        fake.base_url = base_url
        yield fake
        fake.trigger_gate.set()


@pytest.fixture
def emulator(calendars: FakeCalendars) -> Iterator[Emulator]:
    app = Flask("emulator_under_test")
    host = register(app, calendars)
    try:
        for base_url, _server in serve(app):
            yield Emulator(base_url, host)
    finally:
        host.close()


@pytest.fixture
def installed(emulator: Emulator, addon: FakeAddon) -> Emulator:
    """The emulator with the fake add-on's deployment installed."""
    response = emulator.post("/_emulator/addon/deployment", addon.deployment())
    assert response.status_code == 200, response.text
    return emulator
