"""Daily (daily.co) rooms as meetings (the ``daily`` provider).

The API it speaks (docs.daily.co "Rooms"; ``localgoogle.vendors.daily`` fakes it):
``POST /rooms`` creates ``{name, privacy, properties{nbf, exp}}``, ``POST /rooms/{name}``
changes privacy and properties, ``GET /rooms/{name}`` reads one, ``DELETE /rooms/{name}``
deletes (404: already gone). The room's ``url`` is the join link. Key: ``Authorization: Bearer
<api key>``.

Mapping:

* **create** — the room's *name* is derived from the idempotency key (HMAC-SHA256 with
  ``room_secret``, 120 bits in base32: 24 characters, so a Daily domain of up to 17 characters
  fits Daily's 41-character limit on domain + name). Daily has no idempotency keys; it refuses
  a name in use, so a repeat finds the room made by the first attempt and returns it.
* **times** — ``nbf``/``exp`` are the event's start/end widened by ``margin_seconds``; Daily
  refuses joins outside them. An all-day event is widened by 14 h more (its zone may be
  unknown). Times unknown (the event was not readable yet): no ``nbf``/``exp``; the next sync
  sets them.
* **series** — Daily rooms have no recurrence: one room spans the whole series, ``nbf`` before
  the first occurrence and ``exp`` after the last one when the RRULEs bound the series; a series
  without an end gets no ``exp`` (the room lives until the event is deleted).
* **update** (moved, retitled, guests added) — ``POST /rooms/{name}`` with the new window, only
  when the window (or the configured privacy) differs from the room's as last seen. Title and
  guests mean nothing to a Daily room: a retitle or a new guest sends nothing. The URL never
  changes.
* **occurrence change** — a moved occurrence that falls outside the room's window widens it
  (``POST /rooms/{name}``); a cancelled occurrence changes nothing: the room serves the others.
  The widening is not remembered in ``Meeting.data`` (the interface returns nothing), so a later
  series update recomputes the window from the series alone.
* **delete** — ``DELETE /rooms/{name}``; 404 (gone or expired) is success.

What Daily cannot do: no recurrence, no dial-in on a plain room (PSTN dial-in is a paid add-on
configured per room with ``sip``/``dialin`` properties: not mapped here), no guest list
(``privacy: private`` rooms need meeting tokens the add-on would have to hand out: use
``public`` rooms with unguessable names, the default), no ordering of updates
(``event_version`` is not checked: a late update may undo a newer one until the next sync).
Daily does not document a ``Retry-After`` on its 429s; when one comes it is honoured.

Options: ``api_key`` (required), ``base_url`` (default ``https://api.daily.co/v1``),
``room_secret`` (≥ 16 characters; default derived from ``api_key``: rotating the key then
renames rooms a replayed creation would look for), ``privacy`` (``public`` | ``private``,
default ``public``), ``margin_seconds`` (default 900), ``timeout_seconds`` (default 5).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from addon.providers.base import (
    ConferenceProvider,
    EntryPoint,
    Meeting,
    MeetingRequest,
    OccurrenceChange,
    ProviderRefused,
    ProviderUnavailable,
)
from addon.providers.http import HttpTransport, default_transport
from addon.providers.options import OptionReader
from addon.providers.registry import register
from addon.providers.timing import DATE_SLACK, epoch, event_span
from addon.providers.vendor_http import BearerJsonApi


def _reason(status: int, body: Any) -> str:
    return f"HTTP {status}: {_info(body)}"


def _info(body: Any) -> str:
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "info") if isinstance(body.get(k), str)]
        if parts:
            return ": ".join(parts)
    return "no details"


@register("daily")
class DailyProvider(ConferenceProvider):
    name = "daily"

    def __init__(self, options: Mapping[str, Any], *, http: HttpTransport | None = None) -> None:
        opts = OptionReader(self.name, options)
        api_key = opts.required_string("api_key", "the Daily API key (dashboard, Developers)")
        self._api_key = api_key
        base_url = opts.url("base_url", "https://api.daily.co/v1")
        assert base_url is not None
        self.base_url = base_url.rstrip("/")
        room_secret = opts.string("room_secret")
        if room_secret is None:
            derived = hmac.new(api_key.encode(), b"daily room names", hashlib.sha256)
            room_secret = derived.hexdigest()
        if len(room_secret) < 16:
            reason = "must be at least 16 characters: room names must be unguessable"
            raise opts.error("room_secret", reason)
        self._room_key = room_secret.encode()
        privacy = opts.string("privacy", "public")
        if privacy not in ("public", "private"):
            raise opts.error("privacy", f"must be public or private, got {privacy!r}")
        self.privacy = privacy
        self.margin = opts.number("margin_seconds", 900, minimum=0, maximum=86400)
        self.timeout_seconds = opts.number("timeout_seconds", 5.0, minimum=0.01, maximum=60.0)
        opts.finish()
        # Not a user's token but the deployment's key: a 401 is refused, no account to refresh.
        self._api = BearerJsonApi(
            "Daily", self.base_url, http or default_transport(), self.timeout_seconds, _reason
        )

    def room_for(self, idempotency_key: str) -> str:
        digest = hmac.new(self._room_key, idempotency_key.encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:15]).decode().lower()

    def window(self, request: MeetingRequest) -> dict[str, int | None]:
        """``nbf``/``exp`` for the event (None: not limited)."""
        span = event_span(request)
        if span is None:
            return {"nbf": None, "exp": None}
        slack = self.margin + (DATE_SLACK if span.all_day else 0)
        return {
            "nbf": int(span.start - slack),
            "exp": int(span.end + slack) if span.bounded else None,
        }

    # --- the seam --------------------------------------------------------------------------

    def create(self, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        name = self.room_for(idempotency_key)
        window = self.window(request)
        body = {
            "name": name,
            "privacy": self.privacy,
            "properties": {k: v for k, v in window.items() if v is not None},
        }
        status, answer = self._call("POST", "/rooms", body, refused_ok=(400,))
        if status == 400:
            # Daily refuses a name in use: the first attempt under this key made it.
            status, answer = self._call("GET", f"/rooms/{quote(name)}", None, refused_ok=(404,))
            if status == 404:
                raise ProviderRefused(f"Daily refused the room {name}: {_info(answer)}", 400)
        return self._meeting(answer, window)

    def update(self, meeting: Meeting, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        window = self.window(request)
        if self._holds(meeting, window):
            # A retitle or a new guest: nothing of the room changes, so nothing is sent (no
            # call to fail, be rate-limited or wait pending during an outage).
            return meeting
        # None removes a limit that no longer applies (the series lost its end).
        body = {"privacy": self.privacy, "properties": window}
        _, answer = self._call("POST", f"/rooms/{quote(meeting.meeting_id)}", body)
        return self._meeting(answer, window)

    def update_occurrence(
        self, meeting: Meeting, change: OccurrenceChange, *, idempotency_key: str
    ) -> None:
        if change.cancelled:
            return  # the room stays for the series' other occurrences
        start, end = epoch(change.start), epoch(change.end)
        nbf, exp = _int(meeting.data.get("nbf")), _int(meeting.data.get("exp"))
        widened: dict[str, int] = {}
        if start is not None and nbf is not None and start - self.margin < nbf:
            widened["nbf"] = int(start - self.margin)
        if end is not None and exp is not None and end + self.margin > exp:
            widened["exp"] = int(end + self.margin)
        if widened:
            path = f"/rooms/{quote(meeting.meeting_id)}"
            self._call("POST", path, {"properties": widened})

    def delete(self, meeting: Meeting, *, idempotency_key: str) -> None:
        self._call("DELETE", f"/rooms/{quote(meeting.meeting_id)}", None, refused_ok=(404,))

    def _holds(self, meeting: Meeting, window: Mapping[str, int | None]) -> bool:
        """Whether the room, as last seen, already has this window and our privacy. A meeting
        stored before the privacy was kept in its data is sent once."""
        data = meeting.data
        same_window = all(_int(data.get(k)) == window[k] for k in ("nbf", "exp"))
        return same_window and data.get("privacy") == self.privacy

    # --- HTTP ------------------------------------------------------------------------------

    def _meeting(self, room: Any, window: Mapping[str, int | None]) -> Meeting:
        if not isinstance(room, dict) or not isinstance(room.get("name"), str):
            raise ProviderUnavailable(f"Daily answered without a room: {room!r:.200}")
        url = room.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ProviderUnavailable(f"Daily answered a room without a URL: {room!r:.200}")
        # The window the room really has (a repeated creation finds the first attempt's).
        config = room.get("config") if isinstance(room.get("config"), dict) else None
        source = config if config is not None else window
        data = {k: str(source[k]) for k in ("nbf", "exp") if source.get(k) is not None}
        privacy = room.get("privacy")
        data["privacy"] = privacy if isinstance(privacy, str) else self.privacy
        label = f"{urlsplit(url).netloc}/{room['name']}"
        return Meeting(
            meeting_id=room["name"],
            entry_points=(EntryPoint(type="video", uri=url, label=label),),
            note="Join with Daily in your browser.",
            data=data,
        )

    def _call(
        self, method: str, path: str, payload: Any, *, refused_ok: tuple[int, ...] = ()
    ) -> tuple[int, Any]:
        response = self._api.call(method, path, self._api_key, json=payload, ok=refused_ok)
        return response.status, response.json()


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
