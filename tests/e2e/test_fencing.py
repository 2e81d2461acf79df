"""Fencing (issue 9, defect 4): a sync that lost its lease must not land a late update.

Run A stalls inside a provider call for longer than its lease; run B takes the expired lease
and applies the newer event version; then A's stalled call goes out. Neither our record nor
the vendor's meeting may end at the older version, and a quiet sync must find nothing to do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from addon.settings import Solution
from tests.e2e import gated_provider
from tests.e2e.stack import SOLUTION, Stack, running_stack
from tests.e2e.test_sync import ALICE, new_conference

pytestmark = pytest.mark.datastore

HOLD = "Version one"


def gated(emulator_url: str) -> tuple[Solution, ...]:
    options = {"base_url": emulator_url + "/_conferencing", "timeout_seconds": 0.5, "hold": HOLD}
    return (Solution(SOLUTION, "Web conference", "https://x.example/l.png", "gated", options),)


@pytest.fixture
def gated_stack(datastore) -> Iterator[Stack]:
    gated_provider.GATES.pop(HOLD, None)
    gated_provider.ENTERED.pop(HOLD, None)
    with running_stack(datastore.project, gated, lease_seconds=5) as s:
        yield s
        gated_provider.GATES[HOLD].set()


def test_a_stalled_sync_that_lost_its_lease_lands_nothing_late(gated_stack: Stack) -> None:
    stack = gated_stack
    event, meeting_id = new_conference(stack)
    stack.control("POST", "/_emulator/addon/notifications", {"dropRate": 1.0})
    model = stack.emulator_app.config["EMULATOR_STATE"]
    client = stack.services.calendar_for_token(stack.user(ALICE))
    engine = stack.services.engine

    model.events_patch(ALICE, ALICE, event["id"], {"summary": HOLD})
    outcome: list[Any] = []
    run_a = threading.Thread(target=lambda: outcome.append(engine.sync(ALICE, client)))
    run_a.start()
    assert gated_provider.ENTERED[HOLD].wait(20), "run A never reached the provider"
    time.sleep(6.0)  # A's 5 s lease runs out while it stalls
    model.events_patch(ALICE, ALICE, event["id"], {"summary": "Version two"})
    run_b = engine.sync(ALICE, client)
    assert run_b.status == "done", run_b
    assert stack.meetings()[meeting_id]["title"] == "Version two"

    gated_provider.GATES[HOLD].set()  # A's stalled call goes out now
    run_a.join(30)
    assert not run_a.is_alive()
    assert stack.meetings()[meeting_id]["title"] == "Version two", "A's late update landed"
    record = stack.store.get_conference(ALICE, event["id"])
    assert record is not None and record.snapshot.summary == "Version two"

    before = len(stack.provider_calls())
    quiet = engine.sync(ALICE, client)
    assert quiet.status == "done"
    assert len(stack.provider_calls()) == before
    assert stack.meetings()[meeting_id]["title"] == "Version two"
