"""The dispatcher: due tasks of running queues go out by HTTP, within the queues' limits.

One scheduler thread (started lazily, on the first task) leases due tasks under the state
lock, taking a token of the queue's bucket and a slot of its ``maxConcurrentDispatches`` for
each, and hands the leases to a small pool of worker threads. Workers make the HTTP call
without the lock and report back; a 2xx deletes the task (its name stays reserved), anything
else reschedules it per ``backoff`` or, once the retry limits are met, deletes it.

At-least-once: with the duplicate fault a lease is delivered twice at the same time, with
the same headers; the second delivery's answer changes nothing (as with a duplicate from
Google, the task's state follows one delivery only), and it takes neither a token nor a
concurrency slot of the queue.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from localgoogle.tasks import backoff
from localgoogle.tasks.delivery import (
    Lease,
    Mint,
    Outcome,
    authorization,
    deliver,
    dispatch_headers,
)
from localgoogle.tasks.models import Attempt, Queue, Task
from localgoogle.tasks.store import TasksStore

log = logging.getLogger(__name__)

MAX_IDLE_WAIT = 1.0  # the scheduler re-checks at least this often (wall-clock jumps)


class WorkerPool:
    """Up to ``size`` daemon threads, started as work arrives; ``close`` drops queued work."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._cond = threading.Condition()
        self._jobs: deque[Callable[[], None]] = deque()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        with self._cond:
            if self._closed:
                return
            self._jobs.append(job)
            if self._idle == 0 and len(self._threads) < self._size:
                thread = threading.Thread(target=self._work, name="cloud-tasks-worker", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._cond.notify()

    def _work(self) -> None:
        while True:
            with self._cond:
                self._idle += 1
                self._cond.wait_for(lambda: self._closed or bool(self._jobs))
                self._idle -= 1
                if self._closed:
                    return
                job = self._jobs.popleft()
            try:
                job()
            except Exception:  # one bad delivery must not stop the worker
                log.exception("Cloud Tasks delivery failed")

    def close(self, timeout: float) -> None:
        with self._cond:
            self._closed = True
            self._jobs.clear()
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class Dispatcher:
    def __init__(self, store: TasksStore, mint: Mint, *, max_workers: int = 32) -> None:
        self._store = store
        self._mint = mint
        self._max_workers = max_workers
        self._pool = WorkerPool(max_workers)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._primary = 0  # counted leases under way (bounded by the pool size)
        self.duplicate_rate = 0.0
        self.duplicate_next = 0
        self._rng = random.Random(0)  # noqa: S311 (seeded on purpose: repeatable faults)

    # -- faults (under the store lock) -----------------------------------------------------

    def set_faults(self, duplicate_rate: float, duplicate_next: int, seed: int | None) -> None:
        with self._store.cond:
            self.duplicate_rate, self.duplicate_next = duplicate_rate, duplicate_next
            if seed is not None:
                self._rng = random.Random(seed)  # noqa: S311

    def faults(self) -> dict[str, Any]:
        with self._store.cond:
            return {"duplicateRate": self.duplicate_rate, "duplicateNext": self.duplicate_next}

    def _duplicate(self) -> bool:
        if self.duplicate_next > 0:
            self.duplicate_next -= 1
            return True
        return self.duplicate_rate > 0 and self._rng.random() < self.duplicate_rate

    # -- lifecycle -------------------------------------------------------------------------

    def ensure_started(self) -> None:
        """Start the scheduler thread (called with the store lock held, on the first task)."""
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._loop, name="cloud-tasks-dispatcher", daemon=True
            )
            self._thread.start()

    def close(self, timeout: float = 2.0) -> None:
        with self._store.cond:
            self._closed = True
            self._store.cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._pool.close(timeout)

    # -- leasing (under the store lock) ----------------------------------------------------

    def _lease(self, queue: Queue, task: Task, now: float, *, forced: bool = False) -> Lease:
        retry_count = task.dispatch_count
        headers = dispatch_headers(task, retry_count, task.last_attempt)
        attempt = Attempt(schedule_time=task.schedule_time, dispatch_time=now)
        task.dispatch_count += 1
        task.running += 1
        task.first_attempt = task.first_attempt or attempt
        task.last_attempt = attempt
        stats = self._store.stats_for(queue.name)
        stats.attempts += 1
        stats.retries += 1 if retry_count else 0
        queue.in_flight += 1
        self._primary += 1
        self._store.active += 1
        request = task.request
        return Lease(
            epoch=self._store.epoch,
            queue_name=queue.name,
            task_id=task.id,
            task_uid=task.uid,
            attempt=attempt,
            url=request.url,
            method=request.method,
            headers=headers,
            body=request.body,
            deadline=task.dispatch_deadline,
            oidc_email=request.oidc_email,
            oidc_audience=request.oidc_audience,
            forced=forced,
        )

    def _due(self) -> tuple[list[Lease], float]:
        """Leases for what may go out now, and how long to sleep before looking again."""
        now, wake = time.time(), MAX_IDLE_WAIT
        leases: list[Lease] = []
        for queue in list(self._store.queues.values()):
            if queue.state != "RUNNING":
                continue
            waiting = [task for task in queue.tasks.values() if task.running == 0]
            later = [t.schedule_time - now for t in waiting if t.schedule_time > now]
            wake = min([wake, *later])
            due = sorted(
                (t for t in waiting if t.schedule_time <= now),
                key=lambda t: (t.schedule_time, t.name),
            )
            for task in due:
                # Full queue or pool: a finishing delivery notifies, so no timed wake-up.
                if queue.in_flight >= queue.rate_limits.max_concurrent_dispatches:
                    break
                if self._primary >= self._max_workers:
                    return leases, wake
                until_token = queue.bucket.take()
                if until_token > 0:
                    wake = min(wake, until_token)
                    break
                lease = self._lease(queue, task, now)
                leases.append(lease)
                if self._duplicate():
                    self._store.active += 1
                    leases.append(replace(lease, counted=False, duplicate=True))
        return leases, max(wake, 0.001)

    def _loop(self) -> None:
        cond = self._store.cond
        while True:
            with cond:
                if self._closed:
                    return
                leases, wake = self._due()
                if not leases:
                    cond.wait(wake)
                    continue
            self._start(leases)

    def _start(self, leases: list[Lease]) -> None:
        """Sign tokens (outside the lock) and hand the leases to workers."""
        extra: dict[str, str] = {}
        for lease in leases:
            if not lease.duplicate:  # a duplicate carries its original's headers, token included
                try:
                    extra = authorization(lease, self._mint)
                except Exception:
                    log.exception("could not sign the OIDC token for %s", lease.url)
                    extra = {}
                    failed = Outcome.failure("INTERNAL", "The OIDC token could not be signed.")
                    self._pool.submit(functools.partial(self._finish, lease, failed))
                    continue
            self._pool.submit(functools.partial(self._run, replace(lease, extra=extra)))

    # -- results ---------------------------------------------------------------------------

    def _run(self, lease: Lease) -> None:
        outcome = deliver(lease)
        self._finish(lease, outcome)

    def _finish(self, lease: Lease, outcome: Outcome) -> None:
        store = self._store
        with store.cond:
            store.active -= 1
            if lease.counted:
                self._primary -= 1
            store.cond.notify_all()
            if lease.epoch != store.epoch:
                return  # reset meanwhile
            if lease.duplicate:
                store.stats_for(lease.queue_name).duplicates_delivered += 1
                return
            queue = store.queues.get(lease.queue_name)
            if queue is None:
                return  # the queue was deleted meanwhile
            queue.in_flight -= 1
            task = queue.tasks.get(lease.task_id)
            if task is None or task.uid != lease.task_uid:
                return  # deleted or purged meanwhile
            self._record(queue, task, lease, outcome)

    def _record(self, queue: Queue, task: Task, lease: Lease, outcome: Outcome) -> None:
        now = time.time()
        task.running -= 1
        attempt = lease.attempt
        attempt.response_time = now
        attempt.rpc_code, attempt.message = outcome.rpc, outcome.message
        attempt.http_status = outcome.http_status
        if outcome.http_status is not None:
            task.response_count += 1
            task.execution_count += 0 if outcome.http_status >= 500 else 1
        stats = self._store.stats_for(queue.name)
        if outcome.ok:
            stats.successes += 1
            self._store.bury(queue, task, now)
            return
        stats.failures += 1
        if task.running:
            return  # another dispatch (RunTask) of this task is under way and decides
        config = queue.retry_config.with_overrides(task.retry_overrides)
        first = task.first_attempt.dispatch_time if task.first_attempt else now
        if backoff.exhausted(task.dispatch_count, now - first, config):
            stats.deleted_after_max_attempts += 1
            self._store.bury(queue, task, now)
            return
        # RunTask: "reset to the time that RunTask was called plus the retry delay".
        base = attempt.dispatch_time if lease.forced else now
        task.schedule_time = base + backoff.retry_delay(task.dispatch_count, config)

    # -- RunTask ---------------------------------------------------------------------------

    def run_now(self, name: str, view: str) -> dict[str, Any]:
        """RunTask: dispatch now, even if paused, rate-limited or already running."""
        store = self._store
        with store.cond:
            queue, task = store.task(name)
            # No token is taken and no limit checked: RunTask ignores the rate limits.
            lease = self._lease(queue, task, time.time(), forced=True)
            self.ensure_started()
            answer = task.to_json(view)
        self._start([lease])
        return answer
