"""Fixtures: a fresh emulator app per test (served on a free port), a recording target, and the
real ``google-cloud-tasks`` client over REST."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from localgoogle.app import create_emulator_app
from localgoogle.server import serve
from localgoogle.tasks import CloudTasksEmulator

# support imports the client library first (see there why).
from .support import Target, client_for


@dataclass
class Served:
    base_url: str
    app: Flask

    @property
    def tasks(self) -> CloudTasksEmulator:
        emulator: CloudTasksEmulator = self.app.extensions["cloud_tasks"]
        return emulator


@pytest.fixture
def emulator() -> Iterator[Served]:
    app = create_emulator_app()
    try:
        with serve(app) as base_url:
            yield Served(base_url, app)
    finally:
        app.extensions["cloud_tasks"].close()
        app.extensions["addon_host"].close()


@pytest.fixture
def client(emulator: Served) -> Iterator[Any]:
    """A ``tasks_v2.CloudTasksClient`` on the emulator (the library is untyped)."""
    with client_for(emulator.base_url) as tasks_client:
        yield tasks_client


@pytest.fixture
def target() -> Iterator[Target]:
    fake = Target()
    try:
        with serve(fake.app()) as base_url:
            fake.base_url = base_url
            yield fake
    finally:
        fake.released.set()
