"""The endpoint Calendar's push channels notify (``events.watch`` ``address``).

* ``POST /calendar/push`` — headers only (``addon.channels.notifications``): 200
  ``{"status": ...}`` for a channel of ours; 404 ``unknownChannel`` for anything else
  (forged, altered, or a channel we never opened), so Google does not retry it; 400 without a
  channel id; 503 when Datastore or Cloud Tasks fail (Google retries 500/502/503/504).

There is no Google ID token on these requests (Calendar does not send one): the channel token
is the proof, checked before anything is read.
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from addon.channels.lifecycle import PUSH_PATH
from addon.channels.notifications import Notification, on_notification
from addon.errors import ApiError
from addon.store.errors import StoreError
from addon.tasks.queue import QueueUnavailable
from addon.web.requests import services

log = logging.getLogger(__name__)

bp = Blueprint("push", __name__)


@bp.post(PUSH_PATH)
def push() -> ResponseReturnValue:
    note = Notification.from_headers(request.headers)
    if note is None:
        raise ApiError(400, "notANotification", "Expected a Calendar push notification.")
    try:
        outcome = on_notification(services(), note)
    except (StoreError, QueueUnavailable) as exc:
        log.warning("push notification not handled: %s", type(exc).__name__)
        raise ApiError(503, "retryLater", "Try again later.") from None
    fields = {"state": note.state, "number": note.number, "outcome": outcome}
    if outcome == "unknown":
        log.warning("push notification for an unknown channel", extra={"json_fields": fields})
        raise ApiError(404, "unknownChannel", "No such channel.")
    log.info("push notification", extra={"json_fields": fields})
    return jsonify({"status": outcome})
