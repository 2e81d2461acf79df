"""A fake Daily (daily.co) REST API: rooms, in Daily's documented shapes (docs.daily.co,
"Rooms" and "Errors").

``POST   /v1/rooms``          ``{name?, privacy?, properties?}`` → 200 room. A name in use →
                              400 ``invalid-request-error`` "a room named … already exists".
``GET    /v1/rooms``          ``{total_count, data: [room]}``
``GET    /v1/rooms/<name>``   → 200 room, 404 ``not-found``
``POST   /v1/rooms/<name>``   ``{privacy?, properties?}`` → 200 room (a property set to null is
                              removed: assumed, Daily's reference does not say how to unset one)
``DELETE /v1/rooms/<name>``   → 200 ``{deleted: true, name}``; 404 when unknown; an expired room
                              answers 404 with ``deleted: true`` as Daily documents

A room is ``{id, name, api_created, privacy, url, created_at, config}``; ``config`` holds the
properties set (``nbf``, ``exp``…). A room past its ``exp`` is treated as deleted, as Daily
documents. Room names: ``[A-Za-z0-9_-]``, and domain + name at most 41 characters.

Credentials: ``Authorization: Bearer <api key>``; missing or malformed → 401
``authorization-header-error``; wrong → 401 ``authentication-error``. Errors are
``{"error": <type>, "info": <text>}``. Injected faults and the control API: see
``localgoogle.vendors.toolkit``; ``GET /_control/rooms`` lists every room, deleted ones with
``deleted: true``. ``create_daily_app()`` serves it alone; ``daily_blueprint(state)`` mounts it.
"""

from __future__ import annotations

import copy
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from localgoogle.vendors.toolkit import (
    FaultsAndCalls,
    add_control_routes,
    json_response,
    vendor_app,
)

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PRIVACY = ("public", "private", "org")
MAX_DOMAIN_AND_NAME = 41

Result = tuple[int, dict[str, Any]]


def _error(status: int, kind: str, info: str) -> Result:
    return status, {"error": kind, "info": info}


class DailyState:
    """Rooms by name (deleted ones kept, marked), the fault plan and the call log."""

    def __init__(
        self,
        *,
        api_key: str = "daily-test-key",
        domain: str = "fake-acme",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key = api_key
        self.domain = domain
        self.clock = clock
        self.faults = FaultsAndCalls()
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._rooms: dict[str, dict[str, Any]] = {}
        self.faults.reset()

    def rooms(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._rooms.values()))

    def room(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._rooms.get(name))

    # --- the API ---------------------------------------------------------------------------

    def handle(
        self, method: str, op: str, name: str | None, authorization: str, body: Any
    ) -> tuple[Result, dict[str, str]]:
        fault = self.faults.take()
        if fault is not None:
            kinds = {429: "rate-limit-error", 401: "authentication-error"}
            result = _error(fault.status, kinds.get(fault.status, "server-error"), "injected")
            self.faults.log(method, op, name, fault.status, "fault")
            return result, fault.headers()
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key:
            result = _error(401, "authorization-header-error", "bad Authorization header format")
        elif key != self.api_key:
            result = _error(401, "authentication-error", "the API key is not valid")
        else:
            with self._lock:
                result = self._apply(op, name, body if isinstance(body, dict) else None)
        outcome = "applied" if result[0] < 400 else "rejected"
        self.faults.log(method, op, name, result[0], outcome)
        return result, {}

    def _live(self, name: str | None) -> dict[str, Any] | None:
        room = self._rooms.get(name or "")
        if room is None or room["deleted"]:
            return None
        exp = room["config"].get("exp")
        if isinstance(exp, int | float) and exp < self.clock():
            return None
        return room

    def _apply(self, op: str, name: str | None, body: dict[str, Any] | None) -> Result:
        if op in ("create", "update") and body is None:
            return _error(400, "json-parsing-error", "the request body is not a JSON object")
        if op == "create":
            assert body is not None
            return self._create(body)
        if op == "list":
            live = [self._public(r) for r in self._rooms.values() if self._live(r["name"])]
            return 200, {"total_count": len(live), "data": live}
        room = self._live(name)
        if room is None:
            gone = self._rooms.get(name or "")
            if op == "delete" and gone is not None and not gone["deleted"]:
                gone["deleted"] = True  # expired: deleted now, and said so
                status, body = _error(404, "not-found", f"room {name} not found")
                return status, {**body, "deleted": True}
            return _error(404, "not-found", f"room {name} not found")
        if op == "get":
            return 200, self._public(room)
        if op == "delete":
            room["deleted"] = True
            return 200, {"deleted": True, "name": room["name"]}
        assert body is not None
        problem = self._configure(room, body)
        if problem:
            return _error(400, "invalid-request-error", problem)
        room["updates"] += 1
        return 200, self._public(room)

    def _create(self, body: dict[str, Any]) -> Result:
        name = body.get("name") or uuid.uuid4().hex[:20]
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            return _error(400, "invalid-request-error", "name may contain only A-Z a-z 0-9 - _")
        if len(self.domain) + len(name) > MAX_DOMAIN_AND_NAME:
            return _error(400, "invalid-request-error", "name is too long for this domain")
        if self._live(name) is not None:
            return _error(400, "invalid-request-error", f"a room named {name} already exists")
        room: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": name,
            "api_created": True,
            "privacy": "public",
            "url": f"https://{self.domain}.daily.co/{name}",
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "config": {},
            "deleted": False,
            "updates": 0,
        }
        problem = self._configure(room, body)
        if problem:
            return _error(400, "invalid-request-error", problem)
        self._rooms[name] = room
        return 200, self._public(room)

    @staticmethod
    def _configure(room: dict[str, Any], body: dict[str, Any]) -> str | None:
        privacy = body.get("privacy")
        if privacy is not None and privacy not in _PRIVACY:
            return f"privacy must be one of {', '.join(_PRIVACY)}"
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            return "properties must be an object"
        for key in ("nbf", "exp"):
            value = properties.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                return f"{key} must be a Unix timestamp in seconds"
        if privacy is not None:
            room["privacy"] = privacy
        for key, value in properties.items():
            if value is None:
                room["config"].pop(key, None)
            else:
                room["config"][key] = value
        return None

    @staticmethod
    def _public(room: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in room.items() if k not in ("deleted", "updates")}


def daily_blueprint(state: DailyState, name: str = "daily") -> Blueprint:
    """Daily's ``/v1/rooms`` API and the control API over ``state``; mount with any prefix."""
    bp = Blueprint(name, __name__)

    def api(op: str, room: str | None = None) -> Response:
        (status, body), headers = state.handle(
            request.method,
            op,
            room,
            request.headers.get("Authorization", ""),
            request.get_json(silent=True) if request.method == "POST" else {},
        )
        return json_response(status, body, headers)

    @bp.post("/v1/rooms")
    def create_room() -> Response:
        return api("create")

    @bp.get("/v1/rooms")
    def list_rooms() -> Response:
        return api("list")

    @bp.get("/v1/rooms/<room>")
    def get_room(room: str) -> Response:
        return api("get", room)

    @bp.post("/v1/rooms/<room>")
    def update_room(room: str) -> Response:
        return api("update", room)

    @bp.delete("/v1/rooms/<room>")
    def delete_room(room: str) -> Response:
        return api("delete", room)

    @bp.get("/_control/rooms")
    def all_rooms() -> Response:
        return jsonify({"rooms": state.rooms()})

    add_control_routes(bp, state.faults, state.reset)
    return bp


def create_daily_app(state: DailyState | None = None) -> Flask:
    """The fake Daily on its own; its state is ``app.extensions["daily"]``."""
    state = state or DailyState()
    return vendor_app(__name__, "daily", state, daily_blueprint(state))
