"""A service account's key pair: the key ``signBlob`` and ``signJwt`` sign with and the
one its key file carries.

On Google these are two different keys (signBlob uses a system-managed key, a key file holds
a user-managed one) that verify the same way; the emulator gives each service account one
RSA key pair with one key id, which is enough for google-auth, and says so here.

Public names: ``ServiceAccountKey`` (``generate``, ``private_key_pem``, ``sign``, ``verify``).
Signatures are RSASSA-PKCS1-v1_5 with SHA-256, what ``google.auth.crypt.RSASigner`` and
``google.auth.iam.Signer`` produce and what RS256 JWTs carry.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_SIZE = 2048


@dataclass(frozen=True)
class ServiceAccountKey:
    key_id: str  # 40 hex digits, like Google's private_key_id
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> ServiceAccountKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        return cls(key_id=secrets.token_hex(20), private_key=key)

    def private_key_pem(self) -> str:
        """PKCS#8 PEM, as in Google's key files (``-----BEGIN PRIVATE KEY-----``)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            self.private_key.public_key().verify(
                signature, data, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return False
        return True
