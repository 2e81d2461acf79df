"""The signed ``state`` of a linking step, the signed token of the unlink form, and the
signed request a card's "Link account" button carries.

Both are itsdangerous timed signatures with ``ADDON_SECRET_KEY`` (as ``addon.credentials.links``
signs the offline-sync page's link), each with a salt of its own so one cannot stand for the
other. A state names the flow's nonce, the Google user it was issued to, the solution and the
step it is good for; the nonce makes it single-use (``addon.store.links``).
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

STATE_MAX_AGE = 600
_STATE_SALT = "vendor-link-state"
_UNLINK_SALT = "vendor-unlink-form"
_REQUEST_SALT = "vendor-link-request"
# A card's "Link account" button carries a request, not a flow: the card stays a read.
REQUEST_MAX_AGE = 1800
MAX_TOKEN_LENGTH = 1024


class StateError(Exception):
    """Forged, altered, expired or for another step; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkState:
    nonce: str
    user_id: str
    solution_id: str
    stage: str


def sign_state(secret_key: str, state: LinkState) -> str:
    value = [state.nonce, state.user_id, state.solution_id, state.stage]
    return URLSafeTimedSerializer(secret_key, salt=_STATE_SALT).dumps(value)


def read_state(
    secret_key: str, token: str | None, stage: str, max_age: int = STATE_MAX_AGE
) -> LinkState:
    value = _load(secret_key, _STATE_SALT, token, max_age)
    if len(value) != 4:
        raise StateError("badState")
    state = LinkState(*value)
    if state.stage != stage:
        raise StateError("wrongStep")
    return state


def sign_unlink(secret_key: str, user_id: str, solution_id: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_UNLINK_SALT).dumps([user_id, solution_id])


def read_unlink(
    secret_key: str, token: str | None, max_age: int = STATE_MAX_AGE
) -> tuple[str, str]:
    value = _load(secret_key, _UNLINK_SALT, token, max_age)
    if len(value) != 2:
        raise StateError("badState")
    return value[0], value[1]


def sign_request(secret_key: str, user_id: str, email: str, solution_id: str) -> str:
    """A card's request to start linking: which user (verified when the card was built) and
    which solution. Opening it makes the single-use flow; the sign-in that follows must still
    be this ``user_id``."""
    value = [user_id, email, solution_id]
    return URLSafeTimedSerializer(secret_key, salt=_REQUEST_SALT).dumps(value)


def read_request(
    secret_key: str, token: str | None, max_age: int = REQUEST_MAX_AGE
) -> tuple[str, str, str]:
    value = _load(secret_key, _REQUEST_SALT, token, max_age)
    if len(value) != 3:
        raise StateError("badState")
    return value[0], value[1], value[2]


def _load(secret_key: str, salt: str, token: str | None, max_age: int) -> list[str]:
    if not token:
        raise StateError("missingState")
    if len(token) > MAX_TOKEN_LENGTH:
        raise StateError("badState")
    try:
        value = URLSafeTimedSerializer(secret_key, salt=salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise StateError("stateExpired") from None
    except BadSignature:
        raise StateError("badState") from None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise StateError("badState")
    return value
