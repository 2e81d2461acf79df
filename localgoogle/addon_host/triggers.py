"""The background worker that delivers calendarNotificationTrigger calls, one at a time, in order.

Public names: ``NotificationSettings`` (and ``parse_notification_settings``, its JSON form),
``Delivery``, ``TriggerQueue``.

Why a worker: change listeners run in the request thread of whoever changed the calendar (the
add-on itself, often). Calling the add-on from there would make its write wait for its own
trigger, and a trigger that writes would recurse. Google delivers asynchronously too.

``TriggerQueue`` knows nothing about HTTP: it runs ``run(delivery, pause)`` for each item once
its ``due`` time has come. ``pause(seconds)`` is the only way a run may sleep (between
retries); it returns False when the queue was cleared or closed meanwhile, so ``reset`` and
shutdown never wait out a backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from localgoogle.addon_host.errors import BadRequestError

log = logging.getLogger(__name__)

Pause = Callable[[float], bool]


@dataclass
class NotificationSettings:
    """Fault injection and retry policy for trigger calls (``POST /_emulator/addon/notifications``).

    ``drop_rate``/``duplicate_rate`` are probabilities per trigger call; ``delay_seconds`` holds
    every call back that long (order is kept); ``seed`` makes the drop/duplicate draws
    repeatable. A call is retried on no answer or 5xx up to ``max_attempts`` times in all, with
    ``retry_backoff_seconds`` doubling between attempts.

    ``notify_deletions`` False: a change that leaves the event cancelled (a deletion, a
    cancelled occurrence, the organizer's deletion reaching a guest's copy) fires no trigger.
    Google's reference says the trigger fires "when an event is created or updated" and does
    not mention deletions, so an add-on must not rely on one; True (the default) keeps the
    behaviour of Apps Script's ``onEventUpdated``, which fires on deletions too.
    """

    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_seconds: float = 0.0
    seed: int | None = None
    max_attempts: int = 3
    retry_backoff_seconds: float = 0.2
    notify_deletions: bool = True

    def to_json(self) -> dict[str, float | int | bool | None]:
        return {
            "dropRate": self.drop_rate,
            "duplicateRate": self.duplicate_rate,
            "delaySeconds": self.delay_seconds,
            "seed": self.seed,
            "maxAttempts": self.max_attempts,
            "retryBackoffSeconds": self.retry_backoff_seconds,
            "notifyDeletions": self.notify_deletions,
        }


@dataclass(frozen=True)
class Delivery:
    """One trigger call to make: ``user``'s subscription to ``calendar_id`` fired."""

    calendar_id: str
    user: str
    url: str
    event_id: str  # for the call log only: Google's trigger does not say which event changed
    due: float  # time.monotonic() value before which the call is not made
    duplicate: bool = False


class TriggerQueue:
    """A FIFO of deliveries run by one lazily started daemon thread."""

    def __init__(self, run: Callable[[Delivery, Pause], None]) -> None:
        self._run = run
        self._cond = threading.Condition()
        self._items: deque[Delivery] = deque()
        self._busy = False
        self._epoch = 0  # bumped by clear(): a running delivery of an older epoch stops early
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, delivery: Delivery) -> None:
        with self._cond:
            if self._closed:
                return
            self._items.append(delivery)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="addon-host-triggers", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._items) + (1 if self._busy else 0)

    def flush(self, timeout: float) -> bool:
        """Wait until every submitted delivery is done; False if ``timeout`` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._items and not self._busy, timeout)

    def clear(self) -> None:
        """Forget queued deliveries and cut short the retries of the running one."""
        with self._cond:
            self._items.clear()
            self._epoch += 1
            self._cond.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _pause_for(self, epoch: int) -> Pause:
        def pause(seconds: float) -> bool:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._epoch != epoch, seconds)
                return not self._closed and self._epoch == epoch

        return pause

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or bool(self._items))
                if self._closed:
                    return
                wait = self._items[0].due - time.monotonic()
                if wait > 0:
                    # Re-check after waking: the queue may have been cleared meanwhile.
                    self._cond.wait(wait)
                    continue
                delivery = self._items.popleft()
                self._busy = True
                epoch = self._epoch
            try:
                self._run(delivery, self._pause_for(epoch))
            except Exception:  # a bug in one delivery must not stop all later triggers
                log.exception("trigger delivery to %s failed", delivery.url)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


def parse_notification_settings(
    body: object, current: NotificationSettings
) -> NotificationSettings:
    """Merge ``{dropRate, duplicateRate, delaySeconds, seed, maxAttempts, retryBackoffSeconds,
    notifyDeletions}``."""
    if not isinstance(body, dict):
        raise BadRequestError("body must be a JSON object")
    fields = {
        "dropRate": "drop_rate",
        "duplicateRate": "duplicate_rate",
        "delaySeconds": "delay_seconds",
        "seed": "seed",
        "maxAttempts": "max_attempts",
        "retryBackoffSeconds": "retry_backoff_seconds",
        "notifyDeletions": "notify_deletions",
    }
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise BadRequestError(f"unknown setting(s): {', '.join(unknown)}")
    values = vars(current).copy()
    for name, attr in fields.items():
        if name not in body:
            continue
        value = body[name]
        if name == "notifyDeletions":
            if not isinstance(value, bool):
                raise BadRequestError("notifyDeletions must be true or false")
        elif name == "seed":
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise BadRequestError("seed must be an integer or null")
        elif name == "maxAttempts":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10:
                raise BadRequestError("maxAttempts must be an integer from 1 to 10")
        else:
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise BadRequestError(f"{name} must be a non-negative number")
            if name in {"dropRate", "duplicateRate"} and value > 1:
                raise BadRequestError(f"{name} must be between 0 and 1")
            if name in {"delaySeconds", "retryBackoffSeconds"} and value > 60:
                raise BadRequestError(f"{name} must be at most 60")
            value = float(value)
        values[attr] = value
    return NotificationSettings(**values)
