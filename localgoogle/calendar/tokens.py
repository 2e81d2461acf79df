"""Opaque, unforgeable page and sync tokens.

A token is ``base64url(json_payload + hmac_sha256(secret, json_payload)[:16])``. The
secret is per state object (and renewed on reset), so a token from another emulator run,
an edited token or garbage all fail ``decode`` and the API answers 410 fullSyncRequired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

_SIG_LEN = 16


class TokenCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, payload: list[Any]) -> str:
        raw = json.dumps(payload, separators=(",", ":")).encode()
        sig = hmac.new(self._secret, raw, hashlib.sha256).digest()[:_SIG_LEN]
        return base64.urlsafe_b64encode(raw + sig).decode().rstrip("=")

    def decode(self, token: str) -> list[Any] | None:
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(blob) <= _SIG_LEN:
            return None
        raw, sig = blob[:-_SIG_LEN], blob[-_SIG_LEN:]
        expected = hmac.new(self._secret, raw, hashlib.sha256).digest()[:_SIG_LEN]
        if not hmac.compare_digest(sig, expected):
            return None
        try:
            payload = json.loads(raw)
        except ValueError:
            return None
        return payload if isinstance(payload, list) else None
