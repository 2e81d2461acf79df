"""Request plumbing shared by the add-on endpoints: proof of caller and JSON bodies."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, request

from addon.auth import AuthError, IdTokenVerifier
from addon.errors import ApiError
from addon.services import Services

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

MAX_JSON_DEPTH = 32


def services() -> Services:
    return cast(Services, current_app.extensions["addon"])


def require_google(view: F) -> F:
    """Refuse the request unless its ID token proves Google sent it *to this URL*, as the
    add-on's service account (Calendar's calls to the add-on)."""
    return _require(lambda svc: svc.verifier, view)


def require_cloud_tasks(view: F) -> F:
    """Refuse the request unless its OIDC token proves Cloud Tasks sent it to this URL, as
    the configured invoker service account (``ADDON_TASKS_INVOKER``)."""
    return _require(lambda svc: svc.tasks_verifier, view)


def require_scheduler(view: F) -> F:
    """Refuse the request unless its OIDC token proves Cloud Scheduler (``ADDON_SCHEDULER_
    INVOKER``) or Cloud Tasks (``ADDON_TASKS_INVOKER``, a continued sweep) sent it here."""
    return _require(lambda svc: svc.sweep_verifier, view)


def _require(verifier_of: Callable[[Services], IdTokenVerifier | None], view: F) -> F:
    """The expected audience is the public URL of the endpoint (base URL + path), so a token
    minted for one endpoint cannot be replayed at another. No verifier: verification is off
    (local use only; refused in production, announced at start-up)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        svc = services()
        verifier = verifier_of(svc)
        if verifier is not None:
            audience = svc.settings.endpoint_url(request.path)
            try:
                verifier.verify(request.headers.get("Authorization"), audience)
            except AuthError as exc:
                raise refusal(exc, "Google") from None
        return view(*args, **kwargs)

    return cast(F, wrapper)


def refusal(exc: AuthError, caller: str) -> ApiError:
    """The answer to a caller that did not prove itself: 503 when Google's certs are out of
    reach (our side; a retry may pass), else 401. The code (unknown kid, bad signature, ...)
    goes to the logs only: telling the caller would help an attacker probe."""
    log.warning("refused caller", extra={"json_fields": {"code": exc.code, "as": caller}})
    if exc.http_status == 503:
        return ApiError(503, "certsUnavailable", "Cannot verify callers right now; retry later.")
    return ApiError(401, "unauthenticated", f"Request not proven to come from {caller}.")


def _depth(value: Any, limit: int) -> int:
    """Nesting depth, stopping early past ``limit`` (iterative: no recursion to blow)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400/415 that says what is wrong."""
    raw = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH (413 past 1 MiB)
    if not raw:
        raise ApiError(400, "emptyBody", "Expected a JSON object body (the add-on event object).")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalidJson", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalidJson", "The body must be a JSON object.")
    if _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ApiError(400, "tooDeep", f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.")
    return body
