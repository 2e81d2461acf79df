"""ID tokens and certs: google-auth must accept ours exactly as it accepts Google's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from google.oauth2 import id_token

from localgoogle.addon_host import register
from localgoogle.addon_host.keys import DEFAULT_OAUTH_CLIENT_ID, DEFAULT_SYSTEM_SERVICE_ACCOUNT

from .support import Emulator, FakeCalendars

AUDIENCE = "https://addon.example.com/oncreate"

# Typed aliases of google-auth's callables keep strict mypy without ignores.
_verify_token: Callable[..., Mapping[str, Any]] = id_token.verify_token
_transport: Callable[[], Any] = google.auth.transport.requests.Request


def _verify(emulator: Emulator, token: str, audience: str = AUDIENCE) -> Mapping[str, Any]:
    return _verify_token(
        token,
        _transport(),
        audience=audience,
        certs_url=emulator.url("/oauth2/v1/certs"),
    )


def _token(emulator: Emulator, **body: Any) -> str:
    response = emulator.post("/_emulator/addon/id-token", body)
    assert response.status_code == 200, response.text
    assert response.json()["certsUrl"] == emulator.url("/oauth2/v1/certs")
    return str(response.json()["idToken"])


def test_certs_have_googles_format(emulator: Emulator) -> None:
    response = emulator.get("/oauth2/v1/certs")
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    certs = response.json()
    assert len(certs) == 1
    (kid, pem), *_ = certs.items()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    public_key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == 2048
    token = _token(emulator, audience=AUDIENCE)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": kid, "typ": "JWT"}


def test_google_auth_accepts_system_token(emulator: Emulator) -> None:
    claims = _verify(emulator, _token(emulator, audience=AUDIENCE))
    assert claims["iss"] == "https://accounts.google.com"
    assert claims["aud"] == AUDIENCE
    assert claims["email"] == DEFAULT_SYSTEM_SERVICE_ACCOUNT
    assert claims["email_verified"] is True
    assert claims["sub"].isdigit() and claims["azp"] == claims["sub"]
    assert claims["exp"] - claims["iat"] == 3600


def test_wrong_audience_is_refused(emulator: Emulator) -> None:
    token = _token(emulator, audience="https://addon.example.com/other")
    with pytest.raises(ValueError, match="audience"):
        _verify(emulator, token)


def test_expired_token_is_refused(emulator: Emulator) -> None:
    token = _token(emulator, audience=AUDIENCE, expiresIn=-60)
    with pytest.raises(ValueError, match="expired"):
        _verify(emulator, token)


def test_token_signed_by_unknown_key_is_refused(emulator: Emulator) -> None:
    token = _token(emulator, audience=AUDIENCE, untrusted=True)
    with pytest.raises((ValueError, google.auth.exceptions.GoogleAuthError)):
        _verify(emulator, token)


def test_overrides_for_negative_tests(emulator: Emulator) -> None:
    claims = _verify(
        emulator,
        _token(emulator, audience=AUDIENCE, issuer="https://evil.example", email="x@y.z"),
    )
    assert claims["iss"] == "https://evil.example"
    assert claims["email"] == "x@y.z"


def test_user_token_is_for_the_oauth_client(emulator: Emulator) -> None:
    token = _token(emulator, kind="user", email="bob@example.com")
    claims = _verify(emulator, token, audience=DEFAULT_OAUTH_CLIENT_ID)
    assert claims["email"] == "bob@example.com"
    assert claims["azp"] == DEFAULT_OAUTH_CLIENT_ID


def test_rotation_keeps_old_tokens_valid(emulator: Emulator) -> None:
    old = _token(emulator, audience=AUDIENCE)
    kid = emulator.post("/_emulator/addon/rotate-keys", {}).json()["kid"]
    new = _token(emulator, audience=AUDIENCE)
    assert set(emulator.get("/oauth2/v1/certs").json()) == {
        jwt.get_unverified_header(old)["kid"],
        kid,
    }
    assert jwt.get_unverified_header(new)["kid"] == kid
    _verify(emulator, old)
    _verify(emulator, new)


@pytest.mark.parametrize(
    "body",
    [{}, {"audience": ""}, {"audience": AUDIENCE, "expiresIn": "soon"}, {"kind": "robot"}],
)
def test_bad_token_requests(emulator: Emulator, body: dict[str, Any]) -> None:
    response = emulator.post("/_emulator/addon/id-token", body)
    assert response.status_code == 400
    assert response.json()["error"]["reason"] == "badRequest"


def test_configured_base_url_names_the_certs_url(calendars: FakeCalendars) -> None:
    app = Flask("configured")
    app.config["EMULATOR_BASE_URL"] = "http://emulator.internal:8085/"
    host = register(app, calendars)
    try:
        info = app.test_client().get("/_emulator/addon").get_json()
        assert info["certsUrl"] == "http://emulator.internal:8085/oauth2/v1/certs"
        assert app.extensions["addon_host"] is host
    finally:
        host.close()
