"""The JSON bodies of our tasks (sync tasks, push-channel tasks) and their strict parsing (a
body is input like any other)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, cast

# trigger: a calendarNotificationTrigger (debounced); push: a push-channel notification (no
# token); check: the periodic reconcile or a sweep's catch-up; continue / retry / lease: the
# follow-ups of a run (``addon.scheduling``).
TaskKind = Literal["trigger", "push", "check", "continue", "retry", "lease"]
KINDS: tuple[TaskKind, ...] = ("trigger", "push", "check", "continue", "retry", "lease")
# A run needs work due to find anything, except for these (something may have changed).
LISTING_KINDS: frozenset[TaskKind] = frozenset({"trigger", "push", "check"})
ChannelOp = Literal["open", "stop"]
VERSION = 1


class BadTaskBody(ValueError):
    """The body is not a sync task this service wrote."""


@dataclass(frozen=True)
class TaskBody:
    """``token``: the user's OAuth token, sealed (``addon.sealing``), with
    ``token_at`` the epoch second the trigger brought it; None when the task has none.
    ``user``: the verified Google user (``{"id": sub, "email"}``) of the trigger, if any: a
    calendar with no sync user yet adopts it."""

    calendar_id: str
    kind: TaskKind
    token: dict[str, str] | None = None
    token_at: float | None = None
    user: dict[str, str] | None = None

    def to_json(self) -> bytes:
        out: dict[str, Any] = {"v": VERSION, "calendarId": self.calendar_id, "kind": self.kind}
        if self.token is not None:
            out["token"] = self.token
            out["tokenAt"] = self.token_at
        if self.user is not None:
            out["user"] = self.user
        return json.dumps(out, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, raw: bytes) -> TaskBody:
        data = _object(raw)
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
        user = data.get("user")
        if user is not None and not (
            isinstance(user, dict)
            and set(user) == {"id", "email"}
            and all(isinstance(v, str) and 0 < len(v) <= 320 for v in user.values())
        ):
            raise BadTaskBody("user must be an object with id and email")
        return cls(calendar_id, cast(TaskKind, kind), token, token_at, user)


@dataclass(frozen=True)
class ChannelTaskBody:
    """A push-channel task for one calendar: ``open`` a channel to replace ``channel`` (None:
    the calendar has none), or ``stop`` the channel ``channel``."""

    calendar_id: str
    op: ChannelOp
    channel: str | None = None

    @property
    def kind(self) -> str:
        return "channel-" + self.op

    def to_json(self) -> bytes:
        out = {"v": VERSION, "calendarId": self.calendar_id, "op": self.op}
        if self.channel is not None:
            out["channel"] = self.channel
        return json.dumps(out, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, raw: bytes) -> ChannelTaskBody:
        data = _object(raw)
        calendar_id, op, channel = data.get("calendarId"), data.get("op"), data.get("channel")
        if not isinstance(calendar_id, str) or not 0 < len(calendar_id) <= 1024:
            raise BadTaskBody("calendarId must be a non-empty string")
        if op not in ("open", "stop"):
            raise BadTaskBody("op must be open or stop")
        if channel is not None and (not isinstance(channel, str) or not 0 < len(channel) <= 64):
            raise BadTaskBody("channel must be a channel id")
        if op == "stop" and channel is None:
            raise BadTaskBody("stop needs the channel")
        return cls(calendar_id, cast(ChannelOp, op), channel)


def _object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadTaskBody("the body is not JSON") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise BadTaskBody(f"expected a JSON object with v={VERSION}")
    return data
