"""The retry formula of RetryConfig, against the example in Google's reference."""

from __future__ import annotations

import pytest

from localgoogle.tasks.backoff import exhausted, retry_delay
from localgoogle.tasks.models import RetryConfig


def test_google_reference_example() -> None:
    # "min_backoff is 10s, max_backoff is 300s, and max_doublings is 3 [...] the requests
    # will retry at 10s, 20s, 40s, 80s, 160s, 240s, 300s, 300s, ...."
    config = RetryConfig(min_backoff=10, max_backoff=300, max_doublings=3)
    assert [retry_delay(n, config) for n in range(1, 9)] == [10, 20, 40, 80, 160, 240, 300, 300]


def test_defaults_double_sixteen_times_up_to_an_hour() -> None:
    config = RetryConfig()
    assert retry_delay(1, config) == pytest.approx(0.1)
    assert retry_delay(2, config) == pytest.approx(0.2)
    assert retry_delay(16, config) == pytest.approx(0.1 * 2**15)
    assert retry_delay(40, config) == 3600
    assert retry_delay(10**6, RetryConfig(max_doublings=10**6)) == 3600  # no overflow


def test_retry_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        retry_delay(0, RetryConfig())


@pytest.mark.parametrize(
    ("attempts", "elapsed", "config", "done"),
    [
        (2, 0.0, RetryConfig(max_attempts=3), False),
        (3, 0.0, RetryConfig(max_attempts=3), True),
        (3, 5.0, RetryConfig(max_attempts=3, max_retry_duration=10), False),  # both must hold
        (3, 10.0, RetryConfig(max_attempts=3, max_retry_duration=10), True),
        (50, 9.0, RetryConfig(max_attempts=-1, max_retry_duration=10), False),
        (50, 10.0, RetryConfig(max_attempts=-1, max_retry_duration=10), True),
        (10**6, 10**9, RetryConfig(max_attempts=-1, max_retry_duration=0), False),
    ],
)
def test_retries_stop_when_both_limits_are_met(
    attempts: int, elapsed: float, config: RetryConfig, done: bool
) -> None:
    assert exhausted(attempts, elapsed, config) is done
