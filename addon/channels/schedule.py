"""When a channel is renewed.

Calendar channels expire (Google's default lifetime is a week; ``params.ttl`` asks for one)
and are never renewed by Google: a new channel must be opened before the old one lapses, and
the two overlap for a while. A channel is renewed ``renew_before`` seconds before its
expiration, minus a random part of ``jitter`` seconds: 10,000 calendars subscribed in the same
minute renew spread over the jitter window instead of in one burst, and since each renewal
opens the next channel at that spread-out moment, the spread carries over to later weeks.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def renew_at(
    expires_at: datetime, *, renew_before: float, jitter: float, rng: random.Random
) -> datetime:
    return expires_at - timedelta(seconds=renew_before + jitter * rng.random())
