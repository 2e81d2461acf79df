"""The JSON body of a sync task, and its strict parsing (a body is input like any other)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, cast

TaskKind = Literal["trigger", "continue", "retry", "lease"]
KINDS: tuple[TaskKind, ...] = ("trigger", "continue", "retry", "lease")
VERSION = 1


class BadTaskBody(ValueError):
    """The body is not a sync task this service wrote."""


@dataclass(frozen=True)
class TaskBody:
    """``token``: the user's OAuth token, sealed (``addon.tasks.sealing``), with
    ``token_at`` the epoch second the trigger brought it; None when the task has none."""

    calendar_id: str
    kind: TaskKind
    token: dict[str, str] | None = None
    token_at: float | None = None

    def to_json(self) -> bytes:
        out: dict[str, Any] = {"v": VERSION, "calendarId": self.calendar_id, "kind": self.kind}
        if self.token is not None:
            out["token"] = self.token
            out["tokenAt"] = self.token_at
        return json.dumps(out, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, raw: bytes) -> TaskBody:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise BadTaskBody("the body is not JSON") from None
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise BadTaskBody(f"expected a JSON object with v={VERSION}")
        calendar_id, kind = data.get("calendarId"), data.get("kind")
        if not isinstance(calendar_id, str) or not 0 < len(calendar_id) <= 1024:
            raise BadTaskBody("calendarId must be a non-empty string")
        if kind not in KINDS:
            raise BadTaskBody(f"kind must be one of {', '.join(KINDS)}")
        token, token_at = data.get("token"), data.get("tokenAt")
        if token is not None and (
            not isinstance(token, dict)
            or not all(isinstance(v, str) for v in token.values())
            or not isinstance(token_at, int | float)
        ):
            raise BadTaskBody("token must be a sealed object with tokenAt")
        return cls(calendar_id, cast(TaskKind, kind), token, token_at)
