"""Linked vendor accounts on the real Datastore emulator (issue 16): links written by
compare-and-set, link flows moved one step at a time and taken once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from addon.store.datastore import Store
from addon.store.links import LinkFlow, VendorLink

pytestmark = pytest.mark.datastore

SEALED = {"kid": "a", "nonce": "n", "data": "d"}


@pytest.fixture
def store(datastore) -> Store:
    return Store.connect(project=datastore.project)


def link(**changes: object) -> VendorLink:
    return VendorLink("104242", "zoom-meeting", "alice@example.com", SEALED, SEALED).with_(
        **changes
    )


def test_links_are_per_user_and_solution_and_versioned(store: Store) -> None:
    assert store.get_link("zoom-meeting", "104242") is None
    first = store.put_link(link())
    assert first.version == 1 and first.usable
    assert store.get_link("teams-meeting", "104242") is None
    again = store.put_link(link(email="alice2@example.com"))
    assert again.version == 2 and again.created_at == first.created_at
    assert store.get_link("zoom-meeting", "104242") == again


def test_swap_writes_only_over_the_version_it_read(store: Store) -> None:
    held = store.put_link(link())
    written, now = store.swap_link(held.with_(reason="mine"), held.version)
    assert written and now is not None and now.version == held.version + 1
    # A second writer that read the same version loses and is told what is there now.
    lost, current = store.swap_link(held.with_(reason="theirs"), held.version)
    assert not lost and current == now
    assert store.swap_link(link(user_id="nobody"), 0) == (False, None)


def test_delete_says_whether_a_link_was_held(store: Store) -> None:
    store.put_link(link())
    assert store.delete_link("zoom-meeting", "104242") is True
    assert store.delete_link("zoom-meeting", "104242") is False
    dropped = store.put_link(link(access_token=None, refresh_token=None, state="needs_link"))
    assert not dropped.usable
    assert store.delete_link("zoom-meeting", "104242") is False


def test_a_flow_moves_one_step_at_a_time_and_is_taken_once(store: Store) -> None:
    # Flows expire 10 minutes after they were made: "now" is taken when the test runs (a
    # module-level time goes stale in a long test session).
    now = datetime.now(UTC)
    flow = LinkFlow("n1", "104242", "alice@example.com", "zoom-meeting", "issued", now)
    store.put_link_flow(flow)
    assert store.get_link_flow("n1") == flow
    assert store.advance_link_flow("n1", "google", "vendor") is None  # not at that step
    moved = store.advance_link_flow("n1", "issued", "google")
    assert moved is not None and moved.stage == "google"
    assert store.advance_link_flow("n1", "issued", "google") is None  # replayed step
    at_vendor = store.advance_link_flow("n1", "google", "vendor", SEALED)
    assert at_vendor is not None and at_vendor.code_verifier == SEALED
    assert store.take_link_flow("n1", "google") is None  # wrong step: and now gone
    assert store.take_link_flow("n1", "vendor") is None
    store.put_link_flow(LinkFlow("n2", "1", "a@x", "zoom-meeting", "vendor", datetime.now(UTC)))
    taken = store.take_link_flow("n2", "vendor")
    assert taken is not None and taken.nonce == "n2"
    assert store.take_link_flow("n2", "vendor") is None


def test_old_flows_are_refused(store: Store) -> None:
    stale = datetime.now(UTC) - timedelta(minutes=11)
    old = LinkFlow("n3", "1", "a@x", "zoom-meeting", "issued", stale)
    store.put_link_flow(old)
    assert store.get_link_flow("n3") is None
    assert store.advance_link_flow("n3", "issued", "google") is None
    assert store.take_link_flow("n3", "issued") is None
