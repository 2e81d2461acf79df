"""What the vendor fakes share: injected faults, a call log, the control endpoints that drive
them, JSON answers and the app that serves one fake alone.

A *fault* applies to the next ``count`` vendor API calls (all of them when ``count`` is None):

``down``       503 Service Unavailable
``error500``   500
``ratelimit``  429 with ``Retry-After`` (``retryAfter``: delay-seconds as a number, or an
               HTTP date as a string)
``auth``       401 (the vendor refuses the credential)
``hang``       waits ``seconds`` (≤ 30), then proceeds normally

Each fake renders the status in its vendor's error shape. Control endpoints (mounted by each
fake under ``/_control``; never logged, faulted or delayed): ``GET /_control/calls``
(each ``{method, op, target, status, outcome, at}``, ``at`` in epoch seconds),
``POST /_control/faults`` ``{"mode", "count"?, "retryAfter"?, "seconds"?}`` (``"mode":
"none"`` clears), ``DELETE /_control/faults``, ``POST /_control/reset``.

The fake Zoom and Graph came with a control API of their own, kept as it is
(``oauth.add_account_control_routes``): faults ``down`` and ``ratelimit`` only, ``retryAfter``
whole seconds (default 1), calls logged in their own shape (``FaultsAndCalls.record``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from flask import Blueprint, Flask, Response, jsonify, request

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

FaultMode = Literal["down", "error500", "ratelimit", "auth", "hang"]
FAULT_MODES: tuple[FaultMode, ...] = ("down", "error500", "ratelimit", "auth", "hang")
MAX_HANG_SECONDS = 30.0


@dataclass
class Fault:
    mode: FaultMode
    remaining: int | None = None
    retry_after: str | None = None
    seconds: float = 0.0

    @property
    def status(self) -> int:
        return {"down": 503, "error500": 500, "ratelimit": 429, "auth": 401}.get(self.mode, 200)

    def headers(self) -> dict[str, str]:
        if self.mode == "ratelimit" and self.retry_after is not None:
            return {"Retry-After": self.retry_after}
        return {}


@dataclass(frozen=True)
class Call:
    method: str
    op: str
    target: str | None
    status: int
    outcome: str  # applied | duplicate | fault | rejected
    at: float  # epoch seconds the call was logged (waits between calls show)


class FaultsAndCalls:
    """Thread-safe fault plan and call log of one fake vendor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        self._calls: list[dict[str, Any]] = []  # as the control API answers them
        self._release = threading.Event()

    def reset(self) -> None:
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            self._fault = None
            self._calls = []

    def set_fault(self, fault: Fault | None) -> None:
        with self._lock:
            self._fault = fault

    def take(self) -> Fault | None:
        """The fault for the call arriving now (a hang is waited here, then None)."""
        with self._lock:
            fault = self._fault
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._fault = None
            release = self._release
        if fault is not None and fault.mode == "hang":
            release.wait(min(fault.seconds, MAX_HANG_SECONDS))
            return None
        return fault

    def log(self, method: str, op: str, target: str | None, status: int, outcome: str) -> None:
        self.record(Call(method, op, target, status, outcome, time.time()))

    def record(self, call: DataclassInstance) -> None:
        """Log a call in a vendor's own shape (a dataclass with an ``op`` field)."""
        with self._lock:
            self._calls.append(asdict(call))

    def calls(self, op: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._calls if op is None or c["op"] == op]


def parse_fault(body: Any) -> Fault | None | str:
    """A ``Fault`` from a control request body, None for ``"none"``, or the problem (str)."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    mode = body.get("mode")
    if mode == "none":
        return None
    count, retry_after, seconds = body.get("count"), body.get("retryAfter"), body.get("seconds", 0)
    if mode not in FAULT_MODES:
        return f"mode must be one of {', '.join([*FAULT_MODES, 'none'])}"
    if count is not None and not (isinstance(count, int) and count > 0):
        return "count must be a positive integer"
    if retry_after is not None and not isinstance(retry_after, int | str):
        return "retryAfter must be seconds (a number) or an HTTP date (a string)"
    if not isinstance(seconds, int | float) or seconds < 0:
        return "seconds must be a number ≥ 0"
    return Fault(mode, count, None if retry_after is None else str(retry_after), float(seconds))


def add_control_routes(bp: Blueprint, faults: FaultsAndCalls, reset: Callable[[], None]) -> None:
    """``/_control/calls``, ``/_control/faults`` and ``/_control/reset`` on ``bp``."""

    @bp.get("/_control/calls")
    def calls() -> Response:
        return jsonify({"calls": faults.calls(request.args.get("op"))})

    @bp.post("/_control/faults")
    def set_fault() -> Response:
        parsed = parse_fault(request.get_json(silent=True))
        if isinstance(parsed, str):
            response = jsonify({"error": parsed})
            response.status_code = 400
            return response
        faults.set_fault(parsed)
        return Response(status=204)

    @bp.delete("/_control/faults")
    def clear_faults() -> Response:
        faults.set_fault(None)
        return Response(status=204)

    @bp.post("/_control/reset")
    def do_reset() -> Response:
        reset()
        return Response(status=204)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """``body`` as JSON (None: no body) with ``status`` and ``headers``."""
    response = Response(status=status) if body is None else jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def vendor_app(import_name: str, key: str, state: object, blueprint: Blueprint) -> Flask:
    """One fake on its own (``create_*_app``); its state is ``app.extensions[key]``."""
    app = Flask(import_name)
    app.extensions[key] = state
    app.register_blueprint(blueprint)
    return app
