"""``GET /join/<conference id>``: the join link a BigBlueButton conference puts on the event.

BBB meetings exist only while they run, so the event carries this link instead of one of
BBB's (see ``addon.providers.bbb``). The page:

* 404 — no conference has that id (or its solution is not a BBB one any more);
* 410 — the conference was deleted (the event was deleted, or its conference removed), or the
  event was deleted and ending its meeting is still pending (BBB was down);
* 403 — outside the join window (too early: says when it opens, in UTC and as epoch seconds
  for a script; over: says so), from the event times the provider last saw;
* 200 — a small form asking the visitor's name (links are opened by previews and scanners:
  nothing is created until a name is given);
* 303 — with ``?name=``: the meeting is created if needed (BBB's ``create`` is idempotent per
  ``meetingID``, so two visitors at once make one meeting) and the visitor is redirected to a
  signed BBB ``join`` URL;
* 503 — BBB unreachable (with the ``Retry-After`` it gave); 502 — BBB refused.

The id is an unguessable HMAC (the link is a capability, like a Jitsi room name); nothing
here needs a Google sign-in.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from flask import Blueprint, Response, redirect, request
from flask.typing import ResponseReturnValue
from markupsafe import escape

from addon.providers.base import ProviderError, ProviderUnavailable
from addon.providers.bbb import MAX_NAME, BbbProvider
from addon.services import Services
from addon.store.records import Conference
from addon.web.requests import services

bp = Blueprint("join", __name__)
log = logging.getLogger(__name__)

MAX_ID = 128


def _page(status: int, title: str, body: str, **headers: str) -> Response:
    """An HTML page; ``body`` is trusted HTML (callers escape what they put in it)."""
    html = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f"{body}</body></html>"
    )
    return Response(html, status=status, headers=headers, content_type="text/html; charset=utf-8")


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _deletion_pending(svc: Services, conference: Conference) -> bool:
    """The event is gone but ending its meeting is still pending (BBB was down when the sync
    deleted it): the record stays live until ``end`` succeeds, yet the link must be dead
    already. A pending change carries the event as last listed: cancelled means deleted."""
    return any(
        change.event_id == conference.event_id and change.event.get("status") == "cancelled"
        for change in svc.store.list_pending(conference.calendar_id)
    )


@bp.get("/join/<conference_id>")
def join(conference_id: str) -> ResponseReturnValue:
    svc = services()
    unknown = _page(404, "No such meeting", "<p>Check the link in the calendar event.</p>")
    if len(conference_id) > MAX_ID:
        return unknown
    records = svc.store.find_by_conference_id(conference_id)
    live = [r for r in records if r.live]
    if not live:
        if records:
            return _page(410, "This meeting was cancelled", "<p>The event was deleted.</p>")
        return unknown
    conference = live[0]
    if _deletion_pending(svc, conference):
        return _page(410, "This meeting was cancelled", "<p>The event was deleted.</p>")
    provider = svc.providers.get(conference.solution_id)
    if not isinstance(provider, BbbProvider):
        return unknown
    window = provider.window(conference.meeting)
    state = window.state(time.time())
    if state == "early" and window.opens is not None:
        when = _utc(window.opens)
        body = (
            f"<p>The meeting opens at {escape(when)} "
            f"(<span id='opens-at' data-epoch='{int(window.opens)}'>{int(window.opens)}</span>)."
            " Come back then.</p>"
        )
        return _page(403, "Not open yet", body)
    if state == "over":
        return _page(403, "This meeting is over", "<p>Its event has ended.</p>")
    name = request.args.get("name", "").strip()
    title = conference.meeting.data.get("name") or "Meeting"
    if not name:
        form = (
            "<form method='get'><label>Your name "
            f"<input name='name' maxlength='{MAX_NAME}' required autofocus></label> "
            "<button type='submit'>Join</button></form>"
        )
        return _page(200, f"Join {title}", form)
    if len(name) > MAX_NAME:
        return _page(400, "Name too long", f"<p>At most {MAX_NAME} characters.</p>")
    try:
        url = provider.join(conference.meeting, name)
    except ProviderUnavailable as exc:
        log.warning("join %s: BigBlueButton unavailable: %s", conference_id, exc)
        retry = str(int(exc.retry_after or 10))
        return _page(503, "Try again shortly", "<p>The meeting server is busy.</p>",
                     **{"Retry-After": retry})  # fmt: skip
    except ProviderError as exc:
        log.error("join %s: BigBlueButton refused: %s", conference_id, exc)
        return _page(502, "The meeting server refused", "<p>Tell the organizer.</p>")
    response = redirect(url, code=303)
    response.headers["Cache-Control"] = "no-store"
    return response
