"""A vendor's OAuth 2.0 authorization server, shared by the fake vendors that act as one user
(``zoom``, ``graph``): the authorization page (a consent form a browser or a test submits),
the token endpoint (``authorization_code`` with PKCE, ``refresh_token``), revocation, and the
check of a bearer access token by the vendor's API. Each vendor mounts it at its own paths and
renders its errors in its own shape; this module holds the state and the rules.

Rules (RFC 6749, RFC 7636, RFC 7009):

* Codes are single use, live 10 minutes, are bound to the client, the redirect URI and the
  PKCE challenge (S256 or plain); a wrong verifier is ``invalid_grant``.
* ``rotate_refresh_tokens`` (Zoom does): each refresh answers a new refresh token and the one
  used stops working; otherwise the refresh token stays (Microsoft's stays usable too: the fake
  keeps it, unconfirmed whether Microsoft always rotates).
* A revoked account (``revoke_account``, or ``/revoke`` with one of its tokens) refuses its
  refresh tokens with ``invalid_grant`` and its access tokens with 401.
* ``expire_access_tokens()`` makes every access token issued so far invalid (a token expiring
  in the middle of a sync); refresh tokens stay good.

Statistics count token-endpoint calls per grant type (``stats()``): a refresh loop shows.

``AccountVendorState`` is what the fake Zoom and Graph states share (their server, meetings,
faults and call log); ``add_oauth_routes`` mounts the authorization page, the token endpoint
and (where the vendor has one) revocation at a vendor's paths; ``add_account_control_routes``
their control API: ``meetings``, ``calls``, ``reset``, ``faults``, ``stats``,
``expire-tokens``, ``revoke``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, jsonify, redirect, request

from localgoogle.vendors.toolkit import Fault, FaultsAndCalls, json_response

CODE_LIFETIME = 600.0
# The faults the fake Zoom and Graph inject (``AccountVendorState``): 503, or 429 with
# ``Retry-After``.
AccountFaultMode = Literal["down", "ratelimit"]
ACCOUNT_FAULT_MODES: tuple[AccountFaultMode, ...] = ("down", "ratelimit")


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str
    account: str
    scopes: str
    issued: float


@dataclass
class _Access:
    account: str
    expires: float
    valid: bool = True


@dataclass
class TokenAnswer:
    status: int
    body: dict[str, Any]


@dataclass
class OAuthServerStats:
    token_calls: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    revocations: int = 0


class VendorOAuth:
    def __init__(
        self,
        *,
        clients: Mapping[str, str],
        rotate_refresh_tokens: bool,
        access_lifetime: float = 3600.0,
        prefix: str = "v",
    ) -> None:
        self._clients = dict(clients)
        self.rotate = rotate_refresh_tokens
        self.access_lifetime = access_lifetime
        self._prefix = prefix
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._codes: dict[str, _Code] = {}
            self._access: dict[str, _Access] = {}
            self._refresh: dict[str, tuple[str, str]] = {}  # token -> (account, client)
            self._revoked: set[str] = set()
            self._stats = OAuthServerStats()
            self._ids: dict[str, str] = {}

    # ---- the authorization page ---------------------------------------------------------
    def authorization_problem(self, args: Mapping[str, str]) -> str | None:
        """Why the authorization request cannot be shown (None: it can)."""
        if args.get("response_type") != "code":
            return "response_type must be code"
        if args.get("client_id") not in self._clients:
            return "unknown client_id"
        uri = urlsplit(args.get("redirect_uri", ""))
        if uri.scheme not in ("http", "https") or not uri.netloc:
            return "redirect_uri must be an absolute http(s) URL"
        if args.get("code_challenge_method", "plain") not in ("S256", "plain"):
            return "code_challenge_method must be S256 or plain"
        return None

    def consent_page(self, args: Mapping[str, str], action: str, vendor: str) -> str:
        """The consent form: hidden request fields, an ``account`` field, Allow / Deny."""
        fields = ("response_type", "client_id", "redirect_uri", "state", "scope",
                  "code_challenge", "code_challenge_method")  # fmt: skip
        hidden = "".join(
            f'<input type="hidden" name="{f}" value="{escape(args.get(f, ""))}">' for f in fields
        )
        return (
            f"<!doctype html><html><head><title>{escape(vendor)}: allow access</title></head>"
            f'<body><main id="vendor-consent"><h1>{escape(vendor)}</h1>'
            f"<p>The app asks to manage your meetings.</p>"
            f'<form method="post" action="{escape(action)}">{hidden}'
            f'<label>Account <input id="account" name="account" '
            f'value="{escape(args.get("login_hint", "alice@example.com"))}"></label>'
            f'<button id="allow" name="decision" value="allow" type="submit">Allow</button>'
            f'<button id="deny" name="decision" value="deny" type="submit">Deny</button>'
            f"</form></main></body></html>"
        )

    def decide(self, form: Mapping[str, str]) -> tuple[str | None, str]:
        """(redirect URL, "") or (None, the problem): the consent form's answer."""
        problem = self.authorization_problem(form)
        if problem is not None:
            return None, problem
        redirect = form["redirect_uri"]
        sep = "&" if "?" in redirect else "?"
        state = {"state": form["state"]} if form.get("state") else {}
        if form.get("decision") != "allow":
            return redirect + sep + urlencode({"error": "access_denied", **state}), ""
        account = (form.get("account") or "").strip().lower()
        if not account:
            return None, "account required"
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                form["client_id"],
                redirect,
                form.get("code_challenge") or None,
                form.get("code_challenge_method") or "plain",
                account,
                form.get("scope", ""),
                time.monotonic(),
            )
            self._revoked.discard(account)  # consenting again links again
        return redirect + sep + urlencode({"code": code, **state}), ""

    # ---- the token endpoint -------------------------------------------------------------
    def token(self, form: Mapping[str, str], authorization: str | None) -> TokenAnswer:
        grant = form.get("grant_type", "")
        with self._lock:
            self._stats.token_calls[grant] = self._stats.token_calls.get(grant, 0) + 1
            answer = self._token(grant, form, authorization)
            if answer.status != 200:
                error = str(answer.body.get("error"))
                self._stats.refused[error] = self._stats.refused.get(error, 0) + 1
            return answer

    def _client(self, form: Mapping[str, str], authorization: str | None) -> str | None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "basic" and value:
            try:
                client_id, _, secret = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return None
        if client_id is None or self._clients.get(client_id) != secret:
            return None
        return client_id

    def _token(self, grant: str, form: Mapping[str, str], authorization: str | None) -> TokenAnswer:
        client = self._client(form, authorization)
        if client is None:
            return TokenAnswer(401, {"error": "invalid_client"})
        if grant == "authorization_code":
            code = self._codes.pop(form.get("code", ""), None)
            if code is None or time.monotonic() - code.issued > CODE_LIFETIME:
                return TokenAnswer(400, {"error": "invalid_grant"})
            if code.client_id != client or code.redirect_uri != form.get("redirect_uri"):
                return TokenAnswer(400, {"error": "invalid_grant"})
            if code.challenge is not None and not _pkce_ok(
                code.challenge, code.method, form.get("code_verifier", "")
            ):
                return TokenAnswer(400, {"error": "invalid_grant"})
            return TokenAnswer(200, self._issue(code.account, client, code.scopes, None))
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            held = self._refresh.get(token)
            if held is None or held[1] != client or held[0] in self._revoked:
                return TokenAnswer(400, {"error": "invalid_grant"})
            if self.rotate:
                del self._refresh[token]
            return TokenAnswer(
                200, self._issue(held[0], client, form.get("scope", ""), None if self.rotate
                                 else token)
            )  # fmt: skip
        return TokenAnswer(400, {"error": "unsupported_grant_type"})

    def _issue(self, account: str, client: str, scopes: str, keep: str | None) -> dict[str, Any]:
        access = f"{self._prefix}-at-{secrets.token_urlsafe(18)}"
        refresh = keep or f"{self._prefix}-rt-{secrets.token_urlsafe(18)}"
        self._access[access] = _Access(account, time.monotonic() + self.access_lifetime)
        self._refresh[refresh] = (account, client)
        return {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": int(self.access_lifetime),
            "scope": scopes,
        }

    def revoke(self, form: Mapping[str, str], authorization: str | None) -> TokenAnswer:
        """RFC 7009: the token's account loses every token (the fake revokes the grant)."""
        with self._lock:
            if self._client(form, authorization) is None:
                return TokenAnswer(401, {"error": "invalid_client"})
            token = form.get("token", "")
            account = (self._refresh.get(token) or (None,))[0] or (
                self._access[token].account if token in self._access else None
            )
            if account is not None:
                self._revoke(account)
            self._stats.revocations += 1
            return TokenAnswer(200, {"status": "success"})

    # ---- the API's side -----------------------------------------------------------------
    def account_of(self, authorization: str | None) -> str | None:
        """The account a ``Bearer`` access token acts as, or None (unknown, expired, revoked)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self._lock:
            access = self._access.get(token)
            if access is None or not access.valid or access.expires < time.monotonic():
                return None
            if access.account in self._revoked:
                return None
            return access.account

    def user_id(self, account: str) -> str:
        """A stable vendor user id for an account."""
        with self._lock:
            return self._ids.setdefault(account, hashlib.sha256(account.encode()).hexdigest()[:22])

    # ---- control ------------------------------------------------------------------------
    def expire_access_tokens(self) -> int:
        with self._lock:
            for access in self._access.values():
                access.valid = False
            return len(self._access)

    def revoke_account(self, account: str) -> None:
        with self._lock:
            self._revoke(account.lower())

    def _revoke(self, account: str) -> None:
        self._revoked.add(account)
        for token in [t for t, (a, _) in self._refresh.items() if a == account]:
            del self._refresh[token]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "tokenCalls": dict(self._stats.token_calls),
                "refused": dict(self._stats.refused),
                "revocations": self._stats.revocations,
                "liveRefreshTokens": len(self._refresh),
            }


def _pkce_ok(challenge: str, method: str, verifier: str) -> bool:
    if not 43 <= len(verifier) <= 128:
        return False
    if method == "plain":
        return secrets.compare_digest(challenge, verifier)
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return secrets.compare_digest(challenge, computed)


def add_oauth_routes(
    bp: Blueprint,
    oauth: VendorOAuth,
    *,
    base: str,
    vendor: str,
    problem_key: str,
    token_error: Callable[[dict[str, Any]], None],
    revoke: bool,
) -> None:
    """``{base}/authorize`` (GET the consent page titled ``vendor``, POST its decision),
    ``{base}/token`` and, with ``revoke``, ``{base}/revoke``. A refused authorization request
    answers 400 ``{"error": "invalid_request", problem_key: why}``; ``token_error`` adds the
    vendor's own fields to a refused token request's RFC 6749 body. ``base`` may hold URL
    parts (Microsoft's ``<tenant>``): the views ignore them."""

    def token_answer(answer: TokenAnswer) -> Response:
        body = dict(answer.body)
        if answer.status != 200:
            token_error(body)
        return json_response(answer.status, body, {"Cache-Control": "no-store"})

    @bp.get(f"{base}/authorize", endpoint="authorize_page")
    def authorize_page(**_: str) -> Response:
        problem = oauth.authorization_problem(request.args)
        if problem:
            return json_response(400, {"error": "invalid_request", problem_key: problem})
        html = oauth.consent_page(request.args, request.path, vendor)
        return Response(html, mimetype="text/html")

    @bp.post(f"{base}/authorize", endpoint="authorize_decide")
    def authorize_decide(**_: str) -> Response:
        url, problem = oauth.decide(request.form)
        if url is None:
            return json_response(400, {"error": "invalid_request", problem_key: problem})
        return redirect(url, code=302)  # type: ignore[return-value]

    @bp.post(f"{base}/token", endpoint="token")
    def token(**_: str) -> Response:
        return token_answer(oauth.token(request.form, request.headers.get("Authorization")))

    if revoke:

        @bp.post(f"{base}/revoke", endpoint="revoke")
        def revoke_token(**_: str) -> Response:
            return token_answer(oauth.revoke(request.form, request.headers.get("Authorization")))


class AccountVendorState:
    """A fake vendor acting as one user (Zoom, Graph): its authorization server, meetings by
    id (guarded by ``_lock``), the fault plan and the call log, with their Python control API.
    A subclass builds its meetings and logs its calls in its vendor's shapes."""

    def __init__(self, oauth: VendorOAuth) -> None:
        self.oauth = oauth
        self.faults = FaultsAndCalls()
        self._lock = threading.Lock()
        self._meetings: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        with self._lock:
            self._meetings = {}
        self.faults.reset()
        self.oauth.reset()

    def set_fault(
        self, mode: AccountFaultMode | None, count: int | None = None, retry_after: int = 1
    ) -> None:
        """The next ``count`` API calls (all: None) fail; ``retry_after`` whole seconds."""
        self.faults.set_fault(None if mode is None else Fault(mode, count, str(retry_after)))

    def calls(self) -> list[dict[str, Any]]:
        return self.faults.calls()

    def meetings(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._meetings.values()))


def add_account_control_routes(bp: Blueprint, state: AccountVendorState) -> None:
    """``/_control/meetings``, ``calls``, ``reset``, ``faults`` (``{"mode": "down"|"ratelimit"|
    "none", "count"?, "retryAfter"?: 0..3600 s}``), ``stats``, ``expire-tokens`` (every access
    token issued so far stops working) and ``revoke`` ``{"account"}`` (the user revoked the
    app) of the fake Zoom and Graph."""
    oauth = state.oauth

    @bp.get("/_control/meetings")
    def all_meetings() -> Response:
        return jsonify({"meetings": state.meetings()})

    @bp.get("/_control/calls")
    def calls() -> Response:
        return jsonify({"calls": state.calls()})

    @bp.post("/_control/reset")
    def reset() -> Response:
        state.reset()
        return Response(status=204)

    @bp.post("/_control/faults")
    def faults() -> Response:
        body = request.get_json(silent=True) or {}
        mode, count, after = body.get("mode"), body.get("count"), body.get("retryAfter", 1)
        if mode == "none":
            state.set_fault(None)
            return Response(status=204)
        ok_count = count is None or (isinstance(count, int) and count > 0)
        ok_after = isinstance(after, int) and 0 <= after <= 3600
        if mode not in ACCOUNT_FAULT_MODES or not ok_count or not ok_after:
            modes = ", ".join(ACCOUNT_FAULT_MODES)
            return json_response(400, {"error": f"mode one of {modes}, none; "
                                       "count > 0; 0 <= retryAfter <= 3600"})  # fmt: skip
        state.set_fault(mode, count, after)
        return Response(status=204)

    @bp.get("/_control/stats")
    def stats() -> Response:
        return jsonify(oauth.stats())

    @bp.post("/_control/expire-tokens")
    def expire_tokens() -> Response:
        return jsonify({"expired": oauth.expire_access_tokens()})

    @bp.post("/_control/revoke")
    def revoke_account() -> Response:
        body = request.get_json(silent=True) or {}
        account = body.get("account")
        if not isinstance(account, str) or not account:
            return json_response(400, {"error": "account required"})
        oauth.revoke_account(account)
        return Response(status=204)
