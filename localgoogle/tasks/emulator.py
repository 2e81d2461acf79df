"""``CloudTasksEmulator``: the state, the dispatcher, and the Python control API over them."""

from __future__ import annotations

import time
from typing import Any

from localgoogle.tasks import stats as stats_module
from localgoogle.tasks.delivery import Mint
from localgoogle.tasks.dispatch import Dispatcher
from localgoogle.tasks.store import TasksStore
from localgoogle.tasks.wire import format_timestamp

IDLE_POLL_SECONDS = 0.02  # wait_idle re-checks this often: "due by now + within" moves with time


class CloudTasksEmulator:
    """Cloud Tasks v2 in memory. No thread runs until the first task is created.

    ``mint(audience, email)`` signs the OIDC ID tokens of dispatched tasks.
    ``tombstone_seconds``: how long a task name stays reserved after the task ran or was
    deleted. ``min_dispatch_deadline``: the smallest ``dispatchDeadline`` accepted (Google:
    15 s; tests lower it to exercise deadlines quickly).
    """

    def __init__(
        self,
        mint: Mint,
        *,
        tombstone_seconds: float = 3600.0,
        queue_tombstone_seconds: float = 3 * 86400.0,
        min_dispatch_deadline: float = 15.0,
        max_workers: int = 32,
    ) -> None:
        self.store = TasksStore(
            tombstone_seconds=tombstone_seconds,
            queue_tombstone_seconds=queue_tombstone_seconds,
            min_dispatch_deadline=min_dispatch_deadline,
        )
        self.dispatcher = Dispatcher(self.store, mint, max_workers=max_workers)
        self.store.on_task = self.dispatcher.ensure_started

    def run_task(self, name: str, view: str = "BASIC") -> dict[str, Any]:
        return self.dispatcher.run_now(name, view)

    def wait_idle(self, timeout: float, within: float = 0.0) -> bool:
        """True once no dispatch is under way and no task of a running queue is due by
        now + ``within``; False if ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self.store.cond:
            while not self.store.idle(within):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.store.cond.wait(min(remaining, IDLE_POLL_SECONDS))
            return True

    def stats(self) -> dict[str, Any]:
        """``{"queues": {queue name: counters}, "total": counters}`` (see ``QueueStats``)."""
        with self.store.cond:
            rows: dict[str, dict[str, int]] = {}
            for name, counters in self.store.stats.items():
                queue = self.store.queues.get(name)
                in_flight = queue.in_flight if queue else 0
                waiting = sum(1 for t in queue.tasks.values() if not t.running) if queue else 0
                rows[name] = counters.to_json(in_flight=in_flight, waiting=waiting)
            return {"queues": rows, "total": stats_module.total(list(rows.values()))}

    def set_faults(
        self, duplicate_rate: float = 0.0, duplicate_next: int = 0, *, seed: int | None = None
    ) -> dict[str, Any]:
        """Deliver each dispatch twice with probability ``duplicate_rate`` and the next
        ``duplicate_next`` dispatches twice for sure; ``seed`` makes the draws repeatable."""
        if not 0.0 <= duplicate_rate <= 1.0:
            raise ValueError("duplicate_rate must be between 0 and 1")
        if duplicate_next < 0:
            raise ValueError("duplicate_next must not be negative")
        self.dispatcher.set_faults(duplicate_rate, duplicate_next, seed)
        return self.dispatcher.faults()

    def faults(self) -> dict[str, Any]:
        return self.dispatcher.faults()

    def queues_view(self) -> list[dict[str, Any]]:
        """Every queue with its tasks, for a console: what is waiting, and how it went."""
        with self.store.cond:
            out = []
            for queue in sorted(self.store.queues.values(), key=lambda q: q.name):
                tasks = []
                for task in sorted(queue.tasks.values(), key=lambda t: (t.schedule_time, t.id)):
                    last = task.last_attempt
                    tasks.append(
                        {
                            "id": task.id,
                            "url": task.request.url,
                            "scheduleTime": format_timestamp(task.schedule_time),
                            "dispatchCount": task.dispatch_count,
                            "responseCount": task.response_count,
                            "running": task.running > 0,
                            "lastAttemptStatus": None if last is None else last.http_status,
                            "lastAttemptMessage": None if last is None else last.message or None,
                        }
                    )
                out.append({**queue.to_json(), "inFlight": queue.in_flight, "tasks": tasks})
            return out

    def reset(self) -> None:
        """Forget every queue, task, tombstone and counter, and clear the faults."""
        self.store.reset()
        self.dispatcher.set_faults(0.0, 0, 0)

    def close(self) -> None:
        """Stop the dispatcher and its workers (deliveries under way are abandoned)."""
        self.dispatcher.close()
