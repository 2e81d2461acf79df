"""Queues, tasks and name tombstones behind one lock: the Cloud Tasks methods' semantics.

Every method takes ``cond`` (a ``threading.Condition``) and notifies it after a change, so
the dispatcher, which waits on the same condition, sees new, resumed or rescheduled tasks
at once. Nothing here does I/O; the dispatcher makes its HTTP calls without the lock.

Name reservations: a task's name stays reserved for ``tombstone_seconds`` after the task
succeeded, was deleted (DeleteTask, PurgeQueue, retries exhausted): CreateTask with it is
ALREADY_EXISTS and GetTask NOT_FOUND with Google's "existed recently" message. A deleted
queue's name is reserved for ``queue_tombstone_seconds`` (Google: "up to 3 days").
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from localgoogle.tasks import errors, names, parse, wire
from localgoogle.tasks.errors import invalid, not_found
from localgoogle.tasks.models import Queue, RateLimits, RetryConfig, Task
from localgoogle.tasks.stats import QueueStats

MAX_TASK_PAGE = 1000
MAX_QUEUE_PAGE = 9800
_STATE_FILTER = re.compile(r"^\s*state\s*(?::|=)\s*([A-Z_]+)\s*$")


def _page(
    items: list[Any], key: Callable[[Any], str], size: int, token: str, limit: int
) -> tuple[list[Any], str]:
    """One page of ``items`` (sorted by ``key``) after ``token``, and the next page's token."""
    if size < 0:
        raise invalid("page_size must not be negative.")
    size = min(size or limit, limit)
    after = ""
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise invalid("Invalid page_token.") from error
    ordered = sorted((item for item in items if key(item) > after), key=key)
    page = ordered[:size]
    more = len(ordered) > size
    next_token = base64.urlsafe_b64encode(key(page[-1]).encode()).decode() if more else ""
    return page, next_token


class TasksStore:
    def __init__(
        self,
        *,
        tombstone_seconds: float = 3600.0,
        queue_tombstone_seconds: float = 3 * 86400.0,
        min_dispatch_deadline: float = 15.0,
    ) -> None:
        self.cond = threading.Condition()
        self.tombstone_seconds = tombstone_seconds
        self.queue_tombstone_seconds = queue_tombstone_seconds
        self.min_dispatch_deadline = min_dispatch_deadline
        self.queues: dict[str, Queue] = {}
        self.stats: dict[str, QueueStats] = {}
        self.active = 0  # deliveries whose HTTP call is under way (duplicates included)
        self.epoch = 0  # bumped by reset(): results of older deliveries are dropped
        self.on_task: Callable[[], None] = lambda: None  # the dispatcher's lazy start
        self._task_tombstones: dict[str, float] = {}
        self._queue_tombstones: dict[str, float] = {}
        self._uids = itertools.count(1)

    # -- helpers (call with the lock held) -------------------------------------------------

    def stats_for(self, queue_name: str) -> QueueStats:
        return self.stats.setdefault(queue_name, QueueStats())

    def _reserved(self, table: dict[str, float], name: str, now: float) -> bool:
        expiry = table.get(name)
        if expiry is not None and expiry <= now:
            del table[name]
            return False
        return expiry is not None

    def queue(self, name: str) -> Queue:
        queue = self.queues.get(names.check_queue(name))
        if queue is None:
            raise not_found(errors.QUEUE_NOT_FOUND)
        return queue

    def task(self, name: str) -> tuple[Queue, Task]:
        queue_name, task_id = names.split_task(name)
        queue = self.queue(queue_name)
        task = queue.tasks.get(task_id)
        if task is None:
            recent = self._reserved(self._task_tombstones, name, time.time())
            raise not_found(errors.TASK_RECENTLY_DELETED if recent else errors.ENTITY_NOT_FOUND)
        return queue, task

    def bury(self, queue: Queue, task: Task, now: float) -> None:
        """Remove ``task`` and reserve its name (it ran, failed for good, or was deleted)."""
        queue.tasks.pop(task.id, None)
        self._task_tombstones[task.name] = now + self.tombstone_seconds

    # -- queues ----------------------------------------------------------------------------

    def create_queue(self, parent: str, body: object) -> dict[str, Any]:
        names.check_location(parent)
        queue_json = parse.queue_body(body)
        name = names.check_queue(wire.parse_string(queue_json.get("name", ""), "queue.name"))
        if names.queue_location(name) != parent:
            raise invalid(f'Queue name "{name}" must be inside the parent location "{parent}".')
        rate, retry, ratio = parse.new_queue_config(queue_json)
        with self.cond:
            if name in self.queues:
                raise errors.already_exists(errors.QUEUE_EXISTS)
            if self._reserved(self._queue_tombstones, name, time.time()):
                raise errors.failed_precondition(errors.QUEUE_EXISTED_RECENTLY)
            queue = Queue(name, rate, retry, logging_sampling_ratio=ratio)
            self.queues[name] = queue
            self.stats_for(name)
            return queue.to_json()

    def get_queue(self, name: str) -> dict[str, Any]:
        with self.cond:
            return self.queue(name).to_json()

    def list_queues(self, parent: str, size: int, token: str, filter_: str) -> dict[str, Any]:
        names.check_location(parent)
        state = None
        if filter_.strip():
            match = _STATE_FILTER.match(filter_)
            if match is None or match.group(1) not in wire.QUEUE_STATES:
                raise invalid(
                    f'Unsupported filter "{filter_}": the emulator filters on state only.'
                )
            state = match.group(1)
        with self.cond:
            queues = [q for q in self.queues.values() if q.name.startswith(parent + "/queues/")]
            queues = [q for q in queues if state is None or q.state == state]
            page, next_token = _page(queues, lambda q: q.name, size, token, MAX_QUEUE_PAGE)
            out: dict[str, Any] = {"queues": [q.to_json() for q in page]}
            if next_token:
                out["nextPageToken"] = next_token
            return out

    def update_queue(self, name: str, body: object, mask: list[str] | None) -> dict[str, Any]:
        """UpdateQueue: "creates the queue if it does not exist and updates it if it does"."""
        queue_json = parse.queue_body(body)
        names.check_queue(name)
        if queue_json.get("name", name) != name:
            raise invalid("The queue's name cannot be changed.")
        rate_set = parse.rate_limits(queue_json.get("rateLimits"))
        retry_set = parse.retry_config(queue_json.get("retryConfig"))
        ratio = parse.logging_ratio(queue_json.get("stackdriverLoggingConfig"))
        with self.cond:
            queue = self.queues.get(name)
            if queue is None:
                if self._reserved(self._queue_tombstones, name, time.time()):
                    raise errors.failed_precondition(errors.QUEUE_EXISTED_RECENTLY)
                queue = Queue(name)
                created = True
            else:
                created = False
            rate, retry = _masked(queue, mask, rate_set, retry_set)
            parse.check_retry(retry)
            queue.rate_limits, queue.retry_config = rate, retry
            if mask is None or any(p.startswith("stackdriverLoggingConfig") for p in mask):
                queue.logging_sampling_ratio = ratio
            queue.refresh_bucket()
            if created:
                self.queues[name] = queue
                self.stats_for(name)
            self.cond.notify_all()
            return queue.to_json()

    def delete_queue(self, name: str) -> None:
        with self.cond:
            if names.check_queue(name) not in self.queues:
                raise not_found(errors.ENTITY_NOT_FOUND)
            del self.queues[name]
            self._queue_tombstones[name] = time.time() + self.queue_tombstone_seconds
            self.cond.notify_all()

    def set_state(self, name: str, state: str) -> dict[str, Any]:
        with self.cond:
            queue = self.queue(name)
            queue.state = state
            self.cond.notify_all()
            return queue.to_json()

    def purge_queue(self, name: str) -> dict[str, Any]:
        with self.cond:
            queue = self.queue(name)
            now = time.time()
            for task in list(queue.tasks.values()):
                self.bury(queue, task, now)
            queue.purge_time = now
            self.cond.notify_all()
            return queue.to_json()

    # -- tasks -----------------------------------------------------------------------------

    def create_task(self, parent: str, body: object) -> dict[str, Any]:
        request = wire.message(body, "", frozenset({"task", "responseView"}))
        view = parse.view(request.get("responseView"))
        with self.cond:
            queue = self.queue(parent)
            now = time.time()
            task, named = parse.new_task(
                request.get("task"), queue.name, now=now, min_deadline=self.min_dispatch_deadline
            )
            if named and (
                task.id in queue.tasks or self._reserved(self._task_tombstones, task.name, now)
            ):
                self.stats_for(queue.name).deduplicated += 1
                live = task.id in queue.tasks
                raise errors.already_exists(
                    errors.TASK_EXISTS if live else errors.TASK_EXISTED_RECENTLY
                )
            parse.check_retry(queue.retry_config.with_overrides(task.retry_overrides))
            task.uid = next(self._uids)
            queue.tasks[task.id] = task
            self.stats_for(queue.name).created += 1
            self.on_task()
            self.cond.notify_all()
            return task.to_json(view)

    def get_task(self, name: str, view: str) -> dict[str, Any]:
        with self.cond:
            return self.task(name)[1].to_json(view)

    def list_tasks(self, parent: str, view: str, size: int, token: str) -> dict[str, Any]:
        with self.cond:
            queue = self.queue(parent)
            page, next_token = _page(
                list(queue.tasks.values()), lambda t: t.name, size, token, MAX_TASK_PAGE
            )
            out: dict[str, Any] = {"tasks": [t.to_json(view) for t in page]}
            if next_token:
                out["nextPageToken"] = next_token
            return out

    def delete_task(self, name: str) -> None:
        with self.cond:
            queue, task = self.task(name)
            self.bury(queue, task, time.time())  # an attempt under way is forgotten
            self.cond.notify_all()

    # -- whole-emulator views --------------------------------------------------------------

    def idle(self, within: float) -> bool:
        """No delivery under way and no task of a running queue due by now + ``within``."""
        if self.active:
            return False
        horizon = time.time() + within
        return not any(
            task.running == 0 and task.schedule_time <= horizon
            for queue in self.queues.values()
            if queue.state == "RUNNING"
            for task in queue.tasks.values()
        )

    def reset(self) -> None:
        with self.cond:
            self.queues.clear()
            self.stats.clear()
            self._task_tombstones.clear()
            self._queue_tombstones.clear()
            self.epoch += 1
            self.cond.notify_all()


def _masked(
    queue: Queue, mask: list[str] | None, rate_set: dict[str, Any], retry_set: dict[str, Any]
) -> tuple[RateLimits, RetryConfig]:
    """The queue's rate limits and retry config after an update with ``mask``.

    No mask: "all fields will be updated" (unset ones return to their defaults); a mask
    entry names a message (``rateLimits``) or one field of it (``retryConfig.minBackoff``).
    Output-only paths (``state``, ``purgeTime``, ``rateLimits.maxBurstSize``) are ignored.
    """
    if mask is None:
        return RateLimits(**rate_set), RetryConfig(**retry_set)
    rate: dict[str, Any] = {
        "max_dispatches_per_second": queue.rate_limits.max_dispatches_per_second,
        "max_concurrent_dispatches": queue.rate_limits.max_concurrent_dispatches,
    }
    retry = {k: getattr(queue.retry_config, k) for k in vars(RetryConfig())}
    rate_fields = {
        "maxDispatchesPerSecond": "max_dispatches_per_second",
        "maxConcurrentDispatches": "max_concurrent_dispatches",
    }
    retry_fields = {
        "maxAttempts": "max_attempts",
        "maxRetryDuration": "max_retry_duration",
        "minBackoff": "min_backoff",
        "maxBackoff": "max_backoff",
        "maxDoublings": "max_doublings",
    }
    for path in mask:
        head, _, tail = path.partition(".")
        if head == "rateLimits" and not tail:
            rate = {**vars(RateLimits()), **rate_set}
        elif head == "rateLimits" and tail in rate_fields:
            rate[rate_fields[tail]] = rate_set.get(
                rate_fields[tail], getattr(RateLimits(), rate_fields[tail])
            )
        elif head == "retryConfig" and not tail:
            retry = {**vars(RetryConfig()), **retry_set}
        elif head == "retryConfig" and tail in retry_fields:
            attr = retry_fields[tail]
            retry[attr] = retry_set.get(attr, getattr(RetryConfig(), attr))
        elif path in {"name", "state", "purgeTime", "rateLimits.maxBurstSize"} or head in {
            "stackdriverLoggingConfig"
        }:
            continue
        elif head in {"appEngineRoutingOverride", "httpTarget"}:
            raise errors.unimplemented(f"Queue.{head}")
        else:
            raise invalid(f"Invalid update_mask path: {path}")
    return RateLimits(**rate), RetryConfig(**retry)
