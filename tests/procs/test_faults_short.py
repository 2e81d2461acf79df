"""Short versions of the fault campaign (``python -m bench.faults``): the same cases and the
same invariants (the vendor's side included), at sizes that keep the whole file around two
minutes."""

from __future__ import annotations

import dataclasses
import random

import pytest

from bench.faults import (
    CaseResult,
    Sizes,
    case_calendar,
    case_datastore,
    case_forged,
    case_fuzz,
    case_notifications,
    case_provider,
    case_sigkill,
)
from bench.faults_review import REVIEW_CASES
from localgoogle.datastore_emulator import DatastoreEmulator

pytestmark = pytest.mark.datastore

# The campaign's own --quick sizes, a little smaller still where the suite can spare it.
SIZES = dataclasses.replace(
    Sizes.quick(), sigkill_trials=1, calendar_rounds=2, notification_rounds=3, fuzz_examples=250
)


def clean(result: CaseResult) -> None:
    assert result.trials > 0 and result.requests > 0, result
    assert result.violations == [], result.violations


def test_sigkill_mid_sync(datastore: DatastoreEmulator) -> None:
    result = case_sigkill(datastore.host_port, datastore.project, SIZES, random.Random(1))
    clean(result)
    assert result.faults == 1


def test_datastore_restart_mid_sync(datastore: DatastoreEmulator) -> None:
    clean(case_datastore(SIZES, random.Random(2)))


def test_provider_500s_and_hangs(datastore: DatastoreEmulator) -> None:
    result = case_provider(datastore.host_port, datastore.project, SIZES)
    clean(result)
    assert result.details["error500"]["pending_during_outage"] > 0


def test_calendar_429_503_and_410(datastore: DatastoreEmulator) -> None:
    result = case_calendar(datastore.host_port, datastore.project, SIZES, random.Random(4))
    clean(result)
    assert result.faults > 0


def test_notifications_dropped_duplicated_delayed(datastore: DatastoreEmulator) -> None:
    clean(case_notifications(datastore.host_port, datastore.project, SIZES, random.Random(5)))


def test_hostile_input(datastore: DatastoreEmulator) -> None:
    result = case_fuzz(datastore.host_port, datastore.project, SIZES)
    clean(result)
    assert result.requests >= 200


def test_forged_callers(datastore: DatastoreEmulator) -> None:
    result = case_forged(datastore.host_port, datastore.project, SIZES)
    clean(result)
    assert result.requests == 3 * (8 + 2)


@pytest.mark.parametrize("case", sorted(REVIEW_CASES))
def test_adversarial_review_cases(datastore: DatastoreEmulator, case: str) -> None:
    result = REVIEW_CASES[case](datastore.host_port, datastore.project, SIZES, random.Random(9))
    clean(result)
    assert result.faults > 0 and result.details.get("vendor_checks", 0) > 0, result
    if case == "readonly":
        assert result.details["parked"] > 0  # the copies nobody may write are shown
    if case == "forbidden":
        assert result.details["parked_while_refused"] > 0
