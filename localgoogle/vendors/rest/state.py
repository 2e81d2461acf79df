"""The fake vendor's state: meetings, idempotency keys, the call log, faults and latency
(the API it serves is described in ``localgoogle.vendors.rest``). Thread-safe; the latency is
waited outside the lock so concurrent calls overlap as they would against a real vendor."""

from __future__ import annotations

import copy
import math
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

FaultMode = Literal["down", "error500", "hang", "auth", "refuse"]
FAULT_MODES: tuple[FaultMode, ...] = ("down", "error500", "hang", "auth", "refuse")
Outcome = Literal["applied", "duplicate", "fault", "rejected", "stale"]
# A hung request must not outlive a test run.
MAX_HANG_SECONDS = 30.0
# Latency models a remote round trip; a longer wait is the "hang" fault's business.
MAX_LATENCY_SECONDS = 5.0
_MEETING_FIELDS = (
    "title",
    "start",
    "end",
    "timeZone",
    "attendees",
    "organizer",
    "recurrence",
    "calendarId",
    "eventId",
    "solutionId",
    "options",
    "eventVersion",
)

Result = tuple[int, dict[str, Any] | None]


@dataclass(frozen=True)
class Call:
    method: str
    op: str
    meetingId: str | None  # noqa: N815 - JSON field name
    idempotencyKey: str | None  # noqa: N815 - JSON field name
    outcome: Outcome
    status: int


@dataclass
class Fault:
    mode: FaultMode
    seconds: float
    remaining: int | None  # None: until cleared


@dataclass(frozen=True)
class VendorSnapshot:
    """The vendor's data at one moment (``ConferencingState.snapshot``): meetings, applied
    idempotency keys and the next meeting number. Private copies: later calls change nothing
    in it."""

    meetings: dict[str, dict[str, Any]]
    keys: dict[str, tuple[str, str | None, Result]]
    next_id: int


def latency_problem(seconds: Any) -> str | None:
    """Why ``seconds`` is not a latency, or None when it is one."""
    number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if not number or not math.isfinite(seconds):
        return "seconds must be a number"
    if not 0 <= seconds <= MAX_LATENCY_SECONDS:
        return f"seconds must be between 0 and {MAX_LATENCY_SECONDS:g}"
    return None


class ConferencingState:
    """Meetings, applied idempotency keys, the call log, the current fault and latency."""

    def __init__(
        self,
        *,
        join_base: str = "https://conference.example/j",
        dial_in_number: str | None = "+15550100",
        api_key: str | None = None,
        authentication_url: str = "https://conference.example/link",
        latency_seconds: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        problem = latency_problem(latency_seconds)
        if problem is not None:
            raise ValueError(f"latency_seconds: {problem}")
        self.join_base = join_base.rstrip("/")
        self.dial_in_number = dial_in_number
        self.api_key = api_key
        self.authentication_url = authentication_url
        self._default_latency = float(latency_seconds)
        self._sleep = sleep  # tests replace it to observe the wait
        self._lock = threading.Lock()
        # API calls being served now and the most at once: evidence of overlap (stats()).
        self._in_flight = 0
        self._peak_in_flight = 0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            release = getattr(self, "_release", None)
            if release is not None:
                release.set()  # wake requests hanging under the old fault
            self._release = threading.Event()
            self._meetings: dict[str, dict[str, Any]] = {}
            self._keys: dict[str, tuple[str, str | None, Result]] = {}
            self._calls: list[Call] = []
            self._fault: Fault | None = None
            self._next_id = 1
            self._latency = self._default_latency
            self._peak_in_flight = self._in_flight

    # --- control -------------------------------------------------------------------------

    def set_latency(self, seconds: float) -> None:
        """Wait ``seconds`` (0..5) at the start of every later API call."""
        problem = latency_problem(seconds)
        if problem is not None:
            raise ValueError(problem)
        with self._lock:
            self._latency = float(seconds)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latencySeconds": self._latency,
                "inFlight": self._in_flight,
                "peakInFlight": self._peak_in_flight,
                "calls": len(self._calls),
            }

    def snapshot(self) -> VendorSnapshot:
        with self._lock:
            return VendorSnapshot(
                copy.deepcopy(self._meetings), copy.deepcopy(self._keys), self._next_id
            )

    def restore(self, snapshot: VendorSnapshot) -> None:
        """Put the vendor's data back as ``snapshot`` holds it and empty the call log; the
        fault and the latency stay as they are."""
        meetings, keys = copy.deepcopy(snapshot.meetings), copy.deepcopy(snapshot.keys)
        with self._lock:
            self._meetings, self._keys = meetings, keys
            self._next_id = snapshot.next_id
            self._calls = []
            self._peak_in_flight = self._in_flight

    def set_fault(
        self, mode: FaultMode | None, seconds: float = 0.0, count: int | None = None
    ) -> None:
        with self._lock:
            self._fault = None if mode is None else Fault(mode, seconds, count)

    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(call) for call in self._calls]

    def meetings(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._meetings.values()))

    def meeting(self, meeting_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._meetings.get(meeting_id))

    # --- the vendor API ------------------------------------------------------------------

    def handle(
        self,
        method: str,
        op: str,
        meeting_id: str | None,
        key: str | None,
        credential: str | None,
        payload: dict[str, Any],
    ) -> Result:
        """Apply one API call (latency, fault, auth, idempotency, then the operation) and log
        it."""
        latency = self._arrive()
        try:
            if latency > 0:
                self._sleep(latency)  # outside the lock: concurrent calls overlap
            fault, release = self._take_fault()
            if fault is not None and fault.mode == "hang":
                release.wait(min(fault.seconds, MAX_HANG_SECONDS))
                fault = None  # then proceed: the caller may have given up while it was applied
            with self._lock:
                result, outcome = self._decide(op, meeting_id, key, credential, payload, fault)
                self._calls.append(Call(method, op, meeting_id, key, outcome, result[0]))
                return result
        finally:
            with self._lock:
                self._in_flight -= 1

    def _arrive(self) -> float:
        """Count one more call in flight; the latency it is to wait."""
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
            return self._latency

    def _take_fault(self) -> tuple[Fault | None, threading.Event]:
        with self._lock:
            fault = self._fault
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._fault = None
            return fault, self._release

    def _decide(
        self,
        op: str,
        meeting_id: str | None,
        key: str | None,
        credential: str | None,
        payload: dict[str, Any],
        fault: Fault | None,
    ) -> tuple[Result, Outcome]:
        if fault is not None:
            return self._fault_result(fault.mode), "fault"
        if self.api_key is not None and credential != self.api_key:
            return self._fault_result("auth"), "rejected"
        if key is not None and key in self._keys:
            stored_op, stored_meeting, result = self._keys[key]
            if (stored_op, stored_meeting) == (op, meeting_id):
                return copy.deepcopy(result), "duplicate"
            return (422, {"error": "Idempotency-Key was used for another request"}), "rejected"
        result = self._apply(op, meeting_id, payload)
        if key is not None and 200 <= result[0] < 300:
            self._keys[key] = (op, meeting_id, copy.deepcopy(result))
        if result[0] == 409:
            return result, "stale"
        return result, "applied" if result[0] < 400 else "rejected"

    def _fault_result(self, mode: FaultMode) -> Result:
        if mode == "down":
            return 503, {"error": "service unavailable (injected)"}
        if mode == "error500":
            return 500, {"error": "internal error (injected)"}
        if mode == "auth":
            return 401, {"error": "log in first", "authenticationUrl": self.authentication_url}
        return 400, {"error": "request refused (injected)"}

    def _apply(self, op: str, meeting_id: str | None, payload: dict[str, Any]) -> Result:
        if op == "create":
            return 201, self._public(self._create(payload))
        meeting = self._meetings.get(meeting_id or "")
        if meeting is None or meeting["deleted"]:
            return 404, {"error": f"no meeting {meeting_id}"}
        if op == "update":
            if _older(payload.get("eventVersion"), meeting.get("eventVersion")):
                current = self._public(meeting)
                return 409, {"error": "a newer event version was applied", "code": "staleVersion",
                             "meeting": current}  # fmt: skip
            meeting.update({f: payload[f] for f in _MEETING_FIELDS if f in payload})
            meeting["updates"] += 1
        elif op == "occurrence":
            meeting["occurrences"].append(copy.deepcopy(payload))
        else:  # delete
            meeting["deleted"] = True
            return 204, None
        return 200, self._public(meeting)

    def _create(self, payload: dict[str, Any]) -> dict[str, Any]:
        meeting_id = f"mtg-{self._next_id:06d}"
        self._next_id += 1
        meeting: dict[str, Any] = {f: copy.deepcopy(payload.get(f)) for f in _MEETING_FIELDS}
        meeting.update(
            id=meeting_id,
            joinUrl=f"{self.join_base}/{meeting_id}",
            moreUrl=f"{self.join_base}/{meeting_id}/info",
            dialIn=(
                {
                    "number": self.dial_in_number,
                    "pin": f"{zlib.crc32(meeting_id.encode()) % 10**8:08d}",
                }
                if self.dial_in_number
                else None
            ),
            occurrences=[],
            updates=0,
            deleted=False,
        )
        self._meetings[meeting_id] = meeting
        return meeting

    @staticmethod
    def _public(meeting: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in meeting.items() if v is not None}


def _older(version: Any, than: Any) -> bool:
    """Calendar ``updated`` times (RFC 3339); unknown or unreadable ones are not ordered."""
    if not isinstance(version, str) or not isinstance(than, str):
        return False
    try:
        mine = datetime.fromisoformat(version.replace("Z", "+00:00"))
        theirs = datetime.fromisoformat(than.replace("Z", "+00:00"))
    except ValueError:
        return False
    return mine < theirs
