"""ID token verification against a real local certs endpoint (werkzeug) and PyJWT-minted tokens."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from addon.auth import (
    VERIFIED_TOKENS_KEPT,
    AuthError,
    GoogleCerts,
    IdTokenVerifier,
    UserIdTokenVerifier,
)

SA = "service-123@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
AUD = "https://addon.example/on-create/standard"
NOW = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Signer:
    kid: str
    key: rsa.RSAPrivateKey
    cert_pem: str

    def mint(self, clock: Clock, **overrides: object) -> str:
        claims: dict[str, object] = {
            "iss": "https://accounts.google.com",
            "aud": AUD,
            "sub": "1234567890",
            "email": SA,
            "email_verified": True,
            "iat": int(clock.now) - 10,
            "exp": int(clock.now) + 3600,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def _signer(kid: str) -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, kid)])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return Signer(kid, key, cert.public_bytes(serialization.Encoding.PEM).decode())


@pytest.fixture(scope="module")
def signers() -> tuple[Signer, Signer]:
    return _signer("kid-a"), _signer("kid-b")


@dataclass
class CertsServer:
    """A stand-in for https://www.googleapis.com/oauth2/v1/certs that counts fetches."""

    url: str = ""
    document: dict[str, object] = field(default_factory=dict)
    cache_control: str = "public, max-age=600, must-revalidate"
    status: int = 200
    fetches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:  # WSGI app
        with self.lock:
            self.fetches += 1
        Request(environ)
        response = Response(
            json.dumps(self.document),
            status=self.status,
            mimetype="application/json",
            headers={"Cache-Control": self.cache_control},
        )
        return response(environ, start_response)


@pytest.fixture
def certs_server(signers: tuple[Signer, Signer]) -> Iterator[CertsServer]:
    app = CertsServer(document={signers[0].kid: signers[0].cert_pem})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.url = f"http://127.0.0.1:{server.server_port}/oauth2/v1/certs"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(certs_server: CertsServer, clock: Clock) -> IdTokenVerifier:
    return IdTokenVerifier(certs_server.url, SA, clock=clock)


def _code(verifier: IdTokenVerifier, header: str | None, audience: str = AUD) -> str:
    with pytest.raises(AuthError) as info:
        verifier.verify(header, audience)
    assert type(info.value) is AuthError
    return info.value.code


def test_valid_token_gives_the_caller(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock)
    caller = verifier.verify(f"Bearer {token}", AUD)
    assert caller.email == SA
    assert caller.subject == "1234567890"
    assert caller.expires_at == int(NOW) + 3600
    assert caller.issued_at == int(NOW) - 10


def test_bare_issuer_and_string_email_verified_are_accepted(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock, iss="accounts.google.com", email_verified="true")
    assert verifier.verify(f"Bearer {token}", AUD).email == SA


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header(verifier: IdTokenVerifier, header: str | None) -> None:
    assert _code(verifier, header) == "missing_token"


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   ", "token"])
def test_not_bearer(verifier: IdTokenVerifier, header: str | None) -> None:
    assert _code(verifier, header) == "malformed"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"])
def test_garbage_token(verifier: IdTokenVerifier, token: str) -> None:
    assert _code(verifier, f"Bearer {token}") == "malformed"


def test_token_without_kid_or_with_other_alg(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    no_kid = jwt.encode({"iss": "accounts.google.com"}, signers[0].key, algorithm="RS256")
    assert _code(verifier, f"Bearer {no_kid}") == "malformed"
    hs = jwt.encode({"a": 1}, "a-secret-of-32-bytes-or-more-----", headers={"kid": "kid-a"})
    assert _code(verifier, f"Bearer {hs}") == "malformed"


def test_signature_by_another_key(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    forged = Signer("kid-a", signers[1].key, signers[1].cert_pem).mint(clock)
    assert _code(verifier, f"Bearer {forged}") == "bad_signature"


def test_tampered_payload(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    header, _, signature = signers[0].mint(clock).split(".")
    other_payload = signers[0].mint(clock, email="attacker@example.com").split(".")[1]
    assert _code(verifier, f"Bearer {header}.{other_payload}.{signature}") == "bad_signature"


def test_wrong_audience(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock)
    assert _code(verifier, f"Bearer {token}", "https://addon.example/other") == "wrong_audience"


def test_audience_list_containing_the_endpoint(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock, aud=["https://x.example", AUD])
    assert verifier.verify(f"Bearer {token}", AUD).email == SA


def test_wrong_issuer(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock, iss="https://evil.example")
    assert _code(verifier, f"Bearer {token}") == "wrong_issuer"


def test_expired_beyond_skew(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock, iat=int(NOW) - 3600, exp=int(NOW) - 31)
    assert _code(verifier, f"Bearer {token}") == "expired"


def test_expired_within_skew_is_accepted(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock, iat=int(NOW) - 3600, exp=int(NOW) - 29)
    assert verifier.verify(f"Bearer {token}", AUD).email == SA


def test_issued_in_the_future(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock, iat=int(NOW) + 120)
    assert _code(verifier, f"Bearer {token}") == "not_yet_valid"


def test_missing_exp(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock, exp=None)
    assert _code(verifier, f"Bearer {token}") == "malformed"


def test_wrong_email(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock, email="someone@example.com")
    assert _code(verifier, f"Bearer {token}") == "wrong_email"
    no_email = signers[0].mint(clock, email=None)
    assert _code(verifier, f"Bearer {no_email}") == "wrong_email"


@pytest.mark.parametrize("verified", [False, "false", None])
def test_unverified_email(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock, verified: object
) -> None:
    token = signers[0].mint(clock, email_verified=verified)
    assert _code(verifier, f"Bearer {token}") == "email_unverified"


def test_unknown_kid_refetches_once_then_fails(
    verifier: IdTokenVerifier,
    certs_server: CertsServer,
    signers: tuple[Signer, Signer],
    clock: Clock,
) -> None:
    good = signers[0].mint(clock)
    verifier.verify(f"Bearer {good}", AUD)
    assert certs_server.fetches == 1
    stranger = Signer("kid-zzz", signers[1].key, signers[1].cert_pem).mint(clock)
    assert _code(verifier, f"Bearer {stranger}") == "unknown_kid"
    assert certs_server.fetches == 2
    # A flood of unknown kids must not turn into a flood of fetches.
    for _ in range(5):
        assert _code(verifier, f"Bearer {stranger}") == "unknown_kid"
    assert certs_server.fetches == 2


def test_rotated_key_is_picked_up_by_the_unknown_kid_refetch(
    verifier: IdTokenVerifier,
    certs_server: CertsServer,
    signers: tuple[Signer, Signer],
    clock: Clock,
) -> None:
    verifier.verify(f"Bearer {signers[0].mint(clock)}", AUD)
    certs_server.document = {s.kid: s.cert_pem for s in signers}
    assert verifier.verify(f"Bearer {signers[1].mint(clock)}", AUD).email == SA
    assert certs_server.fetches == 2


def test_certs_endpoint_down(signers: tuple[Signer, Signer], clock: Clock) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    verifier = IdTokenVerifier(f"http://127.0.0.1:{port}/certs", SA, clock=clock)
    with pytest.raises(AuthError) as info:
        verifier.verify(f"Bearer {signers[0].mint(clock)}", AUD)
    assert info.value.code == "certs_unavailable"
    assert info.value.http_status == 503


def test_certs_endpoint_error_status_and_garbage(
    verifier: IdTokenVerifier,
    certs_server: CertsServer,
    signers: tuple[Signer, Signer],
    clock: Clock,
) -> None:
    certs_server.status = 500
    assert _code(verifier, f"Bearer {signers[0].mint(clock)}") == "certs_unavailable"
    certs_server.status = 200
    certs_server.document = {"kid-a": "not a certificate"}
    clock.now += 2  # past the fail-fast pause after a failure
    assert _code(verifier, f"Bearer {signers[0].mint(clock)}") == "certs_unavailable"


def test_other_codes_are_401(verifier: IdTokenVerifier) -> None:
    with pytest.raises(AuthError) as info:
        verifier.verify(None, AUD)
    assert info.value.http_status == 401


def test_one_fetch_for_many_verifications_across_threads(
    verifier: IdTokenVerifier,
    certs_server: CertsServer,
    signers: tuple[Signer, Signer],
    clock: Clock,
) -> None:
    token = f"Bearer {signers[0].mint(clock)}"
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                verifier.verify(token, AUD)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert certs_server.fetches == 1


def test_refetch_after_max_age(
    verifier: IdTokenVerifier,
    certs_server: CertsServer,
    signers: tuple[Signer, Signer],
    clock: Clock,
) -> None:
    verifier.verify(f"Bearer {signers[0].mint(clock)}", AUD)
    clock.now += 599
    verifier.verify(f"Bearer {signers[0].mint(clock)}", AUD)
    assert certs_server.fetches == 1
    clock.now += 2
    verifier.verify(f"Bearer {signers[0].mint(clock)}", AUD)
    assert certs_server.fetches == 2


def test_stale_keys_keep_serving_when_refresh_fails(
    verifier: IdTokenVerifier,
    certs_server: CertsServer,
    signers: tuple[Signer, Signer],
    clock: Clock,
) -> None:
    verifier.verify(f"Bearer {signers[0].mint(clock)}", AUD)
    certs_server.status = 503
    clock.now += 700
    assert verifier.verify(f"Bearer {signers[0].mint(clock)}", AUD).email == SA
    assert certs_server.fetches == 2


def test_jwks_format_and_age_header(signers: tuple[Signer, Signer], clock: Clock) -> None:
    jwk = json.loads(RSAAlgorithm.to_jwk(signers[1].key.public_key()))
    jwk.update(kid="kid-b", use="sig", alg="RS256")
    body = json.dumps({"keys": [jwk, {"kty": "EC", "kid": "ignored"}]}).encode()
    calls: list[str] = []

    def fetch(url: str) -> tuple[bytes, dict[str, str]]:
        calls.append(url)
        return body, {"cache-control": "max-age=100", "age": "50"}

    verifier = IdTokenVerifier("https://certs.example", SA, fetch=fetch, clock=clock)
    assert verifier.verify(f"Bearer {signers[1].mint(clock)}", AUD).email == SA
    clock.now += 40
    verifier.verify(f"Bearer {signers[1].mint(clock)}", AUD)
    assert len(calls) == 1
    clock.now += 11  # 100 - 50 seconds of freshness were left
    verifier.verify(f"Bearer {signers[1].mint(clock)}", AUD)
    assert len(calls) == 2


def test_user_id_token(
    certs_server: CertsServer, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    certs = GoogleCerts(certs_server.url, clock=clock)
    users = UserIdTokenVerifier("client-123.apps.googleusercontent.com", certs, clock=clock)
    token = signers[0].mint(
        clock, aud="client-123.apps.googleusercontent.com", email="ada@example.com", sub="42"
    )
    caller = users.verify(token)
    assert (caller.email, caller.subject) == ("ada@example.com", "42")
    with pytest.raises(AuthError) as info:
        users.verify(signers[0].mint(clock))  # audience is the endpoint, not the client id
    assert info.value.code == "wrong_audience"
    with pytest.raises(AuthError) as info:
        users.verify(None)
    assert info.value.code == "missing_token"
    shared = IdTokenVerifier(certs_server.url, SA, clock=clock, certs=certs)
    shared.verify(f"Bearer {signers[0].mint(clock)}", AUD)
    assert certs_server.fetches == 1


def test_certs_served_already_stale_are_not_refetched_per_verification(
    signers: tuple[Signer, Signer], clock: Clock
) -> None:
    """Age >= max-age (a cache in front of Google, a clock far off) means "stale on arrival";
    that must not turn into one fetch per request under the verifier's lock."""
    body = json.dumps({signers[0].kid: signers[0].cert_pem}).encode()
    calls: list[float] = []

    def fetch(url: str) -> tuple[bytes, dict[str, str]]:
        calls.append(clock.now)
        return body, {"cache-control": "max-age=300", "age": "301"}

    verifier = IdTokenVerifier("https://certs.example", SA, fetch=fetch, clock=clock)
    for _ in range(20):
        verifier.verify(f"Bearer {signers[0].mint(clock)}", AUD)
        clock.now += 1
    assert len(calls) == 1
    clock.now += 30
    verifier.verify(f"Bearer {signers[0].mint(clock)}", AUD)
    assert len(calls) == 2  # refreshed again, but only after the minimum interval


def test_forged_kids_cannot_force_more_than_one_fetch_per_interval(
    signers: tuple[Signer, Signer], clock: Clock
) -> None:
    body = json.dumps({signers[0].kid: signers[0].cert_pem}).encode()
    calls: list[float] = []

    def fetch(url: str) -> tuple[bytes, dict[str, str]]:
        calls.append(clock.now)
        return body, {"cache-control": "max-age=0"}

    verifier = IdTokenVerifier("https://certs.example", SA, fetch=fetch, clock=clock)
    for i in range(10):
        forged = jwt.encode(
            {"iss": "x"}, signers[1].key, algorithm="RS256", headers={"kid": f"k{i}"}
        )
        with pytest.raises(AuthError):
            verifier.verify(f"Bearer {forged}", AUD)
        clock.now += 1
    assert len(calls) == 2  # the first fetch, and one forced refetch for unknown kids


# ---- tokens sent again: remembered, never trusted blindly ------------------------------------
def test_a_remembered_token_is_still_checked_on_every_use(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock)
    assert verifier.verify(f"Bearer {token}", AUD).email == SA
    assert verifier.verify(f"Bearer {token}", AUD).email == SA  # the remembered one
    assert _code(verifier, f"Bearer {token}", "https://addon.example/other") == "wrong_audience"
    clock.now += 3600 + 31
    assert _code(verifier, f"Bearer {token}") == "expired"


def test_a_remembered_token_is_refused_once_google_no_longer_publishes_its_key(
    verifier: IdTokenVerifier,
    certs_server: CertsServer,
    signers: tuple[Signer, Signer],
    clock: Clock,
) -> None:
    token = signers[0].mint(clock)
    verifier.verify(f"Bearer {token}", AUD)
    certs_server.document = {signers[1].kid: signers[1].cert_pem}  # kid-a withdrawn
    clock.now += 601  # past max-age: the keys are fetched again
    assert _code(verifier, f"Bearer {token}") == "unknown_kid"


def test_a_remembered_token_vouches_for_no_other_string(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    token = signers[0].mint(clock)
    verifier.verify(f"Bearer {token}", AUD)
    header, _, signature = token.split(".")
    other_payload = signers[0].mint(clock, email="attacker@example.com").split(".")[1]
    assert _code(verifier, f"Bearer {header}.{other_payload}.{signature}") == "bad_signature"
    assert _code(verifier, f"Bearer {token}x") == "bad_signature"


def test_a_remembered_user_token_keeps_its_audience(
    certs_server: CertsServer, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    # One certs cache, two verifiers: a token remembered by one audience's verifier is not
    # accepted by another's.
    certs = GoogleCerts(certs_server.url, clock=clock)
    ours = UserIdTokenVerifier("client-1.apps.googleusercontent.com", certs, clock=clock)
    theirs = UserIdTokenVerifier("client-2.apps.googleusercontent.com", certs, clock=clock)
    token = signers[0].mint(clock, aud="client-1.apps.googleusercontent.com", email="u@x.com")
    assert ours.verify(token).email == "u@x.com"
    with pytest.raises(AuthError) as info:
        theirs.verify(token)
    assert info.value.code == "wrong_audience"


def test_the_memory_of_verified_tokens_is_bounded(
    verifier: IdTokenVerifier, signers: tuple[Signer, Signer], clock: Clock
) -> None:
    first = signers[0].mint(clock, sub="first")
    verifier.verify(f"Bearer {first}", AUD)
    for i in range(VERIFIED_TOKENS_KEPT + 5):
        verifier.verify(f"Bearer {signers[0].mint(clock, sub=str(i))}", AUD)
    kept = verifier._checker._verified  # the one place to see it: the bound is the point
    assert len(kept) == VERIFIED_TOKENS_KEPT
    assert first not in kept  # the oldest went first...
    assert verifier.verify(f"Bearer {first}", AUD).subject == "first"  # ...and still verifies
