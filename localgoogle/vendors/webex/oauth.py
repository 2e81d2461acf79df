"""The fake Webex's OAuth 2.0 authorization server for integrations (developer.webex.com,
"Integrations"): authorization code with PKCE, refresh, revocation by the control API.

``GET  /v1/authorize``     ``client_id, response_type=code, redirect_uri, scope, state,
                           code_challenge, code_challenge_method=S256`` → a consent page (a form a
                           browser can submit, or a test can POST); an unknown client or redirect
                           URI is answered 400 here, never redirected
``POST /v1/authorize``     the same fields plus ``email`` and ``decision=accept|deny`` → 302 to
                           ``redirect_uri?code=…&state=…`` (or ``error=access_denied``)
``POST /v1/access_token``  form: ``grant_type=authorization_code`` (``code, redirect_uri,
                           code_verifier``: checked against the S256 challenge) or
                           ``refresh_token``, with ``client_id``/``client_secret`` →
                           ``{access_token, expires_in, refresh_token, refresh_token_expires_in,
                           token_type, scope}``

Lifetimes as Webex documents them for integrations: access tokens 14 days, refresh tokens 90
days. A refresh answers a new access token and, unless ``rotate_refresh_tokens``, the *same*
refresh token with its lifetime restarted (our reading of Webex's guide: "the refresh token
keeps its value"; not confirmed here, so the fake can rotate too and clients must store
whatever comes back). Codes are single-use and live 5 minutes. Errors are OAuth's
``{"error": "invalid_grant"|"invalid_client"|…, "error_description"}`` with Webex's
``message``/``trackingId`` alongside (Webex's exact token-error body is not documented).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request
from markupsafe import escape

ACCESS_SECONDS = 14 * 86400
REFRESH_SECONDS = 90 * 86400
CODE_SECONDS = 300
DEFAULT_CLIENT_ID = "webex-client-id"
DEFAULT_CLIENT_SECRET = "webex-client-secret"  # noqa: S105 - a fake's default
DEFAULT_SCOPES = ("meeting:schedules_read", "meeting:schedules_write")


@dataclass
class Client:
    secret: str
    redirect_uris: tuple[str, ...] = ()  # empty: any http(s) URI (local convenience)


@dataclass
class Grant:
    email: str
    client_id: str
    scopes: tuple[str, ...]
    expires: float
    revoked: bool = False


@dataclass
class Code:
    grant: Grant
    redirect_uri: str
    challenge: str | None
    expires: float


@dataclass
class Tokens:
    """Clients, codes and tokens; ``clock`` is epoch seconds (tests move it)."""

    clock: Callable[[], float] = time.time
    rotate_refresh_tokens: bool = False
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    # Token-endpoint calls per grant type, refused ones included (a refresh loop shows).
    token_calls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.clients = {DEFAULT_CLIENT_ID: Client(DEFAULT_CLIENT_SECRET)}
            self.codes, self.access, self.refresh = {}, {}, {}
            self.token_calls = {}

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"tokenCalls": dict(self.token_calls)}

    def mint(self, email: str, client_id: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        """A new access + refresh token pair (the token endpoint's answer)."""
        with self.lock:
            return self._mint_locked(email, client_id, scopes)

    def _mint_locked(
        self, email: str, client_id: str, scopes: tuple[str, ...], refresh: str | None = None
    ) -> dict[str, Any]:
        now = self.clock()
        access = "wbx-at-" + secrets.token_urlsafe(24)
        self.access[access] = Grant(email, client_id, scopes, now + ACCESS_SECONDS)
        refresh = refresh or "wbx-rt-" + secrets.token_urlsafe(24)
        self.refresh[refresh] = Grant(email, client_id, scopes, now + REFRESH_SECONDS)
        return {
            "access_token": access,
            "expires_in": ACCESS_SECONDS,
            "refresh_token": refresh,
            "refresh_token_expires_in": REFRESH_SECONDS,
            "token_type": "Bearer",
            "scope": " ".join(scopes),
        }

    def user_of(self, access_token: str) -> Grant | None:
        with self.lock:
            grant = self.access.get(access_token)
            if grant is None or grant.revoked or grant.expires < self.clock():
                return None
            return grant

    def expire(self, email: str | None = None, token: str | None = None) -> int:
        """Expire access tokens (of ``email`` or the one ``token``); refresh still works."""
        with self.lock:
            hit = [g for t, g in self.access.items() if t == token or g.email == email]
            for grant in hit:
                grant.expires = 0
            return len(hit)

    def expire_all(self) -> int:
        """Expire every access token issued so far (one expiring mid-sync); refresh works."""
        with self.lock:
            for grant in self.access.values():
                grant.expires = 0
            return len(self.access)

    def revoke(self, email: str) -> int:
        """The user removed the integration: every token of theirs stops working."""
        with self.lock:
            hit = [g for g in [*self.access.values(), *self.refresh.values()] if g.email == email]
            for grant in hit:
                grant.revoked = True
            return len(hit)

    # --- grants ------------------------------------------------------------------------------

    def exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            kind = form.get("grant_type", "")
            self.token_calls[kind] = self.token_calls.get(kind, 0) + 1
            client = self.clients.get(form.get("client_id", ""))
            if client is None or not secrets.compare_digest(
                client.secret, form.get("client_secret", "")
            ):
                return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
            if kind == "authorization_code":
                return self._code_grant(form)
            if kind == "refresh_token":
                return self._refresh_grant(form)
            return _oauth_error(400, "unsupported_grant_type", f"grant_type {kind!r}")

    def _code_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        code = self.codes.pop(form.get("code", ""), None)  # single use, even when refused
        if code is None or code.expires < self.clock():
            return _oauth_error(400, "invalid_grant", "the code is unknown, used or expired")
        if code.grant.client_id != form.get("client_id") or code.redirect_uri != form.get(
            "redirect_uri"
        ):
            return _oauth_error(400, "invalid_grant", "client or redirect_uri differ")
        if code.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not verifier or not secrets.compare_digest(expected, code.challenge):
                return _oauth_error(400, "invalid_grant", "code_verifier does not match")
        grant = code.grant
        return 200, self._mint_locked(grant.email, grant.client_id, grant.scopes)

    def _refresh_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        token = form.get("refresh_token", "")
        grant = self.refresh.get(token)
        if grant is None or grant.revoked or grant.expires < self.clock():
            return _oauth_error(400, "invalid_grant", "the refresh token is invalid or revoked")
        if grant.client_id != form.get("client_id"):
            return _oauth_error(400, "invalid_grant", "the refresh token is another client's")
        keep = None if self.rotate_refresh_tokens else token
        if self.rotate_refresh_tokens:
            grant.revoked = True
        return 200, self._mint_locked(grant.email, grant.client_id, grant.scopes, keep)

    def authorize(self, args: dict[str, str]) -> tuple[str | None, str | None]:
        """Validate an authorization request: ``(problem, None)`` or ``(None, redirect_uri)``."""
        client = self.clients.get(args.get("client_id", ""))
        uri = args.get("redirect_uri", "")
        if client is None:
            return "unknown client_id", None
        if not uri.startswith(("http://", "https://")) or (
            client.redirect_uris and uri not in client.redirect_uris
        ):
            return "redirect_uri is not registered for this client", None
        if args.get("response_type") != "code":
            return "response_type must be code", None
        method = args.get("code_challenge_method")
        if args.get("code_challenge") and method != "S256":
            return "code_challenge_method must be S256", None
        return None, uri

    def issue_code(self, args: dict[str, str], email: str) -> str:
        scopes = tuple(args.get("scope", "").split()) or DEFAULT_SCOPES
        code = secrets.token_urlsafe(24)
        with self.lock:
            grant = Grant(email, args["client_id"], scopes, 0)
            self.codes[code] = Code(
                grant, args["redirect_uri"], args.get("code_challenge") or None,
                self.clock() + CODE_SECONDS,
            )  # fmt: skip
        return code


def _oauth_error(status: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "error": error,
        "error_description": description,
        "message": description,
        "trackingId": f"WBX_{uuid.uuid4()}",
    }


_FIELDS = ("client_id", "response_type", "redirect_uri", "scope", "state", "code_challenge",
           "code_challenge_method")  # fmt: skip


def add_oauth_routes(bp: Blueprint, tokens: Tokens) -> None:
    """``/v1/authorize`` (GET consent page, POST decision) and ``/v1/access_token`` on ``bp``."""

    def bad_request(problem: str) -> Response:
        page = f"<html><body><h1>Bad request</h1><p>{escape(problem)}</p></body></html>"
        return Response(page, status=400, content_type="text/html")

    @bp.get("/v1/authorize")
    def consent() -> Response:
        args = {k: request.args.get(k, "") for k in _FIELDS}
        problem, _ = tokens.authorize(args)
        if problem:
            return bad_request(problem)
        hidden = "".join(
            f"<input type='hidden' name='{k}' value='{escape(v)}'>" for k, v in args.items()
        )
        hint = escape(request.args.get("login_hint") or "user@example.com")
        page = (
            "<html><body><h1>Webex (fake)</h1>"
            f"<p>{escape(args['client_id'])} asks for: {escape(args['scope'])}</p>"
            f"<form method='post'>{hidden}<label>Signed in as "
            f"<input name='email' value='{hint}'></label> "
            "<button name='decision' value='accept'>Accept</button> "
            "<button name='decision' value='deny'>Decline</button></form></body></html>"
        )
        return Response(page, content_type="text/html")

    @bp.post("/v1/authorize")
    def decide() -> Response:
        args = {k: request.form.get(k, "") for k in _FIELDS}
        problem, uri = tokens.authorize(args)
        if problem or uri is None:
            return bad_request(problem or "bad request")
        back: dict[str, str] = {"state": args["state"]} if args["state"] else {}
        email = request.form.get("email", "").strip().lower()
        if request.form.get("decision") != "accept" or "@" not in email:
            back["error"] = "access_denied"
        else:
            back["code"] = tokens.issue_code(args, email)
        glue = "&" if "?" in uri else "?"
        return redirect(uri + glue + urlencode(back), code=302)  # type: ignore[return-value]

    @bp.post("/v1/access_token")
    def access_token() -> Response:
        status, body = tokens.exchange(request.form.to_dict())
        response = jsonify(body)
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        return response
