"""Fixtures for the multi-process suite: the emulator side in this process, and a factory
for the add-on under real gunicorn (stopped at teardown)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from addon.store.datastore import Store
from localgoogle.datastore_emulator import DatastoreEmulator
from tests.procs import EmulatorSide, Gunicorn, emulator_side, install_deployment


@pytest.fixture
def side(datastore: DatastoreEmulator) -> Iterator[EmulatorSide]:
    with emulator_side() as s:
        yield s


@pytest.fixture
def store(datastore: DatastoreEmulator) -> Store:
    return Store.connect(datastore.project)


@pytest.fixture
def start_addon(
    side: EmulatorSide, datastore: DatastoreEmulator
) -> Iterator[Callable[..., Gunicorn]]:
    started: list[Gunicorn] = []

    def start(**kwargs: Any) -> Gunicorn:
        addon = Gunicorn(
            emulator_url=side.url,
            datastore_host=datastore.host_port,
            project=datastore.project,
            **kwargs,
        )
        started.append(addon)
        addon.start()
        install_deployment(side, addon)
        return addon

    yield start
    for addon in started:
        addon.stop()
