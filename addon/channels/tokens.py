"""The token Calendar sends back with every notification of a channel (``X-Goog-Channel-Token``).

Google echoes the ``token`` given to ``events.watch`` (at most 256 characters) and documents
it as the place for a verification value. Ours is ``base64url(HMAC-SHA256(key, channel id))``
with a key derived from ``ADDON_SECRET_KEY``: a notification whose token does not match its
channel id was not sent for a channel we opened. Rotating the secret key invalidates the
tokens of live channels; they are refused until renewed (within a day), and the daily check
syncs their calendars meanwhile.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def channel_key(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"channel-tokens")
    return hkdf.derive(secret_key.encode())


def channel_token(key: bytes, channel_id: str) -> str:
    mac = hmac.new(key, channel_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_matches(key: bytes, channel_id: str, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(channel_token(key, channel_id), token)
