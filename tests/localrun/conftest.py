from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localrun.stack import LocalStack, running_local_stack


@pytest.fixture
def local_stack(datastore) -> Iterator[LocalStack]:
    with running_local_stack(datastore) as stack:
        yield stack
