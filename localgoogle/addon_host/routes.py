"""HTTP surface of the add-on host simulation (one blueprint; views parse, call, serialise).

Routes (all JSON):

* ``GET  /oauth2/v1/certs`` — ``{kid: PEM certificate}``, like www.googleapis.com's.
* ``GET  /_emulator/addon`` — identities and URLs: ``{systemServiceAccount, oauthClientId,
  issuer, certsUrl, installed, pendingTriggerCalls}``.
* ``POST|GET|DELETE /_emulator/addon/deployment`` — install (Deployment JSON), read, uninstall.
* ``POST /_emulator/addon/id-token`` — ``{audience, kind?: system|user, email?, expiresIn?,
  issuer?, subject?, untrusted?, emailVerified?}`` → ``{idToken, certsUrl}``
  (``emailVerified: false`` signs a token whose email Google has not verified).
* ``POST /_emulator/addon/rotate-keys`` → ``{kid}``: a new signing key (old one still published).
* ``POST /_emulator/calendars/<calendarId>/events/<eventId>/pick-conference`` —
  ``{solutionId, user, timeZone?, locale?}`` → see ``HostSimulator.pick_conference``.
* ``POST /_emulator/calendars/<calendarId>/events/<eventId>/open`` — ``{user, locale?}``:
  the eventOpenTrigger → ``{addonStatus, card, notification, answer}``.
* ``POST /_emulator/addon/action`` — ``{user, function, parameters?, calendarId?, eventId?}``:
  a card button clicked (Google calls ``function`` with its ID token) → the same shape.
* ``POST /_emulator/addon/settings-url`` — ``{user}``: createSettingsUrlFunction →
  ``{addonStatus, settingsUrl}``.
* ``GET|POST /_emulator/addon/notifications`` — trigger fault injection and retry settings.
* ``GET /_emulator/addon/subscriptions``; ``POST /_emulator/addon/subscribe`` and
  ``/unsubscribe`` with ``{calendarId, user?}``.
* ``GET /_emulator/addon/calls?limit=N`` — ``{calls: [{kind, url, status, calendarId, user,
  outcome, at, ...}]}`` oldest first.
* ``POST /_emulator/addon/flush`` ``{timeout?}`` → ``{idle}``: wait for trigger calls
  (for tests that run the emulator in another process).
* ``POST /_emulator/addon/reset``.

Errors are ``{"error": {code, reason, message}, ...details}`` from ``errors.HostError``.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Response, current_app, jsonify, request

from localgoogle.addon_host.errors import BadRequestError, HostError, NotInstalledError
from localgoogle.addon_host.keys import CERTS_CACHE_CONTROL
from localgoogle.addon_host.simulator import HostSimulator
from localgoogle.addon_host.triggers import parse_notification_settings

bp = Blueprint("addon_host", __name__)

CERTS_PATH = "/oauth2/v1/certs"


def _host() -> HostSimulator:
    return cast(HostSimulator, current_app.extensions["addon_host"])


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        body = {} if not request.get_data() else None
    if not isinstance(body, dict):
        raise BadRequestError("request body must be a JSON object")
    return body


def _string(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequestError(f"{key} must be a non-empty string")
    return value


def certs_url() -> str:
    """Where verifiers fetch our keys: configured base URL, else the one the caller used."""
    base = current_app.config.get("EMULATOR_BASE_URL") or request.host_url
    return str(base).rstrip("/") + CERTS_PATH


@bp.errorhandler(HostError)
def _host_error(error: HostError) -> tuple[Response, int]:
    return jsonify(error.body()), error.status


@bp.get(CERTS_PATH)
def certs() -> Response:
    response = jsonify(_host().tokens.certs())
    response.headers["Cache-Control"] = CERTS_CACHE_CONTROL
    return response


@bp.get("/_emulator/addon")
def info() -> Response:
    host = _host()
    return jsonify(
        {
            "systemServiceAccount": host.system_service_account,
            "oauthClientId": host.oauth_client_id,
            "issuer": host.tokens.issuer,
            "certsUrl": certs_url(),
            "installed": host.deployment is not None,
            "pendingTriggerCalls": host.pending_trigger_calls(),
        }
    )


@bp.post("/_emulator/addon/deployment")
def install_deployment() -> Response:
    deployment = _host().install(request.get_json(silent=True))
    return jsonify(deployment.raw)


@bp.get("/_emulator/addon/deployment")
def get_deployment() -> Response:
    deployment = _host().deployment
    if deployment is None:
        raise NotInstalledError("no add-on deployment is installed")
    return jsonify(deployment.raw)


@bp.delete("/_emulator/addon/deployment")
def uninstall_deployment() -> Response:
    return jsonify({"uninstalled": _host().uninstall()})


@bp.post("/_emulator/addon/id-token")
def id_token() -> Response:
    host = _host()
    body = _body()
    kind = body.get("kind", "system")
    overrides: dict[str, Any] = {}
    expires_in = body.get("expiresIn")
    if expires_in is not None:
        if not isinstance(expires_in, int) or isinstance(expires_in, bool):
            raise BadRequestError("expiresIn must be an integer number of seconds")
        overrides["expires_in"] = expires_in
    for key, name in (("issuer", "issuer"), ("subject", "subject")):
        if key in body:
            overrides[name] = _string(body, key)
    if body.get("untrusted"):
        overrides["untrusted"] = True
    if "emailVerified" in body:
        if not isinstance(body["emailVerified"], bool):
            raise BadRequestError("emailVerified must be true or false")
        overrides["extra_claims"] = {"email_verified": body["emailVerified"]}
    if kind == "system":
        audience = cast(str, _string(body, "audience"))
        if "email" in body:
            overrides["email"] = _string(body, "email")
        token = host.system_id_token(audience, **overrides)
    elif kind == "user":
        if "audience" in body:
            overrides["audience"] = _string(body, "audience")
        token = host.user_id_token(cast(str, _string(body, "email")), **overrides)
    else:
        raise BadRequestError("kind must be 'system' or 'user'")
    return jsonify({"idToken": token, "certsUrl": certs_url()})


@bp.post("/_emulator/addon/rotate-keys")
def rotate_keys() -> Response:
    return jsonify({"kid": _host().tokens.rotate()})


@bp.post("/_emulator/calendars/<calendar_id>/events/<event_id>/pick-conference")
def pick_conference(calendar_id: str, event_id: str) -> Response:
    body = _body()
    result = _host().pick_conference(
        calendar_id,
        event_id,
        cast(str, _string(body, "solutionId")),
        cast(str, _string(body, "user")),
        time_zone=_string(body, "timeZone", required=False),
        locale=_string(body, "locale", required=False) or "en",
    )
    return jsonify(result)


@bp.post("/_emulator/addon/homepage")
def open_homepage() -> Response:
    body = _body()
    user = cast(str, _string(body, "user"))
    return jsonify(
        _host().open_homepage(user, locale=_string(body, "locale", required=False) or "en")
    )


@bp.post("/_emulator/calendars/<calendar_id>/events/<event_id>/open")
def open_event(calendar_id: str, event_id: str) -> Response:
    body = _body()
    return jsonify(
        _host().open_event(
            calendar_id,
            event_id,
            cast(str, _string(body, "user")),
            locale=_string(body, "locale", required=False) or "en",
        )
    )


@bp.post("/_emulator/addon/action")
def card_action() -> Response:
    body = _body()
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in parameters.items()
    ):
        raise BadRequestError("parameters must be an object of strings")
    return jsonify(
        _host().card_action(
            cast(str, _string(body, "function")),
            parameters,
            cast(str, _string(body, "user")),
            calendar_id=_string(body, "calendarId", required=False),
            event_id=_string(body, "eventId", required=False),
        )
    )


@bp.post("/_emulator/addon/settings-url")
def settings_url() -> Response:
    return jsonify(_host().settings_url(cast(str, _string(_body(), "user"))))


@bp.get("/_emulator/addon/notifications")
def get_notifications() -> Response:
    return jsonify(_host().notification_settings().to_json())


@bp.post("/_emulator/addon/notifications")
def configure_notifications() -> Response:
    host = _host()
    settings = parse_notification_settings(_body(), host.notification_settings())
    host.configure_notifications(settings)
    return jsonify(settings.to_json())


@bp.get("/_emulator/addon/subscriptions")
def subscriptions() -> Response:
    return jsonify({"subscriptions": [s.to_json() for s in _host().subscriptions()]})


@bp.post("/_emulator/addon/subscribe")
def subscribe() -> Response:
    body = _body()
    calendar_id = cast(str, _string(body, "calendarId"))
    _host().subscribe(calendar_id, cast(str, _string(body, "user")))
    return jsonify({"subscriptions": [s.to_json() for s in _host().subscriptions()]})


@bp.post("/_emulator/addon/unsubscribe")
def unsubscribe() -> Response:
    body = _body()
    removed = _host().unsubscribe(
        cast(str, _string(body, "calendarId")), _string(body, "user", required=False)
    )
    return jsonify({"removed": removed})


@bp.get("/_emulator/addon/calls")
def calls() -> Response:
    limit = request.args.get("limit", type=int)
    return jsonify({"calls": _host().calls(limit)})


@bp.post("/_emulator/addon/flush")
def flush() -> Response:
    timeout = _body().get("timeout", 10)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 <= timeout <= 60:
        raise BadRequestError("timeout must be a number of seconds from 0 to 60")
    return jsonify({"idle": _host().flush(float(timeout))})


@bp.post("/_emulator/addon/reset")
def reset() -> Response:
    _host().reset()
    return jsonify({})
