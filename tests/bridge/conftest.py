from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bridge.stack import BridgeStack, running_bridge


@pytest.fixture
def bridge(datastore) -> Iterator[BridgeStack]:
    with running_bridge(datastore.project, sync_mode="tasks") as b:
        yield b
