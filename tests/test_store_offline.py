"""The offline-sync state on the real Datastore emulator: grants, consent flows, channels,
the calendars of a user and the periodic checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from addon.store.channels import ChannelRecord
from addon.store.datastore import Store
from addon.store.grants import ConsentFlow, OfflineGrant
from addon.store.records import CalendarState

pytestmark = pytest.mark.datastore

NOW = datetime.now(UTC)


def _check_at(state: CalendarState, at: datetime | None) -> CalendarState:
    return state.with_(next_check_at=at)


@pytest.fixture
def store(datastore) -> Store:
    return Store.connect(project=datastore.project)


def test_a_dropped_grant_keeps_its_user_but_not_the_token(store: Store) -> None:
    assert store.get_grant("104242") is None
    assert store.drop_grant("104242", "never consented") is None
    store.put_grant(OfflineGrant("104242", "alice@example.com", {"kid": "a", "data": "x"}, ("s",)))
    held = store.get_grant("104242")
    assert held is not None and held.usable and held.scopes == ("s",)
    dropped = store.drop_grant("104242", "invalid_grant")
    again = store.get_grant("104242")
    assert dropped == again and again is not None
    assert not again.usable and again.refresh_token is None
    assert again.state == "needs_consent" and again.reason == "invalid_grant"


def test_a_consent_flow_can_be_taken_once_and_not_when_old(store: Store) -> None:
    # Flows expire 15 minutes after they were made: "now" when the test runs, not when the
    # module was imported (a long session would make NOW stale).
    now = datetime.now(UTC)
    flow = ConsentFlow("f1", "104242", "alice@example.com", {"kid": "a"}, now)
    store.put_consent_flow(flow)
    assert store.take_consent_flow("f1") == flow
    assert store.take_consent_flow("f1") is None  # single use
    store.put_consent_flow(ConsentFlow("f2", "1", "a@x", {}, now - timedelta(hours=1)))
    assert store.take_consent_flow("f2") is None  # too old
    assert store.take_consent_flow("f2") is None  # and gone


def test_the_first_verified_user_becomes_the_sync_user(store: Store) -> None:
    assert store.subscribe("cal-1", "alice@example.com", verified=("104242", "alice@example.com"))
    assert not store.subscribe("cal-1", "bob@example.com", verified=("555", "bob@example.com"))
    state = store.get_calendar("cal-1")
    assert state is not None and state.sync_user_id == "104242"
    store.subscribe("cal-2", "x@example.com")  # no verified user: adopts the first one later
    assert not store.adopt_sync_user("cal-3", "104242", "alice@example.com")  # not subscribed
    assert store.adopt_sync_user("cal-2", "104242", "alice@example.com")
    assert not store.adopt_sync_user("cal-2", "555", "bob@example.com")
    assert sorted(store.calendars_of_user("104242")) == ["cal-1", "cal-2"]
    assert store.calendars_of_user("555") == []


def test_periodic_checks_due_are_found_without_the_others(store: Store) -> None:
    for n, at in enumerate((NOW - timedelta(minutes=1), NOW + timedelta(days=1), None)):
        store.subscribe(f"cal-{n}", None)
        store.update_calendar(f"cal-{n}", partial(_check_at, at=at))
    assert store.checks_due(NOW) == ["cal-0"]  # a calendar without a check is not a null match
    store.move_check("cal-0", NOW, NOW + timedelta(days=1))  # moved since: left alone
    assert store.checks_due(NOW) == ["cal-0"]
    state = store.get_calendar("cal-0")
    assert state is not None and state.next_check_at is not None
    store.move_check("cal-0", state.next_check_at, NOW + timedelta(days=1))
    assert store.checks_due(NOW) == []


def test_a_channel_swap_happens_once_and_only_live_channels_are_renewed(store: Store) -> None:
    store.subscribe("cal", None)
    soon = NOW + timedelta(minutes=5)
    first = ChannelRecord("ch1", "cal", "opening", "res", NOW + timedelta(days=7), soon, NOW)
    store.put_channel(first)
    assert store.channels_to_renew(NOW + timedelta(hours=1)) == []  # opening: not in the index
    assert store.activate_channel(first, None)
    assert not store.activate_channel(first.with_(channel_id="ch-dup"), None)  # a duplicate
    assert store.get_calendar("cal").channel_id == "ch1"  # type: ignore[union-attr]
    assert store.channels_to_renew(NOW + timedelta(hours=1)) == ["ch1"]
    second = ChannelRecord("ch2", "cal", "opening", "res", NOW + timedelta(days=14), None, NOW)
    store.put_channel(second)
    assert store.activate_channel(second.with_(renew_at=NOW + timedelta(days=13)), "ch1")
    assert store.get_channel("ch1").status == "replaced"  # type: ignore[union-attr]
    assert store.channels_to_renew(NOW + timedelta(hours=1)) == []
    store.retire_channel("cal", "ch2", "stopped")
    assert store.get_calendar("cal").channel_id is None  # type: ignore[union-attr]
    assert store.get_channel("ch2").status == "stopped"  # type: ignore[union-attr]
    store.put_channel(ChannelRecord("ch3", "cal", "opening"))  # no expiry known yet
    assert store.expired_channels(NOW + timedelta(days=8)) == ["ch1"]
    assert [c.channel_id for c in store.get_channels(["ch1", "ch2", "nope"])] == ["ch1", "ch2"]
