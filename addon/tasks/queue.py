"""``SyncQueue``: sync tasks created on Google Cloud Tasks with Google's own client.

Every task is an HTTP target task: ``POST`` of a JSON body (``addon.tasks.body``) to the
service's task handler, with an OIDC token Cloud Tasks signs as the invoker service account
for the handler's URL (the handler verifies issuer, audience and email). Task ids come from
``addon.tasks.names``; ``ALREADY_EXISTS`` means the work is already queued (or ran within the
hour for that very id) and counts as success, which is also what makes retrying a creation
safe.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from addon.settings import Settings, is_google_url
from addon.tasks.body import ChannelTaskBody, TaskBody

log = logging.getLogger(__name__)

# Where Cloud Tasks delivers our tasks (``addon.web.tasks``); the OIDC token's audience is the
# public URL of the path: sync tasks, push-channel tasks, and sweeps continued as tasks.
TASK_PATH = "/tasks/sync"
CHANNEL_TASK_PATH = "/tasks/channel"
SWEEP_PATH = "/tasks/sweep"

# The REST call itself; a creation retried after a lost answer is deduplicated by its id.
CREATE_TIMEOUT_SECONDS = 10.0
CREATE_RETRY_DEADLINE_SECONDS = 15.0


# The queue this service is designed for (README, "Cloud Tasks"): one task per calendar at a
# time is already enforced by the lease, so these bound the whole project. A task makes at
# most ADDON_SLICE_PAGES list calls plus its provider calls and reconcile reads; keep
# max_dispatches_per_second x calls per task under the project's Calendar quota (Cloud
# console, APIs & Services, Google Calendar API, Quotas; Google sets it per project).
QUEUE_SETTINGS: dict[str, Any] = {
    "rate_limits": {"max_dispatches_per_second": 20, "max_concurrent_dispatches": 50},
    "retry_config": {
        "max_attempts": -1,  # bounded by max_retry_duration instead
        "max_retry_duration": timedelta(days=1),
        "min_backoff": timedelta(seconds=1),
        "max_backoff": timedelta(seconds=300),
        "max_doublings": 5,
    },
}


class QueueUnavailable(Exception):
    """Cloud Tasks could not be reached or refused the creation for a reason of its own."""


@dataclass
class QueueCounts:
    created: int = 0
    coalesced: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class SyncQueue:
    def __init__(
        self,
        queue: str,
        service_url: str,
        invoker: str,
        *,
        api_endpoint: str | None = None,
        dispatch_deadline_seconds: float = 600.0,
    ) -> None:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import tasks_v2

        self.queue = queue
        self.service_url = service_url.rstrip("/")
        self.invoker = invoker
        # Cloud Tasks takes 15 s to 30 min for HTTP targets.
        self._deadline = timedelta(seconds=min(1800.0, max(15.0, dispatch_deadline_seconds)))
        options = ClientOptions(api_endpoint=api_endpoint) if api_endpoint else None
        # Google's endpoint: Application Default Credentials (the runtime service account on
        # Cloud Run). Any other endpoint is an emulator, which wants no credentials.
        credentials = (
            AnonymousCredentials()  # type: ignore[no-untyped-call]
            if api_endpoint and not is_google_url(api_endpoint)
            else None
        )
        self._tasks = tasks_v2
        self._options, self._credentials = options, credentials
        self._stats_client: Any = None
        self._client = tasks_v2.CloudTasksClient(
            transport="rest", client_options=options, credentials=credentials
        )
        self.counts = QueueCounts()

    @classmethod
    def for_settings(cls, settings: Settings) -> SyncQueue:
        """The queue ``settings`` name, delivering to this service's task handler."""
        return cls(
            settings.tasks_queue,
            settings.base_url,
            settings.tasks_invoker,
            api_endpoint=settings.tasks_api_endpoint,
            # A task's whole run: its slice, then the last page's provider calls and the
            # stores, which the lease bounds.
            dispatch_deadline_seconds=settings.slice_seconds + settings.lease_seconds,
        )

    def enqueue(
        self, task_id: str, body: TaskBody | ChannelTaskBody, at: float | None = None
    ) -> bool:
        """Create task ``task_id`` to run at ``at`` (epoch seconds; None: now), delivered to
        the handler of its body's kind. True when it was created, False when a task of that id
        exists or ran recently."""
        path = CHANNEL_TASK_PATH if isinstance(body, ChannelTaskBody) else TASK_PATH
        return self._create(task_id, path, body.to_json(), body.kind, at)

    def enqueue_sweep(self, task_id: str) -> bool:
        """A sweep continued as a task (the last one stopped at its batch size)."""
        return self._create(task_id, SWEEP_PATH, b"{}", "sweep", None)

    def _create(self, task_id: str, path: str, payload: bytes, kind: str, at: float | None) -> bool:
        from google.api_core import exceptions as gexc
        from google.api_core.retry import Retry, if_exception_type

        url = self.service_url + path
        task: dict[str, Any] = {
            "name": f"{self.queue}/tasks/{task_id}",
            "http_request": {
                "http_method": self._tasks.HttpMethod.POST,
                "url": url,
                "headers": {"Content-Type": "application/json"},
                "body": payload,
                "oidc_token": {"service_account_email": self.invoker, "audience": url},
            },
            "dispatch_deadline": self._deadline,
        }
        if at is not None:
            task["schedule_time"] = datetime.fromtimestamp(at, UTC)
        retry = Retry(
            predicate=if_exception_type(gexc.ServiceUnavailable, gexc.DeadlineExceeded),
            initial=0.2,
            maximum=2.0,
            timeout=CREATE_RETRY_DEADLINE_SECONDS,
        )
        try:
            self._client.create_task(
                parent=self.queue,
                task=self._tasks.Task(task),
                retry=retry,
                timeout=CREATE_TIMEOUT_SECONDS,
            )
        except gexc.Conflict:
            # HTTP 409 is ALREADY_EXISTS for a creation: the only conflict CreateTask has.
            self.counts.coalesced += 1
            return False
        except gexc.GoogleAPICallError as exc:
            raise QueueUnavailable(
                f"Cloud Tasks refused the task: {exc.code} {exc.message}"
            ) from exc
        except Exception as exc:  # transport failures (connection refused, TLS, timeouts)
            raise QueueUnavailable(f"Cloud Tasks unreachable: {type(exc).__name__}") from exc
        self.counts.created += 1
        self.counts.by_kind[kind] = self.counts.by_kind.get(kind, 0) + 1
        return True

    def stats(self, timeout: float = 3.0) -> dict[str, Any] | None:
        """What Cloud Tasks says of the queue: tasks waiting, the oldest one's arrival,
        dispatches in flight, executed in the last minute. Only the v2beta3 API returns these
        (``GetQueue`` with ``read_mask=stats``; v2 has no stats), so this one read goes through
        the v2beta3 client of the same package, built on first use. None when it could not
        tell (unreachable, or an emulator without stats)."""
        try:
            if self._stats_client is None:
                from google.cloud import tasks_v2beta3

                self._stats_client = tasks_v2beta3.CloudTasksClient(
                    transport="rest", client_options=self._options, credentials=self._credentials
                )
            queue = self._stats_client.get_queue(
                request={"name": self.queue, "read_mask": {"paths": ["name", "stats"]}},
                timeout=timeout,
            )
            stats = queue.stats if "stats" in queue else None
        except Exception as exc:  # the status page shows "unknown", never fails on it
            log.info("queue stats unavailable: %s", type(exc).__name__)
            return None
        if stats is None:
            return None
        oldest = stats.oldest_estimated_arrival_time
        return {
            "tasks": int(stats.tasks_count),
            "oldestTask": oldest.isoformat() if oldest else None,
            "executedLastMinute": int(stats.executed_last_minute_count),
            "concurrentDispatches": int(stats.concurrent_dispatches_count),
        }

    def ensure_queue(self, retry: Mapping[str, Any] | None = None) -> bool:
        """Create the queue with ``QUEUE_SETTINGS`` (``retry`` overrides parts of its retry
        config); False when it exists already (its settings are left alone: an operator may
        have tuned them)."""
        from google.api_core import exceptions as gexc

        project_location = self.queue.rsplit("/queues/", 1)[0]
        config = {**QUEUE_SETTINGS["retry_config"], **(retry or {})}
        queue = self._tasks.Queue(
            {
                "name": self.queue,
                "rate_limits": QUEUE_SETTINGS["rate_limits"],
                "retry_config": config,
            }
        )
        try:
            self._client.create_queue(parent=project_location, queue=queue)
        except gexc.Conflict:
            return False
        return True
