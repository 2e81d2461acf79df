"""What the OAuth emulator answered, counted (``GET /_oauth/stats``).

Token requests are counted by grant type (``authorization_code``, ``refresh_token``,
``jwt-bearer``; anything else under ``other``) and outcome (``ok`` or the ``error`` code
answered); the consent page by decision; revocations by outcome; IAM calls by method.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_GRANT_NAMES = {
    "authorization_code": "authorization_code",
    "refresh_token": "refresh_token",
    JWT_BEARER: "jwt-bearer",
}


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._tokens: defaultdict[str, Counter[str]] = defaultdict(Counter)
            self._consent: Counter[str] = Counter()
            self._revocations: Counter[str] = Counter()
            self._iam: Counter[str] = Counter()

    def token_request(self, grant_type: str, outcome: str) -> None:
        with self._lock:
            self._tokens[_GRANT_NAMES.get(grant_type, "other")][outcome] += 1

    def consent(self, outcome: str) -> None:
        with self._lock:
            self._consent[outcome] += 1

    def revocation(self, outcome: str) -> None:
        with self._lock:
            self._revocations[outcome] += 1

    def iam(self, method: str) -> None:
        with self._lock:
            self._iam[method] += 1

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "tokenRequests": {kind: dict(c) for kind, c in sorted(self._tokens.items())},
                "consent": dict(self._consent),
                "revocations": dict(self._revocations),
                "iam": dict(self._iam),
            }
