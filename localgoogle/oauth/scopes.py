"""Scope strings as Google's authorization server reads and writes them.

* ``parse(raw)`` — a space-delimited ``scope`` parameter to a tuple, order kept, duplicates
  dropped, the short OpenID Connect names rewritten the way Google's token and redirect
  answers write them (``email`` → ``https://www.googleapis.com/auth/userinfo.email``,
  ``profile`` → ``…/userinfo.profile``; ``openid`` stays). A client that compares the
  granted scopes with the ones it asked for sees this difference against Google too
  (oauthlib raises "Scope has changed" unless ``OAUTHLIB_RELAX_TOKEN_SCOPE`` is set).
* ``is_valid(scope)`` — ``openid`` or an ``https://`` URL. Google also refuses URLs of
  scopes that do not exist; the emulator cannot know Google's list and accepts any URL.
* ``wants_id_token(scopes)`` — an ID token comes with the tokens when any OpenID Connect
  scope was granted.
* ``render(scopes)`` — the space-separated form of the ``scope`` answer fields.
"""

from __future__ import annotations

from collections.abc import Iterable

OPENID = "openid"
USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
USERINFO_PROFILE = "https://www.googleapis.com/auth/userinfo.profile"
_ALIASES = {"email": USERINFO_EMAIL, "profile": USERINFO_PROFILE}
IDENTITY = frozenset({OPENID, USERINFO_EMAIL, USERINFO_PROFILE})


def parse(raw: str) -> tuple[str, ...]:
    scopes = (_ALIASES.get(item, item) for item in raw.split())
    return tuple(dict.fromkeys(scopes))


def is_valid(scope: str) -> bool:
    return scope == OPENID or (scope.startswith("https://") and len(scope) > len("https://"))


def wants_id_token(scopes: Iterable[str]) -> bool:
    return not IDENTITY.isdisjoint(scopes)


def render(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes))
