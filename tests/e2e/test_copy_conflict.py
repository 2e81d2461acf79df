"""A copy's write-back races a user's edit of the same event: If-Match, 412, re-read, retry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from addon.settings import Solution
from tests.e2e import editing_provider  # noqa: F401 - registers the provider
from tests.e2e.stack import SOLUTION, Stack, running_stack
from tests.e2e.test_sync import ALICE, new_conference

pytestmark = pytest.mark.datastore


EDIT = "Edited in another client"


def racing_solutions(emulator_url: str) -> tuple[Solution, ...]:
    options = {
        "base_url": emulator_url + "/_conferencing",
        "emulator_url": emulator_url,
        "edit_summary": EDIT,
    }
    return (
        Solution(
            SOLUTION, "Web conference", "https://x.example/l.png", "edit-during-copy", options
        ),
    )


@pytest.fixture
def racing_stack(datastore) -> Iterator[Stack]:
    with running_stack(datastore.project, racing_solutions) as stack:
        yield stack


def test_concurrent_edit_is_kept_and_copy_gets_its_own_meeting(racing_stack: Stack) -> None:
    stack = racing_stack
    original, meeting_id = new_conference(stack)
    api = stack.calendar(ALICE)
    source = api.events().get(calendarId=ALICE, eventId=original["id"]).execute()
    body = {k: source[k] for k in ("summary", "start", "end", "attendees", "conferenceData")}
    copy = api.events().insert(calendarId=ALICE, body=body, conferenceDataVersion=1).execute()
    stack.settle()

    final = api.events().get(calendarId=ALICE, eventId=copy["id"]).execute()
    assert final["summary"] == EDIT  # the user's edit survived
    new_id = final["conferenceData"]["conferenceId"]
    assert new_id != meeting_id  # and so did ours
    runs = stack.store.recent_sync_runs(ALICE, limit=50)
    assert sum(r["conflicts"] for r in runs) >= 1, "the write-back really met a 412"
    assert stack.meetings()[new_id]["title"] == EDIT
    assert (
        api.events()
        .get(calendarId=ALICE, eventId=original["id"])
        .execute()["conferenceData"]["conferenceId"]
        == meeting_id
    )
