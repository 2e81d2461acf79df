"""Local stand-in for Google's ID-token issuer: RSA keys, signed ID tokens, the certs document.

Public names:

* ``TokenIssuer`` — owns the signing keys of one host instance; ``mint`` signs an ID token,
  ``certs`` is the body of ``GET /oauth2/v1/certs``, ``rotate`` adds a new current key.
* ``stable_subject`` — the numeric ``sub`` Google would give an account (derived from the email).

The certs document has the format of https://www.googleapis.com/oauth2/v1/certs: a JSON object
mapping each key id to a PEM X.509 certificate, so ``google.oauth2.id_token.verify_token(...,
certs_url=<ours>)`` and PyJWT-based verifiers accept our tokens exactly as they accept Google's.
Keys are generated lazily on first use (not at import, not at construction) because the
emulator app is built by many tests that never need a token, and RSA generation costs time.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

GOOGLE_ISSUER = "https://accounts.google.com"
DEFAULT_SYSTEM_SERVICE_ACCOUNT = "service-000000000000@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
DEFAULT_OAUTH_CLIENT_ID = "000000000000-emulator.apps.googleusercontent.com"
TOKEN_LIFETIME_SECONDS = 3600
# Google answers with roughly six hours; a verifier that ignores the header re-fetches every
# call, which the add-on must avoid (SPEC §3), so the header is part of what we emulate.
CERTS_CACHE_CONTROL = "public, max-age=21600, must-revalidate, no-transform"
KEY_SIZE = 2048


def stable_subject(email: str) -> str:
    """A 21-digit numeric id, like Google's ``sub``, stable for one email address."""
    digest = int.from_bytes(hashlib.sha256(email.lower().encode()).digest()[:9], "big")
    return "1" + str(digest).zfill(20)[:20]


@dataclass(frozen=True)
class SigningKey:
    """One RSA key with its key id and self-signed certificate (PEM)."""

    kid: str
    private_key: rsa.RSAPrivateKey
    certificate_pem: str

    @classmethod
    def generate(cls, *, now: float) -> SigningKey:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        kid = secrets.token_hex(20)  # Google's kids are 40 hex digits
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emulator.accounts.google.com")])
        issued = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(issued - datetime.timedelta(days=1))
            .not_valid_after(issued + datetime.timedelta(days=14))
            .sign(private_key, hashes.SHA256())
        )
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return cls(kid=kid, private_key=private_key, certificate_pem=pem)


class TokenIssuer:
    """Signs ID tokens the way accounts.google.com does, with keys local to this instance.

    ``rotate`` keeps the previous key in ``certs`` (Google publishes two keys during a
    rotation), so a verifier that caches certs must re-fetch when it meets an unknown ``kid``.
    """

    def __init__(
        self, *, issuer: str = GOOGLE_ISSUER, clock: Callable[[], float] = time.time
    ) -> None:
        self.issuer = issuer
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []  # current key last
        self._untrusted: SigningKey | None = None

    def _current(self) -> SigningKey:
        with self._lock:
            if not self._keys:
                self._keys.append(SigningKey.generate(now=self._clock()))
            return self._keys[-1]

    def rotate(self) -> str:
        """Make a new key current; keep only the previous one published beside it."""
        new_key = SigningKey.generate(now=self._clock())
        with self._lock:
            self._keys = [*self._keys[-1:], new_key]
        return new_key.kid

    def certs(self) -> dict[str, str]:
        """Body of ``GET /oauth2/v1/certs``: ``{kid: PEM certificate}``."""
        self._current()
        with self._lock:
            return {key.kid: key.certificate_pem for key in self._keys}

    def _untrusted_key(self) -> SigningKey:
        with self._lock:
            if self._untrusted is None:
                self._untrusted = SigningKey.generate(now=self._clock())
            return self._untrusted

    def mint(
        self,
        *,
        audience: str,
        email: str,
        subject: str | None = None,
        authorized_party: str | None = None,
        expires_in: int = TOKEN_LIFETIME_SECONDS,
        issuer: str | None = None,
        untrusted: bool = False,
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        """Sign an ID token for ``email`` addressed to ``audience``.

        A negative ``expires_in`` gives a token that expired that many seconds ago (its
        ``iat`` stays an hour before ``exp``); ``untrusted`` signs with a key that is not in
        ``certs`` but under the current ``kid``, to test signature checking.
        """
        now = int(self._clock())
        exp = now + expires_in
        iat = min(now, exp - TOKEN_LIFETIME_SECONDS) if expires_in < 0 else now
        sub = subject or stable_subject(email)
        claims: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "aud": audience,
            "azp": authorized_party or sub,
            "sub": sub,
            "email": email,
            "email_verified": True,
            "iat": iat,
            "exp": exp,
        }
        claims.update(extra_claims or {})
        current = self._current()
        signer = self._untrusted_key() if untrusted else current
        return jwt.encode(
            claims, signer.private_key, algorithm="RS256", headers={"kid": current.kid}
        )
