"""The fake Zoom's meetings, call log and faults (the API is described in
``localgoogle.vendors.zoom``). Thread-safe."""

from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from localgoogle.vendors.oauth import AccountVendorState, VendorOAuth
from localgoogle.vendors.toolkit import Fault

# Zoom's documented cap on a recurring meeting's occurrences (50 in some references: the fake
# keeps 60 and says it could not confirm which).
MAX_OCCURRENCES = 60
DEFAULT_OCCURRENCES = 7  # unconfirmed: what Zoom generates with no end given

Result = tuple[int, dict[str, Any] | None, dict[str, str]]


@dataclass(frozen=True)
class Call:
    method: str
    op: str
    meetingId: str | None  # noqa: N815 - JSON field name
    occurrenceId: str | None  # noqa: N815 - JSON field name
    status: int
    outcome: str
    at: float  # epoch seconds the call arrived (waits between calls show)


def zoom_error(status: int, code: int, message: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    return status, {"code": code, "message": message}, {}


def parse_time(value: str | None, zone: str | None) -> datetime | None:
    """Zoom's ``start_time``: ``…Z`` is UTC; without it, local time in ``timezone`` (the fake
    reads local times as UTC when it cannot load the zone)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        try:
            from zoneinfo import ZoneInfo

            moment = moment.replace(tzinfo=ZoneInfo(zone or "UTC"))
        except (KeyError, ValueError):
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def zoom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def occurrence_id(moment: datetime) -> str:
    """Zoom names an occurrence by its start, in milliseconds since the epoch."""
    return str(int(moment.timestamp() * 1000))


def occurrence_starts(start: datetime, recurrence: dict[str, Any]) -> list[datetime]:
    kind = recurrence.get("type")
    interval = max(1, int(recurrence.get("repeat_interval") or 1))
    end_times = recurrence.get("end_times")
    until = parse_time(recurrence.get("end_date_time"), "UTC")
    limit = min(int(end_times), MAX_OCCURRENCES) if end_times else MAX_OCCURRENCES
    if not end_times and until is None:
        limit = DEFAULT_OCCURRENCES
    starts: list[datetime] = []
    if kind == 2:
        days = {int(d) for d in str(recurrence.get("weekly_days") or "").split(",") if d.strip()}
        # Zoom: 1 = Sunday ... 7 = Saturday; Python: Monday = 0.
        wanted = {(d - 2) % 7 for d in days} or {start.weekday()}
        week0 = start - timedelta(days=start.weekday())
        day = start
        while len(starts) < limit and day < start + timedelta(days=3660):
            week = (day - week0).days // 7
            if day.weekday() in wanted and week % interval == 0:
                starts.append(day)
            day += timedelta(days=1)
    else:
        step = timedelta(days=interval) if kind == 1 else None
        moment = start
        while len(starts) < limit:
            starts.append(moment)
            if step is not None:
                moment += step
            else:  # monthly on the start's day (the fake's simplification)
                month = moment.month - 1 + interval
                try:
                    moment = moment.replace(year=moment.year + month // 12, month=month % 12 + 1)
                except ValueError:
                    break
    return [s for s in starts if until is None or s <= until]


class ZoomState(AccountVendorState):
    def __init__(
        self,
        *,
        client_id: str = "zoom-client-id",
        client_secret: str = "zoom-client-secret",  # noqa: S107 - a fake's default
        join_base: str = "https://zoom.example",
        dial_in: bool = True,
    ) -> None:
        super().__init__(
            VendorOAuth(
                clients={client_id: client_secret}, rotate_refresh_tokens=True, prefix="zoom"
            )
        )
        self.join_base = join_base.rstrip("/")
        self.dial_in = dial_in
        self.reset()

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._next = 81_000_000_001

    def meeting(self, meeting_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._meetings.get(meeting_id))

    # ---- the API ------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        op: str,
        authorization: str | None,
        meeting_id: str | None = None,
        occurrence: str | None = None,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> Result:
        account = self.oauth.account_of(authorization)
        fault = self.faults.take()
        with self._lock:
            result = self._decide(op, account, meeting_id, occurrence, body or {}, query or {},
                                  fault)  # fmt: skip
            status = result[0]
            outcome = "fault" if result[2].get("x-fault") else (
                "applied" if status < 400 else "rejected")  # fmt: skip
            # Logged under the lock: the log's order is the order calls were applied in.
            self.faults.record(
                Call(method, op, meeting_id, occurrence, status, outcome, time.time())
            )
            headers = {k: v for k, v in result[2].items() if k != "x-fault"}
            return result[0], result[1], headers

    def _decide(
        self,
        op: str,
        account: str | None,
        meeting_id: str | None,
        occurrence: str | None,
        body: dict[str, Any],
        query: dict[str, str],
        fault: Fault | None,
    ) -> Result:
        if fault is not None and fault.mode == "down":
            return 503, {"code": 503, "message": "Service unavailable (injected)"}, {"x-fault": "1"}
        if fault is not None:
            message = "You have reached the maximum per-second rate limit for this API."
            return (
                429,
                {"code": 429, "message": message + " Try again later."},
                {
                    "Retry-After": str(fault.retry_after),  # set_fault: always whole seconds
                    "X-RateLimit-Category": "Light",
                    "X-RateLimit-Type": "QPS",
                    "X-RateLimit-Limit": "30",
                    "X-RateLimit-Remaining": "0",
                    "x-fault": "1",
                },
            )
        if account is None:
            return zoom_error(401, 124, "Invalid access token.")
        if op == "create":
            return self._create(account, body)
        if op == "list":
            return self._list(account, query)
        meeting = self._meetings.get(meeting_id or "")
        if meeting is None or meeting["host_email"] != account:
            return zoom_error(404, 3001, f"Meeting does not exist: {meeting_id}.")
        if op == "get":
            return 200, self._public(meeting), {}
        if op == "delete":
            if occurrence:
                return self._occurrence(meeting, occurrence, None)
            del self._meetings[meeting["id_str"]]
            return 204, None, {}
        if occurrence:
            return self._occurrence(meeting, occurrence, body)
        problem = self._apply(meeting, body)
        if problem:
            return zoom_error(400, 300, problem)
        meeting["updates"] += 1
        return 204, None, {}

    def _create(self, account: str, body: dict[str, Any]) -> Result:
        if body.get("type") not in (None, 1, 2, 3, 8):
            return zoom_error(400, 300, "Invalid meeting type.")
        if body.get("type") == 8 and not isinstance(body.get("recurrence"), dict):
            return zoom_error(400, 300, "Recurrence is required for type 8.")
        number = self._next
        self._next += 1
        password = hashlib.sha256(str(number).encode()).hexdigest()[:8]
        meeting: dict[str, Any] = {
            "id": number,
            "id_str": str(number),
            "uuid": hashlib.sha256(f"uuid{number}".encode()).hexdigest()[:22] + "==",
            "host_id": self.oauth.user_id(account),
            "host_email": account,
            "topic": "Zoom Meeting",
            "type": 2,
            "status": "waiting",
            "start_time": zoom_time(datetime.now(UTC)),
            "duration": 60,
            "timezone": "UTC",
            "agenda": "",
            "created_at": zoom_time(datetime.now(UTC)),
            "password": password,
            "pstn_password": str(int(password, 16))[:8],
            "join_url": f"{self.join_base}/j/{number}?pwd={password}",
            "settings": {"meeting_invitees": []},
            "updates": 0,
        }
        if self.dial_in:
            meeting["settings"]["global_dial_in_numbers"] = [
                {"country": "US", "country_name": "US", "city": "New York",
                 "number": "+1 646 558 8656", "type": "toll"},
                {"country": "DE", "country_name": "Germany", "number": "+49 69 7104 9922",
                 "type": "toll"},
            ]  # fmt: skip
        problem = self._apply(meeting, body)
        if problem:
            return zoom_error(400, 300, problem)
        self._meetings[meeting["id_str"]] = meeting
        return 201, self._public(meeting), {}

    def _apply(self, meeting: dict[str, Any], body: dict[str, Any]) -> str | None:
        for name in ("topic", "agenda", "timezone", "duration", "type", "start_time"):
            if name in body and body[name] is not None:
                meeting[name] = body[name]
        if not isinstance(meeting["topic"], str) or len(meeting["topic"]) > 200:
            return "topic must be a string of at most 200 characters"
        if not isinstance(meeting["duration"], int) or meeting["duration"] < 0:
            return "duration must be a whole number of minutes"
        if parse_time(meeting["start_time"], meeting["timezone"]) is None:
            return "Invalid start_time"
        settings = body.get("settings")
        if isinstance(settings, dict) and isinstance(settings.get("meeting_invitees"), list):
            meeting["settings"]["meeting_invitees"] = copy.deepcopy(settings["meeting_invitees"])
        if meeting["type"] == 8:
            recurrence = body.get("recurrence") or meeting.get("recurrence")
            if not isinstance(recurrence, dict) or recurrence.get("type") not in (1, 2, 3):
                return "Invalid recurrence"
            meeting["recurrence"] = copy.deepcopy(recurrence)
            start = parse_time(meeting["start_time"], meeting["timezone"])
            assert start is not None
            previous = {o["occurrence_id"]: o for o in meeting.get("occurrences", [])}
            meeting["occurrences"] = [
                previous.get(occurrence_id(s))
                or {"occurrence_id": occurrence_id(s), "start_time": zoom_time(s),
                    "duration": meeting["duration"], "status": "available"}
                for s in occurrence_starts(start, recurrence)
            ]  # fmt: skip
        else:
            meeting.pop("recurrence", None)
            meeting.pop("occurrences", None)
        return None

    def _occurrence(
        self, meeting: dict[str, Any], occurrence: str, body: dict[str, Any] | None
    ) -> Result:
        found = next(
            (o for o in meeting.get("occurrences", []) if o["occurrence_id"] == occurrence), None
        )
        if found is None:
            return zoom_error(404, 3001, f"Meeting occurrence does not exist: {occurrence}.")
        if body is None:
            found["status"] = "deleted"
            return 204, None, {}
        if found["status"] == "deleted":
            return zoom_error(400, 3000, "Cannot update a deleted occurrence.")
        if "start_time" in body:
            start = parse_time(body["start_time"], body.get("timezone") or meeting["timezone"])
            if start is None:
                return zoom_error(400, 300, "Invalid start_time")
            found["start_time"] = zoom_time(start)
        if isinstance(body.get("duration"), int):
            found["duration"] = body["duration"]
        return 204, None, {}

    def _list(self, account: str, query: dict[str, str]) -> Result:
        mine = [m for m in self._meetings.values() if m["host_email"] == account]
        size = min(300, int(query.get("page_size") or 30))
        start = int(query.get("next_page_token") or 0)
        page = mine[start : start + size]
        token = str(start + size) if start + size < len(mine) else ""
        items = [
            {k: m[k] for k in ("uuid", "id", "host_id", "topic", "type", "start_time",
                               "duration", "timezone", "agenda", "created_at", "join_url")}
            for m in page
        ]  # fmt: skip
        return 200, {"page_size": size, "total_records": len(mine), "next_page_token": token,
                     "meetings": items}, {}  # fmt: skip

    @staticmethod
    def _public(meeting: dict[str, Any]) -> dict[str, Any]:
        hidden = ("id_str", "host_email", "updates")
        return {k: copy.deepcopy(v) for k, v in meeting.items() if k not in hidden}
