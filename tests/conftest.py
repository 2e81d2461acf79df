"""Shared fixtures: the real Datastore emulator, started once per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from localgoogle.datastore_emulator import DatastoreEmulator


@pytest.fixture(scope="session")
def datastore_emulator() -> Iterator[DatastoreEmulator]:
    """One real emulator (gcloud SDK) on a free port for the whole run."""
    emu = DatastoreEmulator(project="test-addon").start()
    previous = os.environ.get("DATASTORE_EMULATOR_HOST")
    os.environ["DATASTORE_EMULATOR_HOST"] = emu.host_port
    try:
        yield emu
    finally:
        if previous is None:
            os.environ.pop("DATASTORE_EMULATOR_HOST", None)
        else:
            os.environ["DATASTORE_EMULATOR_HOST"] = previous
        emu.stop()


@pytest.fixture
def datastore(datastore_emulator: DatastoreEmulator) -> DatastoreEmulator:
    """The emulator, emptied before the test."""
    datastore_emulator.reset()
    return datastore_emulator
