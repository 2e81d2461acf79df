"""Push channels (events.watch / channels.stop) and webhook delivery.

Delivery runs on one background worker thread (started lazily, so importing or creating
a state has no side effects) and never under the Calendar state lock: ``notify`` only
appends to this hub's own queue. One worker keeps messages of a channel in order (``sync``
first). Retries use exponential backoff and happen only for 500/502/503/504, as Google's.
Faults for tests: a seeded RNG drops, duplicates or delays a fraction of notifications.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from localgoogle.calendar import exceptions as exc
from localgoogle.calendar.clock import Clock

DEFAULT_LIFETIME = timedelta(days=7)
# Assumption (Google documents no exact maximum for Calendar channels): cap at 30 days.
MAX_LIFETIME = timedelta(days=30)
RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass
class Channel:
    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    address: str
    token: str | None
    expiration: datetime
    message_number: int = 0
    stopped: bool = False

    def response(self) -> dict[str, Any]:
        out = {
            "kind": "api#channel", "id": self.id, "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "expiration": str(int(self.expiration.timestamp() * 1000)),
        }  # fmt: skip
        if self.token is not None:
            out["token"] = self.token
        return out


@dataclass
class _Delivery:
    channel: Channel
    state: str
    number: int
    attempt: int = 0


@dataclass
class PushConfig:
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_seconds: float = 0.0
    retry_base_seconds: float = 0.5
    max_attempts: int = 5
    timeout_seconds: float = 5.0


class PushHub:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._cond = threading.Condition()
        self._channels: dict[str, Channel] = {}
        self._resource_ids: dict[str, str] = {}
        self._queue: list[tuple[float, int, _Delivery]] = []
        self._counter = itertools.count()
        self._in_flight = 0
        self._worker: threading.Thread | None = None
        self._closed = False
        self.config = PushConfig()
        self._rng = random.Random(0)  # noqa: S311 (seeded on purpose)
        self.log: deque[dict[str, Any]] = deque(maxlen=1000)

    # ----- configuration ---------------------------------------------------------------
    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            cfg = self.config
            cfg.drop_rate = float(body.get("dropRate", cfg.drop_rate))
            cfg.duplicate_rate = float(body.get("duplicateRate", cfg.duplicate_rate))
            cfg.delay_seconds = float(body.get("delaySeconds", cfg.delay_seconds))
            cfg.retry_base_seconds = float(body.get("retryBaseSeconds", cfg.retry_base_seconds))
            cfg.max_attempts = int(body.get("maxAttempts", cfg.max_attempts))
            if "seed" in body:
                self._rng = random.Random(body["seed"])  # noqa: S311
            return self.describe()

    def describe(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "dropRate": cfg.drop_rate, "duplicateRate": cfg.duplicate_rate,
            "delaySeconds": cfg.delay_seconds, "retryBaseSeconds": cfg.retry_base_seconds,
            "maxAttempts": cfg.max_attempts,
            "channels": [c.response() | {"address": c.address, "calendarId": c.calendar_id}
                         for c in self._channels.values()],
        }  # fmt: skip

    def reset(self) -> None:
        with self._cond:
            self._channels.clear()
            self._queue.clear()
            self.config = PushConfig()
            self._rng = random.Random(0)  # noqa: S311 (seeded on purpose)
            self.log.clear()
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=5)

    # ----- channels --------------------------------------------------------------------
    def create_channel(
        self, calendar_id: str, body: dict[str, Any], resource_uri: str
    ) -> dict[str, Any]:
        channel_id = body.get("id")
        if not isinstance(channel_id, str) or not channel_id or len(channel_id) > 64:
            raise exc.bad_request("Channel id must be 1-64 characters.", "invalid")
        if body.get("type") not in ("web_hook", "webhook"):
            raise exc.bad_request("Unsupported channel type.", "invalid")
        address = body.get("address")
        if not isinstance(address, str) or not address.startswith(("http://", "https://")):
            raise exc.bad_request(
                "WebHook callback must be HTTPS: " + str(address), "push.webhookUrlNotHttps"
            )
        token = body.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > 256):
            raise exc.bad_request("Channel token longer than 256 characters.")
        now = self.clock.now()
        lifetime = DEFAULT_LIFETIME
        ttl = (body.get("params") or {}).get("ttl")
        if ttl is not None:
            lifetime = timedelta(seconds=int(ttl))
        expiration = now + min(lifetime, MAX_LIFETIME)
        if body.get("expiration") is not None:
            requested = datetime.fromtimestamp(int(body["expiration"]) / 1000, UTC)
            expiration = min(max(requested, now), now + MAX_LIFETIME)
        with self._cond:
            existing = self._channels.get(channel_id)
            if existing is not None and not existing.stopped:
                raise exc.bad_request(f"Channel id {channel_id} not unique", "channelIdNotUnique")
            resource_id = self._resource_ids.setdefault(calendar_id, uuid.uuid4().hex[:27])
            channel = Channel(
                channel_id, resource_id, resource_uri, calendar_id, address, token, expiration
            )
            self._channels[channel_id] = channel
            self._enqueue(channel, "sync", honour_faults=False)
            return channel.response()

    def stop(self, channel_id: str, resource_id: str) -> None:
        with self._cond:
            channel = self._channels.get(channel_id)
            if channel is None or channel.resource_id != resource_id:
                raise exc.ApiError(404, "notFound", f"Channel '{channel_id}' not found for project")
            channel.stopped = True
            del self._channels[channel_id]

    def notify(self, calendar_id: str) -> None:
        now = self.clock.now()
        with self._cond:
            for channel in list(self._channels.values()):
                if channel.calendar_id == calendar_id and channel.expiration > now:
                    self._enqueue(channel, "exists", honour_faults=True)

    # ----- queue -------------------------------------------------------------------------
    def _enqueue(self, channel: Channel, state: str, *, honour_faults: bool) -> None:
        channel.message_number += 1
        number = channel.message_number
        copies = 1
        if honour_faults:
            if self._rng.random() < self.config.drop_rate:
                self.log.append(
                    {"channelId": channel.id, "state": state, "number": number, "result": "dropped"}
                )
                return
            if self._rng.random() < self.config.duplicate_rate:
                copies = 2
        due = time.monotonic() + (self.config.delay_seconds if honour_faults else 0.0)
        for _ in range(copies):
            heapq.heappush(
                self._queue, (due, next(self._counter), _Delivery(channel, state, number))
            )
        self._start_worker()
        self._cond.notify_all()

    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._closed = False
            self._worker = threading.Thread(target=self._run, name="emulator-push", daemon=True)
            self._worker.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued notification (including retries) was handled."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                _, _, delivery = heapq.heappop(self._queue)
                self._in_flight += 1
            try:
                status = self._deliver(delivery)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._after_attempt(delivery, status)
                    self._cond.notify_all()

    def _after_attempt(self, delivery: _Delivery, status: int | None) -> None:
        self.log.append(
            {"channelId": delivery.channel.id, "state": delivery.state,
             "number": delivery.number, "attempt": delivery.attempt, "result": status}
        )  # fmt: skip
        if status in RETRY_STATUSES and delivery.attempt + 1 < self.config.max_attempts:
            delivery.attempt += 1
            backoff = self.config.retry_base_seconds * 2 ** (delivery.attempt - 1)
            heapq.heappush(self._queue, (time.monotonic() + backoff, next(self._counter), delivery))

    def _deliver(self, delivery: _Delivery) -> int | None:
        channel = delivery.channel
        if channel.stopped or channel.expiration <= self.clock.now():
            return None
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": format_datetime(channel.expiration, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": delivery.state,
            "X-Goog-Message-Number": str(delivery.number),
            "Content-Length": "0",
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        # The address scheme was checked to be http(s) when the channel was created.
        request = urllib.request.Request(  # noqa: S310
            channel.address, data=b"", headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_seconds) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, OSError):
            return -1
