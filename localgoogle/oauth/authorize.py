"""The authorization endpoint (``/o/oauth2/v2/auth``), following "Using OAuth 2.0 for Web
Server Applications": the request's parameters, the consent, and the redirect back.

Public functions:

* ``open_request(emulator, args)`` — validate a ``GET`` request and keep it for the consent
  page. Parameters read: ``client_id``, ``redirect_uri`` (must be registered for that client,
  compared exactly), ``response_type=code``, ``scope`` (space-delimited), ``state``,
  ``access_type`` (``online``/``offline``), ``prompt`` (``consent``, ``select_account``),
  ``include_granted_scopes``, ``login_hint``, ``nonce``, ``code_challenge`` and
  ``code_challenge_method`` (``S256`` or ``plain``, the latter the default as Google's).
  Anything unusable raises ``AuthorizationPageError``: an HTML page, never a redirect.
* ``decide(emulator, form)`` — the consent form's answer; returns the URL to redirect to:
  ``redirect_uri?code=…&state=…&scope=…`` on **Allow**, ``?error=access_denied&state=…`` on
  **Cancel**. The form's fields are documented in ``consent_page``.

Not emulated (each answers an error page rather than pretend): ``prompt=none`` (there are no
browser sessions to be silent about), ``response_type`` other than ``code`` (the implicit
flow), ``hd`` and ``enable_granular_consent`` are read as no-ops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from localgoogle.oauth import scopes
from localgoogle.oauth.emulator import OAuthEmulator
from localgoogle.oauth.errors import AuthorizationPageError
from localgoogle.oauth.models import AuthorizationRequest

CHALLENGE_METHODS = ("S256", "plain")
PROMPTS = frozenset({"none", "consent", "select_account"})


def _require(args: Mapping[str, str], name: str) -> str:
    value = args.get(name, "").strip()
    if not value:
        raise AuthorizationPageError("invalid_request", f"Missing required parameter: {name}")
    return value


def open_request(emulator: OAuthEmulator, args: Mapping[str, str]) -> AuthorizationRequest:
    client_id = _require(args, "client_id")
    client = emulator.client(client_id)
    if client is None:
        raise AuthorizationPageError("invalid_client", "The OAuth client was not found.", code=401)
    redirect_uri = _require(args, "redirect_uri")
    if redirect_uri not in client.redirect_uris:
        raise AuthorizationPageError(
            "redirect_uri_mismatch",
            f"You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 "
            f"policy. redirect_uri={redirect_uri} is not registered for client {client_id} "
            f"(POST /_oauth/clients registers it).",
        )
    response_type = _require(args, "response_type")
    if response_type != "code":
        raise AuthorizationPageError(
            "unsupported_response_type",
            f"response_type={response_type}: the emulator implements the code flow only.",
        )
    requested = scopes.parse(_require(args, "scope"))
    invalid = [s for s in requested if not scopes.is_valid(s)]
    if invalid:
        raise AuthorizationPageError(
            "invalid_scope", f"Some requested scopes were invalid. {{invalid={invalid}}}"
        )
    access_type = args.get("access_type", "online")
    if access_type not in ("online", "offline"):
        raise AuthorizationPageError("invalid_request", f"Invalid access_type: {access_type}")
    prompt = frozenset(args.get("prompt", "").split())
    if not prompt <= PROMPTS:
        raise AuthorizationPageError("invalid_request", f"Invalid prompt: {args['prompt']}")
    if "none" in prompt:
        raise AuthorizationPageError(
            "invalid_request", "prompt=none is not emulated: the emulator has no sessions."
        )
    challenge = args.get("code_challenge") or None
    method = args.get("code_challenge_method") or None
    if method is not None and challenge is None:
        raise AuthorizationPageError(
            "invalid_request", "code_challenge_method requires code_challenge."
        )
    if challenge is not None:
        method = method or "plain"
        if method not in CHALLENGE_METHODS:
            raise AuthorizationPageError(
                "invalid_request", f"Invalid code_challenge_method: {method}"
            )
    return emulator.open_request(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=requested,
        state=args.get("state"),
        offline=access_type == "offline",
        prompt=prompt,
        include_granted_scopes=args.get("include_granted_scopes", "").lower() == "true",
        login_hint=args.get("login_hint") or None,
        nonce=args.get("nonce") or None,
        code_challenge=challenge,
        code_challenge_method=method,
    )


def redirect_to(uri: str, params: Mapping[str, str | None]) -> str:
    """``uri`` with ``params`` added to its query (a registered URI may carry one)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def decide(
    emulator: OAuthEmulator,
    request_id: str,
    decision: str,
    account: str | None,
    checked: Sequence[str],
) -> str:
    """The user's answer on the consent page; the redirect URL (see module docstring)."""
    request = emulator.take_request(request_id)
    if request is None:
        raise AuthorizationPageError(
            "invalid_request",
            "This sign-in request expired or was already answered; start again from the app.",
        )
    if decision != "allow":
        emulator.stats.consent("denied")
        return redirect_to(request.redirect_uri, {"error": "access_denied", "state": request.state})
    if account is None or not emulator.calendar.user_exists(account):
        raise AuthorizationPageError(
            "invalid_request",
            f"Choose one of the emulator's accounts (got {account!r}; "
            f"POST /_emulator/users creates one).",
        )
    granted = frozenset(s for s in request.scopes if s in set(checked))
    if not granted:
        # Undocumented: Google does not say what unchecking every scope gives. Nothing
        # granted is read as a refusal.
        emulator.stats.consent("denied")
        return redirect_to(request.redirect_uri, {"error": "access_denied", "state": request.state})
    code = emulator.consent(request, account, granted)
    emulator.stats.consent("allowed")
    return redirect_to(
        request.redirect_uri,
        {"code": code.code, "state": request.state, "scope": scopes.render(code.scopes)},
    )
