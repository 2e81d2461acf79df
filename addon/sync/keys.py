"""Idempotency keys: one per provider operation, naming the operation's target.

Every provider call carries a key; the vendor applies a key once and answers a repeat with the
stored result. A key must therefore be *the same* for a replay of the same operation (a crash
after the call, a duplicate delivery, a pending change replayed) and *different* for any other
operation — else the vendor replays an old answer (a deleted meeting handed out again) or
refuses the call (the same key on another meeting).

* creation   ``create:<solution>:<calendar>:<event>:g<generation>`` — the generation counts
  the meetings made for this event before (``next_generation``): it is derived from the
  stored record, which only changes once a creation has been recorded, so a replay computes
  the same key and a new creation after a removal or a switch computes a new one.
* update     ``update:<solution>:<meeting>:<event version>`` — the version is the event's
  etag: a repeat of the same event version is the same operation.
* occurrence ``occurrence:<solution>:<meeting>:<occurrence event>:<fingerprint>``.
* delete     ``delete:<solution>:<meeting>`` — a meeting is deleted once.
* renewal    ``renew:<solution>:<meeting>`` — "New join link" replaces a meeting once: a
  repeat (a double click, a retried call) gets the same new meeting.

Keys longer than ``MAX_KEY`` (vendors commonly cap them at 255 characters; calendar and event
ids can be long) keep their operation and target readable and hash the rest.
"""

from __future__ import annotations

import hashlib

from addon.store.records import Conference

MAX_KEY = 255


def _bounded(*parts: str) -> str:
    key = ":".join(parts)
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    head = ":".join(p[:40] for p in parts[:2])
    return f"{head}:{digest}"


def next_generation(existing: Conference | None) -> int:
    """The generation of the next meeting created for an event whose record is ``existing``."""
    return 0 if existing is None else existing.generation + 1


def create_key(solution_id: str, calendar_id: str, event_id: str, generation: int) -> str:
    return _bounded("create", solution_id, calendar_id, event_id, f"g{generation}")


def update_key(solution_id: str, meeting_id: str, event_version: str | None) -> str:
    return _bounded("update", solution_id, meeting_id, event_version or "-")


def occurrence_key(
    solution_id: str, meeting_id: str, occurrence_event_id: str, fingerprint: str
) -> str:
    return _bounded("occurrence", solution_id, meeting_id, occurrence_event_id, fingerprint)


def delete_key(solution_id: str, meeting_id: str) -> str:
    return _bounded("delete", solution_id, meeting_id)


def renew_key(solution_id: str, meeting_id: str) -> str:
    return _bounded("renew", solution_id, meeting_id)
