from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack, running_stack


@pytest.fixture
def stack(datastore) -> Iterator[Stack]:
    with running_stack(datastore.project) as s:
        yield s
