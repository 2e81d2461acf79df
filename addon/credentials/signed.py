"""Signed, short-lived values the add-on hands out in cards (itsdangerous, ``ADDON_SECRET_KEY``).

* **Card actions** (``make_action_token`` / ``read_action_token``): the one parameter a card
  button carries. It names the verified user the card was built for (``sub``), the event
  (calendar id, event id), the action, and the conference the card showed. When the button
  is clicked the endpoint checks, besides Google's ID token on the call, that the signature
  holds, that it is younger than ``ACTION_MAX_AGE``, that the action is the endpoint's, that
  the clicking user is that ``sub`` and that the event object names that event. Binding the
  conference makes "New join link" single-use: once the meeting was replaced, the old card's
  button refers to a conference the event no longer has and is refused as stale.
* **Settings links** (``make_settings_token`` / ``read_settings_token``): the settings URL
  createSettingsUrlFunction returns, bound to the user (``sub`` and email); the page still
  makes the person sign in with Google as that very ``sub``.

Each kind has its own salt, so no value of one kind is accepted as another.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from addon.auth import VerifiedUser
from addon.credentials.links import LinkError

ACTION_MAX_AGE = 1800
SETTINGS_MAX_AGE = 900
MAX_TOKEN_CHARS = 4096
_ACTION_SALT = "card-action"
_SETTINGS_SALT = "settings-page"


@dataclass(frozen=True)
class ActionClaim:
    user_id: str
    calendar_id: str
    event_id: str
    action: str
    conference_id: str


def make_action_token(
    secret_key: str,
    user: VerifiedUser,
    calendar_id: str,
    event_id: str,
    action: str,
    conference_id: str,
) -> str:
    value = [user.user_id, calendar_id, event_id, action, conference_id]
    return URLSafeTimedSerializer(secret_key, salt=_ACTION_SALT).dumps(value)


def _load(secret_key: str, salt: str, token: str | None, max_age: int) -> object:
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkError("missingLink")
    try:
        return URLSafeTimedSerializer(secret_key, salt=salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError("linkExpired") from None
    except BadSignature:
        raise LinkError("badLink") from None


def read_action_token(
    secret_key: str, token: str | None, max_age: int = ACTION_MAX_AGE
) -> ActionClaim:
    value = _load(secret_key, _ACTION_SALT, token, max_age)
    if not (isinstance(value, list) and len(value) == 5 and all(isinstance(v, str) for v in value)):
        raise LinkError("badLink")
    return ActionClaim(*value)


def make_settings_token(secret_key: str, user: VerifiedUser) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_SETTINGS_SALT).dumps([user.user_id, user.email])


def read_settings_token(
    secret_key: str, token: str | None, max_age: int = SETTINGS_MAX_AGE
) -> VerifiedUser:
    value = _load(secret_key, _SETTINGS_SALT, token, max_age)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise LinkError("badLink")
    return VerifiedUser(value[0], value[1])
