"""Proof that a request comes from Google: verification of Google-signed ID tokens.

Google calls every add-on endpoint with ``Authorization: Bearer <ID token>``, an RS256 JWT
signed by Google for the add-on's service account (SPEC.md §3, "Proving a request comes from
Google"). ``IdTokenVerifier.verify`` checks that header; ``UserIdTokenVerifier.verify`` checks
the ``userIdToken`` of the event object against the add-on's OAuth client id.

Public names:

* ``IdTokenVerifier(certs_url, service_account_email, clock_skew_seconds=30, fetch=None)``
  with ``verify(authorization_header, audience) -> VerifiedCaller``.
* ``UserIdTokenVerifier(client_id, certs)`` with ``verify(token) -> VerifiedCaller``.
* ``GoogleCerts``: the cache of Google's public keys, shared by both verifiers.
* ``VerifiedCaller``, ``AuthError`` (one exception type; ``code`` is machine-readable and
  ``http_status`` is 503 for ``certs_unavailable``, 401 otherwise).

PyJWT checks only the signature here; every claim is checked below with our own clock so
each failure gets a precise code and tests can move time.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})

AuthErrorCode = Literal[
    "missing_token",
    "malformed",
    "unknown_kid",
    "bad_signature",
    "wrong_issuer",
    "wrong_audience",
    "expired",
    "not_yet_valid",
    "wrong_email",
    "email_unverified",
    "certs_unavailable",
]

# Body and headers of the certs response.
CertsFetch = Callable[[str], tuple[bytes, Mapping[str, str]]]
Clock = Callable[[], float]

_FAILURE_BACKOFF_SECONDS = 1.0
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*(\d+)", re.IGNORECASE)


class AuthError(Exception):
    """The request could not be proven to come from Google (or Google's certs are unreachable).

    ``code`` is one of ``AuthErrorCode``; ``reason`` is a human explanation for logs (never
    show it to the caller: it helps an attacker probe).
    """

    def __init__(self, code: AuthErrorCode, reason: str = "") -> None:
        super().__init__(f"{code}: {reason}" if reason else code)
        self.code: AuthErrorCode = code
        self.reason = reason or code

    @property
    def http_status(self) -> int:
        # Our side cannot verify anything: a retry by Google later may succeed.
        return 503 if self.code == "certs_unavailable" else 401


@dataclass(frozen=True)
class VerifiedUser:
    """A Google user proven by a verified ID token: ``user_id`` is its ``sub`` (stable for the
    account, unlike the email), ``email`` its verified address, lower-cased."""

    user_id: str
    email: str


@dataclass(frozen=True)
class VerifiedCaller:
    """Who a verified token speaks for; times are epoch seconds."""

    email: str
    subject: str
    issued_at: int
    expires_at: int
    # The Workspace domain of the account (the ``hd`` claim; None: a consumer account).
    hosted_domain: str | None = None


def _requests_fetch(url: str) -> tuple[bytes, Mapping[str, str]]:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return response.content, response.headers


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # requests gives a case-insensitive dict, injected fakes may not.
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _cache_seconds(headers: Mapping[str, str], default: float) -> float:
    match = _MAX_AGE.search(_header(headers, "cache-control") or "")
    if match is None:
        return default
    age = _header(headers, "age") or "0"
    return max(0.0, int(match.group(1)) - (int(age) if age.isdigit() else 0))


def _parse_certs(body: bytes) -> dict[str, RSAPublicKey]:
    """Google's v1 format ``{kid: PEM certificate}`` or a JWKS ``{"keys": [...]}``."""
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("certs document is not a JSON object")
    keys: dict[str, RSAPublicKey] = {}
    if isinstance(document.get("keys"), list):
        for jwk in document["keys"]:
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or "kid" not in jwk:
                continue
            key = RSAAlgorithm.from_jwk(jwk)
            if isinstance(key, RSAPublicKey):
                keys[str(jwk["kid"])] = key
        return keys
    for kid, pem in document.items():
        public_key = x509.load_pem_x509_certificate(str(pem).encode()).public_key()
        if isinstance(public_key, RSAPublicKey):
            keys[str(kid)] = public_key
    return keys


class GoogleCerts:
    """Google's token-signing keys, cached for the response's ``Cache-Control: max-age``.

    Thread-safe: one fetch at a time, the others wait for its result rather than fetching
    too. Whatever the headers say, the endpoint is fetched at most once per
    ``min_refetch_seconds``: keys are kept at least that long (a response already stale on
    arrival, ``Age >= max-age``, would otherwise cost one fetch per request under the lock),
    and an unknown ``kid`` (Google rotated its keys early) forces at most one refetch per
    interval, so forged kids cannot make us hammer Google. When a refresh fails but
    older keys are cached, they keep serving (Google overlaps key lifetimes).
    """

    def __init__(
        self,
        certs_url: str = GOOGLE_CERTS_URL,
        *,
        fetch: CertsFetch | None = None,
        clock: Clock = time.time,
        default_max_age_seconds: float = 300.0,
        min_refetch_seconds: float = 30.0,
    ) -> None:
        self._url = certs_url
        self._fetch = fetch or _requests_fetch
        self._clock = clock
        self._default_max_age = default_max_age_seconds
        self._min_refetch = min_refetch_seconds
        self._lock = threading.Lock()
        self._keys: dict[str, RSAPublicKey] = {}
        self._fresh_until = float("-inf")
        self._last_fetch = float("-inf")
        self._last_forced = float("-inf")
        self._last_failure = float("-inf")
        self.fetches = 0

    def key_for(self, kid: str) -> RSAPublicKey | None:
        """The key with this id, or None when Google does not (or no longer) publish it."""
        with self._lock:
            now = self._clock()
            if now >= self._fresh_until:
                self._refresh_stale(now)
            elif kid not in self._keys and now - self._last_forced >= self._min_refetch:
                self._last_forced = now
                self._fetch_keys(now)  # on failure the cached keys are still fresh
            return self._keys.get(kid)

    def _refresh_stale(self, now: float) -> None:
        if self._keys:
            if now - self._last_fetch >= self._min_refetch:
                self._fetch_keys(now)  # on failure keep serving the stale keys
            return
        if now - self._last_failure < _FAILURE_BACKOFF_SECONDS:
            # Without keys every request would wait on a dead endpoint: fail fast for a moment.
            raise AuthError("certs_unavailable", f"{self._url} failed moments ago")
        error = self._fetch_keys(now)
        if error is not None:
            raise AuthError("certs_unavailable", f"{self._url}: {error}")

    def _fetch_keys(self, now: float) -> str | None:
        """Replace the keys from the endpoint; the failure as text, or None on success."""
        self._last_fetch = now
        self.fetches += 1
        try:
            body, headers = self._fetch(self._url)
            keys = _parse_certs(body)
            if not keys:
                raise ValueError("certs document holds no RSA key")
        except Exception as exc:  # any failure of the seam means "cannot verify now"
            self._last_failure = now
            return repr(exc)
        self._keys = keys
        fresh = _cache_seconds(headers, self._default_max_age)
        self._fresh_until = now + max(self._min_refetch, fresh)
        return None


# Tokens whose signature was checked, remembered so a token sent again (Google may send the
# same ID token with many requests; how often it mints a new one is not documented) is not
# decoded and RSA-verified again. A bounded memory: the oldest entry goes first.
VERIFIED_TOKENS_KEPT = 512


class _TokenChecker:
    """Signature and standard claims shared by both verifiers.

    A token whose signature was verified is remembered (``VERIFIED_TOKENS_KEPT``) with its
    key id and claims: the same string again skips the decoding and the RSA check (the
    signature covers every byte of it, so the same string is the same signed content), but
    never the rest: its key must still be one Google publishes, and the claims (issuer,
    audience, expiry with our clock) are checked on every use.
    """

    def __init__(self, certs: GoogleCerts, clock_skew_seconds: int, clock: Clock) -> None:
        self._certs = certs
        self._skew = clock_skew_seconds
        self._clock = clock
        self._verified: dict[str, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def claims(self, token: str, audience: str) -> dict[str, Any]:
        with self._lock:
            known = self._verified.get(token)
        if known is not None and self._certs.key_for(known[0]) is not None:
            claims = dict(known[1])
            self._check_claims(claims, audience)
            return claims
        kid, claims = self._verify_signature(token)
        with self._lock:
            if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = (kid, dict(claims))
        self._check_claims(claims, audience)
        return claims

    def _verify_signature(self, token: str) -> tuple[str, dict[str, Any]]:
        """The key id and the claims of a token whose signature is Google's."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError("malformed", f"not a JWT: {exc}") from None
        if header.get("alg") != "RS256":
            raise AuthError("malformed", f"algorithm {header.get('alg')!r} is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthError("malformed", "token header has no kid")
        key = self._certs.key_for(kid)
        if key is None:
            raise AuthError("unknown_kid", f"no Google key with kid {kid!r}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise AuthError("bad_signature", "signature does not match the key") from None
        except jwt.PyJWTError as exc:
            raise AuthError("malformed", f"undecodable token: {exc}") from None
        return kid, claims

    def _check_claims(self, claims: Mapping[str, Any], audience: str) -> None:
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise AuthError("wrong_issuer", f"issuer {claims.get('iss')!r}")
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if audience not in audiences:
            raise AuthError("wrong_audience", f"audience {aud!r}, expected {audience!r}")
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise AuthError("malformed", "exp and iat must be numbers")
        now = self._clock()
        if now > exp + self._skew:
            raise AuthError("expired", f"expired at {exp}, now {now:.0f}")
        nbf = claims.get("nbf", iat)
        if not isinstance(nbf, int | float) or max(iat, nbf) > now + self._skew:
            raise AuthError("not_yet_valid", f"issued at {iat}, now {now:.0f}")


def _email_of(claims: Mapping[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise AuthError("wrong_email", "token carries no email")
    # Google has sent both a JSON boolean and the string "true" here.
    if claims.get("email_verified") not in (True, "true"):
        raise AuthError("email_unverified", f"email {email} is not verified")
    return email


def _caller(claims: Mapping[str, Any], email: str) -> VerifiedCaller:
    return VerifiedCaller(
        email=email,
        subject=str(claims.get("sub", "")),
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
        hosted_domain=claims["hd"].lower() if isinstance(claims.get("hd"), str) else None,
    )


class IdTokenVerifier:
    """Verifies the ``Authorization`` header Google sends with every add-on request."""

    def __init__(
        self,
        certs_url: str,
        service_account_email: str,
        clock_skew_seconds: int = 30,
        fetch: CertsFetch | None = None,
        *,
        clock: Clock = time.time,
        certs: GoogleCerts | None = None,
        also: tuple[str, ...] = (),
    ) -> None:
        self.certs = certs or GoogleCerts(certs_url, fetch=fetch, clock=clock)
        # ``also``: further accounts this endpoint accepts (the sweep: Cloud Scheduler's
        # invoker, and Cloud Tasks' when a sweep continues as a task).
        self._accounts = frozenset(e.lower() for e in (service_account_email, *also))
        self._checker = _TokenChecker(self.certs, clock_skew_seconds, clock)

    def verify(self, authorization_header: str | None, audience: str) -> VerifiedCaller:
        """Check the header against ``audience`` (the full URL Google called).

        Raises ``AuthError`` and nothing else.
        """
        if not authorization_header or not authorization_header.strip():
            raise AuthError("missing_token", "no Authorization header")
        scheme, _, token = authorization_header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("malformed", "Authorization is not 'Bearer <token>'")
        try:
            claims = self._checker.claims(token.strip(), audience)
            email = _email_of(claims)
        except AuthError:
            raise
        except Exception as exc:  # a surprise from a library must still be a 401
            raise AuthError("malformed", repr(exc)) from None
        if email.lower() not in self._accounts:
            raise AuthError("wrong_email", f"token is for {email}, not the add-on's account")
        return _caller(claims, email)


class UserIdTokenVerifier:
    """Verifies the ``userIdToken`` of an event object: audience is the OAuth client id."""

    def __init__(
        self,
        client_id: str,
        certs: GoogleCerts,
        clock_skew_seconds: int = 30,
        *,
        clock: Clock = time.time,
    ) -> None:
        self._client_id = client_id
        self._checker = _TokenChecker(certs, clock_skew_seconds, clock)

    def verify(self, token: str | None) -> VerifiedCaller:
        """The user the token was issued to (``email`` is the user's). Raises ``AuthError``."""
        if not token:
            raise AuthError("missing_token", "no userIdToken in the event object")
        try:
            claims = self._checker.claims(token, self._client_id)
            return _caller(claims, _email_of(claims))
        except AuthError:
            raise
        except Exception as exc:
            raise AuthError("malformed", repr(exc)) from None
