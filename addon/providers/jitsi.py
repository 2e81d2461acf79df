"""Jitsi Meet, the default provider: meetings are URLs, so there is nothing to call.

A *room* is named by HMAC-SHA256(room secret, idempotency key), 160 bits in base32: nobody
can guess it, and a repeated ``create`` with the same key yields the same room without any
server-side state.

Options (all validated at construction, ``ProviderConfigError`` names a bad one):

``base_url``            Jitsi deployment, default ``https://meet.jit.si``.
``room_secret``         HMAC key for room names and PINs (≥16 characters). When absent it is
                        derived from ``app_secret``; one of the two is required.
``app_id``/``app_secret`` enable Jitsi token auth: the join URL carries ``?jwt=`` (HS256,
                        ``iss``=app_id, ``aud``="jitsi", ``sub``=``jwt_subject`` (default the
                        base URL's host), ``room``, ``nbf``/``exp`` = event start/end widened by
                        ``jwt_margin_seconds`` (default 900)). Moving the event changes the URL.
``recording``           The "recorded" solution: the URL fragment
                        ``#config.fileRecordingsEnabled=true`` turns the recording button on,
                        the token (if any) grants ``context.features.recording``, and the note
                        tells guests the meeting may be recorded. Jitsi applies fragment
                        settings only where the deployment allows URL overrides: best effort.
``dial_in_number``      E.164 number (``+15550100``): adds a PHONE entry point whose PIN is
                        derived from the room, for a Jigasi set up with the same derivation.
``dial_in_region``      Region code of that number (``US``).
``more_url``            Adds a MORE entry point (``{room}`` is replaced by the room name).

Without API there is nothing to update remotely: ``update`` recomputes the token, ``delete``
does nothing, and ``update_occurrence`` only records the change in ``occurrence_log`` (the
interface returns nothing and ``Meeting`` is immutable, so it cannot go into ``Meeting.data``).
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import jwt

from addon.providers.base import (
    ConferenceProvider,
    EntryPoint,
    Meeting,
    MeetingRequest,
    OccurrenceChange,
)
from addon.providers.http import HttpTransport
from addon.providers.options import OptionReader
from addon.providers.registry import register
from addon.providers.timing import DATE_SLACK, epoch

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_UNTIL = re.compile(r"UNTIL=(\d{8})(?:T(\d{6})Z?)?", re.IGNORECASE)
# A token for an event whose times are unknown (not readable yet); the next sync fixes it.
_UNKNOWN_TIMES_LIFETIME = 24 * 3600
# Open-ended series (COUNT or no end) get a token for a year; later syncs renew it.
_SERIES_LIFETIME = 366 * 24 * 3600


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _series_end(recurrence: tuple[str, ...]) -> float | None:
    """When the last occurrence of a series starts, if an RRULE bounds it with UNTIL."""
    ends = []
    for line in recurrence:
        if not line.upper().startswith("RRULE"):
            continue
        match = _UNTIL.search(line)
        if match is None:
            return None  # one unbounded rule makes the whole series unbounded
        clock = match.group(2) or "235959"
        moment = dt.datetime.strptime(match.group(1) + clock, "%Y%m%d%H%M%S")
        ends.append(moment.replace(tzinfo=dt.UTC).timestamp())
    return max(ends) if ends else None


@register("jitsi")
class JitsiProvider(ConferenceProvider):
    name = "jitsi"

    def __init__(
        self,
        options: Mapping[str, Any],
        *,
        http: HttpTransport | None = None,  # unused: Jitsi needs no API calls
        clock: Callable[[], float] = time.time,
    ) -> None:
        opts = OptionReader(self.name, options)
        base_url = opts.url("base_url", "https://meet.jit.si")
        assert base_url is not None
        self.base_url = base_url.rstrip("/")
        self.app_id = opts.string("app_id")
        self._app_secret = opts.string("app_secret")
        if (self.app_id is None) != (self._app_secret is None):
            raise opts.error("app_secret" if self.app_id else "app_id", "set both or neither")
        room_secret = opts.string("room_secret")
        if room_secret is None and self._app_secret is not None:
            room_secret = _hmac(self._app_secret.encode(), b"room names").hex()
        if room_secret is None or len(room_secret) < 16:
            reason = "required (16+ characters) unless app_secret is set: rooms must be unguessable"
            raise opts.error("room_secret", reason)
        self._room_key = room_secret.encode()
        host = urlsplit(self.base_url).hostname or ""
        self.jwt_subject = opts.string("jwt_subject", host)
        self.jwt_margin = opts.number("jwt_margin_seconds", 900, minimum=0, maximum=86400)
        self.recording = opts.boolean("recording")
        self.dial_in_number = opts.string("dial_in_number")
        if self.dial_in_number is not None:
            self.dial_in_number = re.sub(r"[\s().-]", "", self.dial_in_number)
            if not _E164.fullmatch(self.dial_in_number):
                raise opts.error("dial_in_number", "must be an E.164 number like +15550100")
        self.dial_in_region = opts.string("dial_in_region")
        if self.dial_in_region is not None and not re.fullmatch(r"[A-Z]{2}", self.dial_in_region):
            raise opts.error("dial_in_region", "must be a two-letter region code like US")
        self.more_url = opts.url("more_url")
        opts.finish()
        self._clock = clock
        # (meeting id, change, idempotency key): what update_occurrence was told, newest last.
        self.occurrence_log: collections.deque[tuple[str, OccurrenceChange, str]] = (
            collections.deque(maxlen=1000)
        )

    def room_for(self, idempotency_key: str) -> str:
        digest = _hmac(self._room_key, b"room\0" + idempotency_key.encode())
        return base64.b32encode(digest[:20]).decode().lower()  # 160 bits, no padding

    def pin_for(self, room: str) -> str:
        digest = _hmac(self._room_key, b"pin\0" + room.encode())
        return f"{int.from_bytes(digest[:8], 'big') % 10**10:010d}"

    def create(self, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        return self._meeting(self.room_for(idempotency_key), request)

    def update(self, meeting: Meeting, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        return self._meeting(meeting.data.get("room", meeting.meeting_id), request)

    def update_occurrence(
        self, meeting: Meeting, change: OccurrenceChange, *, idempotency_key: str
    ) -> None:
        self.occurrence_log.append((meeting.meeting_id, change, idempotency_key))

    def delete(self, meeting: Meeting, *, idempotency_key: str) -> None:
        """Nothing to delete: a Jitsi room exists only while people are in it."""

    def token_window(self, request: MeetingRequest) -> tuple[int, int]:
        """``(nbf, exp)`` of the join token: the event's span (or series) plus the margin."""
        start = epoch(request.start, request.time_zone)
        end = epoch(request.end, request.time_zone)
        slack = self.jwt_margin
        if request.start and "dateTime" not in request.start:
            slack += DATE_SLACK
        if start is None:
            start = self._clock()
            end = start + _UNKNOWN_TIMES_LIFETIME
        elif end is None or end < start:
            end = start + 3600
        if request.recurrence:
            last_start = _series_end(request.recurrence)
            if last_start is None:
                end = start + _SERIES_LIFETIME
            else:
                end = max(end, last_start + (end - start))
        return int(start - slack), int(end + slack)

    def _meeting(self, room: str, request: MeetingRequest) -> Meeting:
        data = {"room": room, "recording": str(self.recording).lower()}
        url = f"{self.base_url}/{room}"
        if self._app_secret is not None:
            nbf, exp = self.token_window(request)
            claims: dict[str, Any] = {
                "iss": self.app_id,
                "aud": "jitsi",
                "sub": self.jwt_subject,
                "room": room,
                "nbf": nbf,
                "exp": exp,
            }
            if self.recording:
                claims["context"] = {"features": {"recording": True}}
            # No iat: the same event times give the same URL, so nothing is written back.
            token = jwt.encode(claims, self._app_secret, algorithm="HS256")
            url += f"?jwt={token}"
            data.update(jwt_nbf=str(nbf), jwt_exp=str(exp))
        if self.recording:
            url += "#config.fileRecordingsEnabled=true"
        entries = [EntryPoint(type="video", uri=url, label=f"{urlsplit(url).netloc}/{room}")]
        if self.dial_in_number is not None:
            entries.append(
                EntryPoint(
                    type="phone",
                    uri=f"tel:{self.dial_in_number}",
                    label=self.dial_in_number,
                    pin=self.pin_for(room),
                    region_code=self.dial_in_region,
                )
            )
        if self.more_url is not None:
            entries.append(
                EntryPoint(type="more", uri=self.more_url.replace("{room}", quote(room)))
            )
        note = "Join with Jitsi Meet in your browser or app."
        if self.recording:
            note += " <b>This meeting may be recorded.</b>"
        return Meeting(meeting_id=room, entry_points=tuple(entries), note=note, data=data)
