"""Control API of the OAuth emulator under ``/_oauth/`` (JSON, no auth; loopback use only),
playing the Cloud console, the Workspace Admin console and the user's account page.

POST /_oauth/clients {"clientId"?, "clientSecret"?, "redirectUris": [...], "name"?}
                                  -> the client and its "clientConfig" ({"web": {...}}, what
                                     Flow.from_client_config reads); replaces an existing
                                     client's settings (its secret kept if none is given)
GET  /_oauth/clients              -> {"clients": [...]}
POST /_oauth/service-accounts {"email"} -> {"email", "clientId", "projectId", "keyId"} (idempotent)
GET  /_oauth/service-accounts     -> {"serviceAccounts": [...]}
GET  /_oauth/service-accounts/<email>/key -> the JSON key file (token_uri = our /token)
POST /_oauth/delegations {"serviceAccount" | "clientId", "domain", "scopes": [...]}
                                  -> the entry (replaces that domain's entry for the client id)
POST /_oauth/delegations/withdraw {"serviceAccount" | "clientId", "domain"} -> {"removed"}
GET  /_oauth/delegations          -> {"delegations": [...]}
POST /_oauth/users/<email>/revoke {"clientId"} -> {"revoked": n}: the user removes the app's access
GET  /_oauth/grants?user=&clientId= -> {"grants": [...]} (no tokens)
GET  /_oauth/stats                -> {"tokenRequests", "consent", "revocations", "iam"}
POST /_oauth/reset                -> {} (default client only; every token stops working)

Errors: ``{"error": {"code", "message", "status"}}`` with 400 or 404.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from localgoogle.oauth.errors import ApiError, control_error
from localgoogle.oauth.models import OAuthClient, ServiceAccount
from localgoogle.oauth.views import AUTH_PATHS, emulator, public_base

bp = Blueprint("oauth_control", __name__, url_prefix="/_oauth")


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> tuple[Response, int]:
    return jsonify(error.body()), error.code


def _body(allowed: set[str]) -> dict[str, Any]:
    raw = request.get_data()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as error:
        raise control_error(f"request body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise control_error("request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise control_error(f"unknown field(s): {', '.join(unknown)}; expected {sorted(allowed)}")
    return body


def _string(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise control_error(f"{key} must be a non-empty string")
    return value.strip()


def _strings(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise control_error(f"{key} must be a list of non-empty strings")
    return list(value)


def _client_json(client: OAuthClient) -> dict[str, Any]:
    base = public_base()
    config = {
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "auth_uri": base + AUTH_PATHS[0],
        "token_uri": base + "/token",
        "redirect_uris": list(client.redirect_uris),
    }
    return {**client.to_json(), "clientConfig": {"web": config}}


@bp.post("/clients")
def register_client() -> Response:
    body = _body({"clientId", "clientSecret", "redirectUris", "name"})
    uris = _strings(body, "redirectUris")
    bad = [u for u in uris if not u.startswith(("http://", "https://"))]
    if bad:
        raise control_error(f"redirectUris must be absolute http(s) URLs: {bad}")
    client = emulator().register_client(
        _string(body, "clientId", required=False),
        _string(body, "clientSecret", required=False),
        uris,
        _string(body, "name", required=False),
    )
    return jsonify(_client_json(client))


@bp.get("/clients")
def clients() -> Response:
    return jsonify({"clients": [_client_json(c) for c in emulator().clients()]})


@bp.post("/service-accounts")
def create_service_account() -> Response:
    email = _string(_body({"email"}), "email")
    assert email is not None
    if email.count("@") != 1 or email.startswith("@") or email.endswith("@"):
        raise control_error(
            f"email must be an address like name@project.iam.gserviceaccount.com: {email}"
        )
    return jsonify(emulator().create_service_account(email).to_json())


@bp.get("/service-accounts")
def service_accounts() -> Response:
    accounts = emulator().service_accounts()
    return jsonify({"serviceAccounts": [a.to_json() for a in accounts]})


def _account(name: str) -> ServiceAccount:
    account = emulator().service_account(name)
    if account is None:
        raise control_error(f"no service account {name} (POST /_oauth/service-accounts)", 404)
    return account


@bp.get("/service-accounts/<name>/key")
def key_file(name: str) -> Response:
    base = public_base()
    return jsonify(_account(name).key_file(base + "/token", base + AUTH_PATHS[0]))


def _delegation_target(body: dict[str, Any]) -> tuple[ServiceAccount, str]:
    by_email = _string(body, "serviceAccount", required=False)
    by_id = _string(body, "clientId", required=False)
    if (by_email is None) == (by_id is None):
        raise control_error("give exactly one of serviceAccount (email) or clientId")
    domain = _string(body, "domain")
    assert domain is not None
    return _account(by_email or by_id or ""), domain.lower()


@bp.post("/delegations")
def delegate() -> Response:
    body = _body({"serviceAccount", "clientId", "domain", "scopes"})
    account, domain = _delegation_target(body)
    scopes = _strings(body, "scopes")
    if not scopes:
        raise control_error("scopes must list at least one scope")
    emulator().delegate(account, domain, scopes)
    entry = {"clientId": account.unique_id, "serviceAccount": account.email}
    return jsonify({**entry, "domain": domain, "scopes": sorted(set(scopes))})


@bp.post("/delegations/withdraw")
def withdraw() -> Response:
    account, domain = _delegation_target(_body({"serviceAccount", "clientId", "domain"}))
    return jsonify({"removed": emulator().withdraw_delegation(account, domain)})


@bp.get("/delegations")
def delegations() -> Response:
    return jsonify({"delegations": emulator().delegations()})


@bp.post("/users/<email>/revoke")
def user_revokes(email: str) -> Response:
    client_id = _string(_body({"clientId"}), "clientId")
    assert client_id is not None
    revoked = emulator().revoke_user_access(email, client_id)
    emulator().stats.revocation("byUser")
    return jsonify({"revoked": revoked})


@bp.get("/grants")
def grants() -> Response:
    found = emulator().grants(request.args.get("user"), request.args.get("clientId"))
    return jsonify({"grants": [g.to_json() for g in found]})


@bp.get("/stats")
def stats() -> Response:
    return jsonify(emulator().stats.to_json())


@bp.post("/reset")
def reset() -> Response:
    emulator().reset()
    return jsonify({})


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> tuple[Response, int]:
    error = control_error(f"no control endpoint {request.method} /_oauth/{rest}", 404)
    return jsonify(error.body()), 404
