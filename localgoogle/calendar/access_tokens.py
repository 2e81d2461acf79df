"""Access tokens minted for the OAuth endpoints (``localgoogle.oauth``), as opposed to the
users' fixed tokens of ``POST /_emulator/users``, which never expire.

``IssuedTokens`` holds each token's user, expiry (emulator clock), grant and scopes. It is
not locked itself: ``CalendarState`` calls it under its own lock. A token that expired is
forgotten on lookup; ``revoke_grant`` forgets every token of one grant at once, which is
what Google does when a user or the app revokes access.
"""

from __future__ import annotations

import base64
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

# Google's access tokens start with "ya29."; tests and logs can tell the kinds apart by it.
TOKEN_PREFIX = "ya29."  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class IssuedToken:
    email: str
    expires_at: datetime
    grant_id: str
    scopes: frozenset[str]


class IssuedTokens:
    def __init__(self) -> None:
        self._tokens: dict[str, IssuedToken] = {}
        self._by_grant: defaultdict[str, set[str]] = defaultdict(set)

    def issue(self, email: str, expires_at: datetime, grant_id: str, scopes: frozenset[str]) -> str:
        token = TOKEN_PREFIX + base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")
        self._tokens[token] = IssuedToken(email, expires_at, grant_id, scopes)
        self._by_grant[grant_id].add(token)
        return token

    def lookup(self, token: str, now: datetime) -> IssuedToken | None:
        """The live token, or None when unknown, revoked or expired (then forgotten)."""
        issued = self._tokens.get(token)
        if issued is None:
            return None
        if issued.expires_at <= now:
            self._forget(token, issued)
            return None
        return issued

    def revoke_grant(self, grant_id: str) -> int:
        tokens = self._by_grant.pop(grant_id, set())
        for token in tokens:
            self._tokens.pop(token, None)
        return len(tokens)

    def _forget(self, token: str, issued: IssuedToken) -> None:
        self._tokens.pop(token, None)
        siblings = self._by_grant.get(issued.grant_id)
        if siblings is not None:
            siblings.discard(token)
            if not siblings:
                del self._by_grant[issued.grant_id]
