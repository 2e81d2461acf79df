"""Task ids for sync tasks, chosen so duplicates collapse in Cloud Tasks itself.

Google's rules (cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks/
create): an explicit task id de-duplicates creation (``ALREADY_EXISTS``) against live tasks
and against tasks executed or deleted within about an hour (queues made with Cloud Tasks, not
queue.yaml); ids are ``[A-Za-z0-9_-]``, at most 500 characters; sequential ids or prefixes
(timestamps) raise latency and error rates, hashed prefixes are recommended.

So every id starts with a hash of the calendar id, then names *when* the work is for: the
debounce window (every trigger in one window gets the same id), the moment of a retry or
of a lease's expiry, the slice of a listing. Time only moves forward, so an id reserved for
an hour after its task ran is never one we need again.
"""

from __future__ import annotations

import hashlib
import math

# 96 bits of hash: collisions between calendars are not a practical concern.
HASH_CHARS = 24


def calendar_hash(calendar_id: str) -> str:
    return hashlib.sha256(calendar_id.encode()).hexdigest()[:HASH_CHARS]


def debounced(calendar_id: str, now: float, window: float) -> tuple[str, float]:
    """The id and schedule time (epoch seconds) of the task covering a trigger at ``now``:
    the window ``[n * window, (n + 1) * window)`` runs at its end."""
    n = math.floor(now / window)
    return f"{calendar_hash(calendar_id)}-t{n}", (n + 1) * window


def at_moment(calendar_id: str, kind: str, at: float) -> str:
    """A follow-up at ``at`` (epoch seconds): ``r`` retry of work left behind, ``l`` look at
    a lease that may belong to a dead process."""
    return f"{calendar_hash(calendar_id)}-{kind}{round(at * 1000)}"


def continuation(calendar_id: str, run_id: str, slice_number: int) -> str:
    """The next slice of one listing: a duplicated delivery enqueues the same id."""
    return f"{calendar_hash(calendar_id)}-c{run_id[:16]}-{slice_number}"
