"""A sync's hold on its calendar's lease, kept alive while it works.

The **lease** is the right, held by one process for a bounded time, to sync one calendar
(taken and renewed in Datastore transactions by the store). ``LeaseGuard`` keeps it:

* ``tick()`` renews it at most every ``every`` seconds; call it often (every event, page,
  reconcile read), it costs nothing in between.
* ``ensure(seconds)`` renews it now unless at least ``seconds`` (plus a margin) are left, so a
  provider call is never started without the lease outlasting the call's whole budget.

Both raise ``LeaseLost`` when the lease was taken over (it expired while we stalled): the sync
must stop writing at once, and every later call raises it too. They are safe to call from the
threads of a run's provider pool: one renewal at a time, the others wait for its result.

The expiry is counted from *before* each renewal's transaction on this process's monotonic
clock, so it errs early, never late. Other processes compare the
stored expiry with their own wall clocks: the margin absorbs ordinary clock skew between
machines (NTP keeps it far below a second).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from addon.store.errors import LeaseLost

RENEW_EVERY_SECONDS = 10.0
MARGIN_SECONDS = 1.0


class LeaseGuard:
    def __init__(
        self,
        calendar_id: str,
        renew: Callable[[], bool],
        lease_seconds: float,
        *,
        acquired_at: float | None = None,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._calendar_id = calendar_id
        self._renew = renew
        self._lease = lease_seconds
        self._clock = clock
        # Well inside the lease, however short it is configured.
        self._every = every if every is not None else min(RENEW_EVERY_SECONDS, lease_seconds / 3)
        started = clock() if acquired_at is None else acquired_at
        self._last = started
        self._expires = started + lease_seconds
        self._lost = False
        self._lock = threading.RLock()
        self.renewals = 0

    def remaining(self) -> float:
        return self._expires - self._clock()

    def tick(self) -> None:
        with self._lock:
            self._check()
            if self._clock() - self._last >= self._every:
                self.renew()

    def ensure(self, seconds: float) -> None:
        with self._lock:
            self._check()
            if self.remaining() < seconds + MARGIN_SECONDS:
                self.renew()
                if self.remaining() < seconds + MARGIN_SECONDS:
                    raise ValueError(
                        f"a {seconds:.1f} s call cannot fit in a {self._lease:.0f} s lease; "
                        "raise ADDON_LEASE_SECONDS or lower the provider's timeout"
                    )

    def renew(self) -> None:
        with self._lock:
            self._check()
            started = self._clock()
            if not self._renew():
                self._lost = True
                raise LeaseLost(self._calendar_id)
            self._last = started
            self._expires = started + self._lease
            self.renewals += 1

    def _check(self) -> None:
        if self._lost:
            raise LeaseLost(self._calendar_id)
