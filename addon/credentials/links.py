"""Signed, short-lived links to a user's own offline-sync page.

The add-on shows the link (on its home card) to a user Google has just identified with a
verified ``userIdToken``; the link carries that user (``sub`` and email) signed with
``ADDON_SECRET_KEY`` (itsdangerous, which Flask itself uses for sessions) and expires after
``LINK_MAX_AGE``. Whoever opens it acts for that user on that page only, and the consent it
starts is still checked against the Google account that completes it (``offline.finish``).
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from addon.auth import VerifiedUser

LINK_MAX_AGE = 3600
_SALT = "offline-sync-page"


class LinkError(Exception):
    """The link is forged, altered or too old; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_link_token(secret_key: str, user: VerifiedUser) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_SALT).dumps([user.user_id, user.email])


def read_link_token(
    secret_key: str, token: str | None, max_age: int = LINK_MAX_AGE
) -> VerifiedUser:
    if not token or len(token) > 2048:
        raise LinkError("missingLink")
    try:
        value = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError("linkExpired") from None
    except BadSignature:
        raise LinkError("badLink") from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise LinkError("badLink")
    return VerifiedUser(value[0], value[1])
