"""The fake Microsoft Graph's online meetings, call log and faults (see
``localgoogle.vendors.graph``). Thread-safe."""

from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localgoogle.vendors.oauth import AccountVendorState, VendorOAuth
from localgoogle.vendors.toolkit import Fault

Result = tuple[int, dict[str, Any] | None, dict[str, str]]


@dataclass(frozen=True)
class Call:
    method: str
    op: str
    meetingId: str | None  # noqa: N815 - JSON field name
    status: int
    outcome: str
    at: float  # epoch seconds the call arrived (waits between calls show)


def graph_error(status: int, code: str, message: str) -> Result:
    return status, {"error": {"code": code, "message": message}}, {}


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(".0000000", ""))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class GraphState(AccountVendorState):
    def __init__(
        self,
        *,
        client_id: str = "graph-client-id",
        client_secret: str = "graph-client-secret",  # noqa: S107 - a fake's default
        join_base: str = "https://teams.example",
        audio: bool = True,
    ) -> None:
        # Microsoft answers a new refresh token on refresh too; the old one is not retired at
        # once (the fake keeps it usable: rotation not enforced).
        super().__init__(
            VendorOAuth(
                clients={client_id: client_secret}, rotate_refresh_tokens=False, prefix="graph"
            )
        )
        self.join_base = join_base.rstrip("/")
        self.audio = audio
        self.reset()

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._external: dict[tuple[str, str], str] = {}
            self._next = 1

    def handle(
        self,
        method: str,
        op: str,
        authorization: str | None,
        meeting_id: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> Result:
        account = self.oauth.account_of(authorization)
        fault = self.faults.take()
        with self._lock:
            result, faulted = self._decide(op, account, meeting_id, body or {}, fault)
            outcome = "fault" if faulted else ("applied" if result[0] < 400 else "rejected")
            # Logged under the lock: the log's order is the order calls were applied in.
            self.faults.record(Call(method, op, meeting_id, result[0], outcome, time.time()))
            return result

    def _decide(
        self,
        op: str,
        account: str | None,
        meeting_id: str | None,
        body: dict[str, Any],
        fault: Fault | None,
    ) -> tuple[Result, bool]:
        if fault is not None and fault.mode == "down":
            return graph_error(503, "ServiceNotAvailable", "Service unavailable (injected)"), True
        if fault is not None:  # ratelimit, its Retry-After in whole seconds (set_fault)
            status, answer, _ = graph_error(429, "TooManyRequests", "Too many requests")
            return (status, answer, fault.headers()), True
        if account is None:
            return graph_error(401, "InvalidAuthenticationToken",
                               "Access token is empty, expired or invalid."), False  # fmt: skip
        if op == "createOrGet":
            return self._create_or_get(account, body), False
        meeting = self._meetings.get(meeting_id or "")
        if meeting is None or meeting["_owner"] != account:
            return graph_error(404, "NotFound", "The onlineMeeting was not found."), False
        if op == "get":
            return (200, self._public(meeting), {}), False
        if op == "delete":
            del self._meetings[meeting["id"]]
            self._external.pop((account, meeting.get("externalId") or ""), None)
            return (204, None, {}), False
        problem = self._apply(meeting, body)
        if problem:
            return graph_error(400, "BadRequest", problem), False
        meeting["_updates"] += 1
        return (200, self._public(meeting), {}), False

    def _create_or_get(self, account: str, body: dict[str, Any]) -> Result:
        external = body.get("externalId")
        if not isinstance(external, str) or not external:
            return graph_error(400, "BadRequest", "externalId is required for createOrGet.")
        existing = self._external.get((account, external))
        if existing is not None:
            return 200, self._public(self._meetings[existing]), {}
        number = self._next
        self._next += 1
        meeting_id = "MSo" + hashlib.sha256(f"{account}{number}".encode()).hexdigest()[:40]
        now = datetime.now(UTC)
        user = self.oauth.user_id(account)
        meeting: dict[str, Any] = {
            "id": meeting_id,
            "externalId": external,
            "creationDateTime": now.isoformat().replace("+00:00", "Z"),
            "startDateTime": now.isoformat().replace("+00:00", "Z"),
            "endDateTime": now.isoformat().replace("+00:00", "Z"),
            "subject": None,
            "joinWebUrl": f"{self.join_base}/l/meetup-join/19%3ameeting_{meeting_id[3:19]}",
            "participants": {
                "organizer": {"upn": account, "identity": {"user": {"id": user}}},
                "attendees": [],
            },
            "_owner": account,
            "_updates": 0,
        }
        if self.audio:
            meeting["audioConferencing"] = {
                "conferenceId": str(100_000_000 + number * 7919),
                "tollNumber": "+1 425-555-0123",
                "tollFreeNumber": "+1 800-555-0123",
                "dialinUrl": f"{self.join_base}/dialin/{meeting_id[3:15]}",
            }
        problem = self._apply(meeting, body)
        if problem:
            return graph_error(400, "BadRequest", problem)
        self._meetings[meeting_id] = meeting
        self._external[(account, external)] = meeting_id
        return 201, self._public(meeting), {}

    def _apply(self, meeting: dict[str, Any], body: dict[str, Any]) -> str | None:
        if "subject" in body:
            meeting["subject"] = body["subject"]
        for name in ("startDateTime", "endDateTime"):
            if name in body:
                if _instant(body[name]) is None:
                    return f"{name} is not a valid dateTime"
                meeting[name] = body[name]
        start, end = _instant(meeting["startDateTime"]), _instant(meeting["endDateTime"])
        if start is not None and end is not None and end < start:
            return "endDateTime must not be before startDateTime"
        participants = body.get("participants")
        if isinstance(participants, dict) and isinstance(participants.get("attendees"), list):
            meeting["participants"]["attendees"] = copy.deepcopy(participants["attendees"])
        return None

    @staticmethod
    def _public(meeting: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in meeting.items() if not k.startswith("_")}
