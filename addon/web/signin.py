"""Google Sign-In for the add-on's pages, and the signed-in person of a request.

* ``GET /signin/start?next=PATH``  — starts Google's sign-in (a 303 to Google); ``PATH`` must be
  one of our pages (``/settings?...`` or ``/status``): no open redirect.
* ``GET /signin/callback``          — Google's redirect: the code is exchanged, the ID token
  verified, and the person kept in a session cookie for ``SESSION_SECONDS``.
* ``POST /signin/out``              — forgets the person.

Both cookies (the flow under way, the session) are sealed with the service's AES-GCM keys
(``TokenSealer``), ``HttpOnly``, ``SameSite=Lax`` (sent on Google's top-level redirect back,
never on a cross-site POST) and ``Secure`` on https. Nothing is stored server-side.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from addon.credentials.common import TokenServiceUnavailable
from addon.credentials.signin import SignIn, SignInError
from addon.sealing import SealError
from addon.services import Services
from addon.web.pages import message
from addon.web.requests import services

log = logging.getLogger(__name__)

bp = Blueprint("signin", __name__, url_prefix="/signin")

SESSION_COOKIE = "addon_session"
FLOW_COOKIE = "addon_signin_flow"
SESSION_SECONDS = 3600
FLOW_SECONDS = 600
NEXT_PATHS = ("/settings", "/status")
_SESSION_CONTEXT = "signin-session"
_FLOW_CONTEXT = "signin-flow"


@dataclass(frozen=True)
class Person:
    """Who signed in with Google on this browser: ``sub``, verified email, Workspace domain
    (``hd``), and the session's nonce (what its CSRF tokens are bound to)."""

    user_id: str
    email: str
    hosted_domain: str | None
    nonce: str


def _seal(svc: Services, value: dict[str, Any], context: str) -> str:
    sealed = svc.sealer.seal(json.dumps(value), context)
    return base64.urlsafe_b64encode(json.dumps(sealed).encode()).decode()


def _open(svc: Services, raw: str | None, context: str) -> dict[str, Any] | None:
    if not raw or len(raw) > 4096:
        return None
    try:
        sealed = json.loads(base64.urlsafe_b64decode(raw.encode()))
        value = json.loads(svc.sealer.open(sealed, context))
    except (ValueError, SealError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("exp"), int | float):
        return None
    return value if value["exp"] > time.time() else None


def _set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    secure = services().settings.base_url.startswith("https://")
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="Lax", secure=secure, path="/"
    )


def signed_in() -> Person | None:
    """The person this request's session cookie names, or None."""
    svc = services()
    value = _open(svc, request.cookies.get(SESSION_COOKIE), _SESSION_CONTEXT)
    if value is None:
        return None
    try:
        return Person(str(value["sub"]), str(value["email"]), value.get("hd"), str(value["nonce"]))
    except KeyError:
        return None


def sign_in_available(svc: Services) -> bool:
    return svc.settings.offline_consent and svc.user_verifier is not None


def start_url(next_path: str, hint: str | None = None) -> str:
    from urllib.parse import urlencode

    query = {"next": next_path, **({"hint": hint} if hint else {})}
    return "/signin/start?" + urlencode(query)


def _safe_next(raw: str | None) -> str | None:
    if not raw or len(raw) > 3000:
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or raw.startswith("//") or "\\" in raw:
        return None
    return raw if parts.path in NEXT_PATHS else None


def _sign_in(svc: Services) -> SignIn:
    assert svc.user_verifier is not None
    return SignIn(svc.settings, svc.user_verifier)


@bp.get("/start")
def start() -> ResponseReturnValue:
    svc = services()
    if not sign_in_available(svc):
        return message(
            404, "Sign-in is not offered", "This installation has no sign-in.", "notOffered"
        )
    target = _safe_next(request.args.get("next"))
    if target is None:
        return message(400, "Link not valid", "This sign-in link is incomplete.", "badNext")
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(64)
    hint = request.args.get("hint")
    url = _sign_in(svc).authorization_url(
        state, verifier, hint if hint and len(hint) < 320 else None
    )
    response = redirect(url, code=303)
    flow = {"state": state, "verifier": verifier, "next": target, "exp": time.time() + FLOW_SECONDS}
    _set_cookie(response, FLOW_COOKIE, _seal(svc, flow, _FLOW_CONTEXT), FLOW_SECONDS)
    return response


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    svc = services()
    if not sign_in_available(svc):
        return message(
            404, "Sign-in is not offered", "This installation has no sign-in.", "notOffered"
        )
    flow = _open(svc, request.cookies.get(FLOW_COOKIE), _FLOW_CONTEXT)
    state, code, error = (request.args.get(k) for k in ("state", "code", "error"))
    if flow is None or not state or not secrets.compare_digest(str(flow.get("state")), state):
        return message(
            400,
            "Sign-in not completed",
            "This sign-in was not started here or took too long; start again.",
            "badState",
        )
    if error or not code or len(code) > 2048:
        return message(403, "Sign-in not completed", "Google did not sign you in.", "signInFailed")
    try:
        who = _sign_in(svc).finish(code, str(flow["verifier"]))
    except SignInError as exc:
        return message(403, "Sign-in not completed", str(exc), exc.reason)
    except TokenServiceUnavailable:
        return message(503, "Try again", "Google could not be reached; try again.", "retryLater")
    session = {
        "sub": who.subject,
        "email": who.email.lower(),
        "hd": who.hosted_domain,
        "nonce": secrets.token_urlsafe(16),
        "exp": time.time() + SESSION_SECONDS,
    }
    response = redirect(str(flow["next"]), code=303)
    _set_cookie(response, SESSION_COOKIE, _seal(svc, session, _SESSION_CONTEXT), SESSION_SECONDS)
    response.delete_cookie(FLOW_COOKIE, path="/")
    log.info("signed in for %s", urlsplit(str(flow["next"])).path)
    return response


@bp.post("/out")
def sign_out() -> ResponseReturnValue:
    response = message(200, "Signed out", "You are signed out of this page.", "signedOut")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
