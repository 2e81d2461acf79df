"""Sealing secrets we must keep but nobody may read: AES-GCM with 256-bit keys, a key id for
rotation and a context bound as associated data.

Two secrets are sealed: the user's OAuth token that rides in a task body (context: the
calendar id) and the refresh tokens of offline consent kept in Datastore (context:
``grant_context(user)``, which no calendar id can equal). A task body sits in Cloud
Tasks for seconds to minutes and is readable by whoever may view the queue's tasks with the
``FULL`` view; a grant sits in Datastore for months; neither token may be read there. Each is
sealed under the current key, whose id travels with it so keys can rotate: every configured
key opens, only the first seals. The calendar id is the associated data, so a sealed token
cannot be moved onto another calendar's task; a sealed refresh token cannot be moved to
another user's grant. Tokens are never logged.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12  # the size AES-GCM is specified for (NIST SP 800-38D)


class SealError(ValueError):
    """A sealed value that cannot be opened: unknown key id, tampered, or malformed."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSealer:
    def __init__(self, current: str, keys: Mapping[str, bytes]) -> None:
        if current not in keys:
            raise ValueError("the sealing key id must be one of the keys")
        self._current = current
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}

    def seal(self, secret: str, context: str) -> dict[str, str]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, secret.encode(), context.encode())
        return {"kid": self._current, "nonce": _b64(nonce), "data": _b64(sealed)}

    def open(self, sealed: Any, context: str) -> str:
        if not isinstance(sealed, Mapping) or not all(
            isinstance(sealed.get(k), str) for k in ("kid", "nonce", "data")
        ):
            raise SealError("malformed sealed value")
        aead = self._keys.get(sealed["kid"])
        if aead is None:
            raise SealError(f"unknown key id {sealed['kid']!r}")
        try:
            plain = aead.decrypt(_unb64(sealed["nonce"]), _unb64(sealed["data"]), context.encode())
        except (InvalidTag, ValueError):
            raise SealError("does not open: tampered, or sealed for another context") from None
        return plain.decode()


def grant_context(user_id: str) -> str:
    """The associated data of a user's sealed refresh token. The NUL byte cannot occur in a
    calendar id, so no task token's context (a calendar id) equals a grant's."""
    return "offline-grant\x00" + user_id
