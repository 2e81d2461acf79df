"""HTTP surface of Google's OAuth 2.0 endpoints and of IAM Credentials (the moto "responses"
layer: parse, call one function, serialise). Errors become answers here and only here.

* ``GET|POST /o/oauth2/v2/auth`` (also ``/o/oauth2/auth``, the ``auth_uri`` of downloaded
  client secrets) — the authorization page (``authorize``, ``consent_page``).
* ``POST /token`` — form-encoded (parameters in the query are read too, as Google does);
  ``token_grants``, ``assertions``.
* ``POST /revoke`` — ``token`` in the form or the query; 200 ``{}`` or 400 ``invalid_token``.
* ``POST /v1/projects/-/serviceAccounts/{email}:signBlob`` and ``:signJwt`` — ``iam``.
"""

from __future__ import annotations

import json
from typing import Any, cast

from flask import Blueprint, Response, current_app, jsonify, request

from localgoogle.oauth import authorize, errors, iam, token_grants
from localgoogle.oauth.assertions import GOOGLE_TOKEN_URI
from localgoogle.oauth.consent_page import render_consent, render_error
from localgoogle.oauth.emulator import OAuthEmulator
from localgoogle.oauth.errors import ApiError, AuthorizationPageError, OAuthError

bp = Blueprint("oauth", __name__)

AUTH_PATHS = ("/o/oauth2/v2/auth", "/o/oauth2/auth")
# The token endpoint's answers must not be cached (Google sends these headers too).
_NO_STORE = {
    "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
    "Pragma": "no-cache",
}


def emulator() -> OAuthEmulator:
    return cast(OAuthEmulator, current_app.extensions["oauth"])


def public_base() -> str:
    """Our base URL: the configured one, else the one the caller used."""
    base = current_app.config.get("EMULATOR_BASE_URL") or request.host_url
    return str(base).rstrip("/")


@bp.errorhandler(OAuthError)
def _oauth_error(error: OAuthError) -> Response:
    return Response(
        json.dumps(error.body()), error.status, headers=_NO_STORE, mimetype="application/json"
    )


@bp.errorhandler(AuthorizationPageError)
def _page_error(error: AuthorizationPageError) -> Response:
    emulator().stats.consent("refused")
    return Response(render_error(error), 400, mimetype="text/html")


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> tuple[Response, int]:
    return jsonify(error.body()), error.code


def _auth_page() -> Response:
    oauth = emulator()
    auth_request = authorize.open_request(oauth, request.args.to_dict())
    client = oauth.client(auth_request.client_id)
    name = client.name if client else auth_request.client_id
    page = render_consent(auth_request, name, oauth.calendar.user_emails(), request.path)
    oauth.stats.consent("shown")
    return Response(page, 200, mimetype="text/html")


def _auth_decision() -> Response:
    form = request.form
    location = authorize.decide(
        emulator(),
        form.get("authRequest", ""),
        form.get("decision", ""),
        form.get("account") or None,
        form.getlist("scope"),
    )
    return Response(status=302, headers={"Location": location})


for _path in AUTH_PATHS:
    bp.add_url_rule(_path, f"auth_page{_path}", _auth_page, methods=["GET"])
    bp.add_url_rule(_path, f"auth_decision{_path}", _auth_decision, methods=["POST"])


@bp.post("/token")
def token() -> Response:
    auth = request.authorization
    basic = (
        (auth.username or "", auth.password or "")
        if auth is not None and auth.type == "basic"
        else None
    )
    audiences = frozenset({request.host_url + "token", public_base() + "/token", GOOGLE_TOKEN_URI})
    answer = token_grants.exchange(emulator(), request.values.to_dict(), basic, audiences)
    return Response(json.dumps(answer), 200, headers=_NO_STORE, mimetype="application/json")


@bp.post("/revoke")
def revoke() -> Response:
    oauth = emulator()
    value = request.values.get("token", "")
    if not value:
        oauth.stats.revocation("invalid_request")
        raise errors.missing_parameter("token")
    if not oauth.revoke_token(value):
        oauth.stats.revocation("invalid_token")
        raise errors.token_not_revocable()
    oauth.stats.revocation("ok")
    return jsonify({})


def _json_body() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError as error:
        raise errors.iam_invalid_argument(f"Invalid JSON payload received. {error}") from error
    if not isinstance(body, dict):
        raise errors.iam_invalid_argument("Invalid JSON payload received. Expected an object.")
    return body


@bp.post("/v1/projects/<project>/serviceAccounts/<path:resource>")
def iam_credentials(project: str, resource: str) -> Response:
    name, _, verb = resource.rpartition(":")
    methods = {"signBlob": iam.sign_blob, "signJwt": iam.sign_jwt}
    if verb not in methods or not name:
        raise ApiError(
            404, "NOT_FOUND", f"Method {verb or resource!r} is not emulated (signBlob, signJwt)."
        )
    return jsonify(methods[verb](emulator(), name, _json_body()))
