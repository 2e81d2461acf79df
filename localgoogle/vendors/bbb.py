"""A fake BigBlueButton server: the checksum-signed API (docs.bigbluebutton.org, "API
Reference") for the calls the ``bbb`` provider makes.

Every call is ``GET /bigbluebutton/api/<call>?<query>&checksum=<hex>`` where the checksum is
SHA-1/256/384/512 (told apart by its length) of ``<call><query><secret>``, the query exactly as
sent minus the checksum parameter. Answers are XML ``<response><returncode>SUCCESS|FAILED
</returncode>…`` with HTTP 200 even when FAILED, as BigBlueButton does; a wrong checksum is
``FAILED`` / ``checksumError``.

``create``            ``meetingID`` (required), ``name``, ``attendeePW``, ``moderatorPW`` → the
                      meeting; the same ``meetingID`` again with the same name answers
                      ``SUCCESS`` / ``duplicateWarning`` (nothing new is made), with another
                      name ``FAILED`` / ``idNotUnique``
``join``              ``meetingID``, ``fullName``, ``role`` (``MODERATOR``/``VIEWER``) or
                      ``password`` → an HTML page saying who joined (the real server redirects
                      to its client); an unknown meeting → ``FAILED`` /
                      ``invalidMeetingIdentifier``
``isMeetingRunning``  ``<running>true|false</running>`` (running once someone joined)
``getMeetingInfo``    the meeting with its attendees; unknown → ``FAILED`` / ``notFound``
``end``               removes the meeting (``sentEndMeetingRequest``); unknown → ``notFound``
``/bigbluebutton/api`` without a call: the version answer (no checksum), as BBB does

Meetings exist only while "running": ``end`` forgets them (the control API keeps a history).
Faults, the call log and ``/_control/reset``: ``localgoogle.vendors.toolkit`` (fault
statuses are answered as plain HTML pages, as nginx in front of BBB would).
``GET /_control/meetings`` → ``{"meetings": [...], "ended": [...], "creates": N}`` (``creates``:
meetings really made, duplicates not counted).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import threading
import time
from typing import Any
from xml.etree import ElementTree as ET

from flask import Blueprint, Flask, Response, jsonify, request
from markupsafe import escape

from localgoogle.vendors.toolkit import FaultsAndCalls, add_control_routes, vendor_app

_HASHES = {40: hashlib.sha1, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}
_CALLS = ("create", "join", "isMeetingRunning", "getMeetingInfo", "end")

Answer = tuple[int, str, str]  # status, content type, body


def _xml(returncode: str, fields: dict[str, Any] | None = None, **keys: Any) -> Answer:
    root = ET.Element("response")
    ET.SubElement(root, "returncode").text = returncode
    for name, value in {**(fields or {}), **keys}.items():
        _put(root, name, value)
    return 200, "text/xml", ET.tostring(root, encoding="unicode")


def _put(parent: ET.Element, name: str, value: Any) -> None:
    node = ET.SubElement(parent, name)
    if isinstance(value, list):
        for item in value:
            _put(node, name[:-1] if name.endswith("s") else "item", item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            _put(node, key, inner)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    else:
        node.text = str(value)


def _failed(key: str, message: str) -> Answer:
    return _xml("FAILED", messageKey=key, message=message)


def checksum_ok(call: str, raw_query: str, secret: str) -> bool:
    """BBB's check: strip ``checksum=`` from the query as sent, hash call + query + secret."""
    parts = raw_query.split("&") if raw_query else []
    given = [p.split("=", 1)[1] for p in parts if p.startswith("checksum=")]
    if len(given) != 1:
        return False
    rest = "&".join(p for p in parts if not p.startswith("checksum="))
    algorithm = _HASHES.get(len(given[0]))
    if algorithm is None:
        return False
    expected = algorithm((call + rest + secret).encode()).hexdigest()
    return hmac.compare_digest(expected, given[0].lower())


class BbbState:
    """Running meetings by id, the ended ones, creations, the fault plan and the call log."""

    def __init__(self, *, secret: str = "bbb-test-secret-0123456789") -> None:  # noqa: S107
        self.secret = secret
        self.faults = FaultsAndCalls()
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._meetings: dict[str, dict[str, Any]] = {}
            self._ended: list[dict[str, Any]] = []
            self._creates = 0
        self.faults.reset()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "meetings": copy.deepcopy(list(self._meetings.values())),
                "ended": copy.deepcopy(self._ended),
                "creates": self._creates,
            }

    def meeting(self, meeting_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._meetings.get(meeting_id))

    def handle(
        self, call: str, raw_query: str, args: dict[str, str]
    ) -> tuple[Answer, dict[str, str]]:
        fault = self.faults.take()
        target = args.get("meetingID")
        if fault is not None:
            page = f"<html><body><h1>{fault.status}</h1></body></html>"
            self.faults.log("GET", call, target, fault.status, "fault")
            return (fault.status, "text/html", page), fault.headers()
        if call not in _CALLS:
            answer = _failed("unsupportedRequest", "This request is not supported.")
        elif not checksum_ok(call, raw_query, self.secret):
            answer = _failed("checksumError", "You did not pass the checksum security check")
        else:
            with self._lock:
                answer = self._apply(call, args)
        failed = "<returncode>FAILED</returncode>" in answer[2]
        duplicate = "duplicateWarning" in answer[2]
        outcome = "rejected" if failed else "duplicate" if duplicate else "applied"
        self.faults.log("GET", call, target, answer[0], outcome)
        return answer, {}

    def _apply(self, call: str, args: dict[str, str]) -> Answer:
        meeting_id = args.get("meetingID", "")
        if not meeting_id:
            return _failed("missingParamMeetingID", "You must specify a meeting ID.")
        meeting = self._meetings.get(meeting_id)
        if call == "create":
            return self._create(meeting_id, meeting, args)
        if call == "isMeetingRunning":
            return _xml("SUCCESS", running=bool(meeting and meeting["running"]))
        if call == "join":
            return self._join(meeting, args)
        if meeting is None:
            return _failed("notFound", "We could not find a meeting with that meeting ID")
        if call == "getMeetingInfo":
            return _xml("SUCCESS", self._info(meeting))
        del self._meetings[meeting_id]  # end
        self._ended.append({**meeting, "endTime": int(time.time() * 1000)})
        return _xml(
            "SUCCESS",
            messageKey="sentEndMeetingRequest",
            message="A request to end the meeting was sent.",
        )

    def _create(
        self, meeting_id: str, meeting: dict[str, Any] | None, args: dict[str, str]
    ) -> Answer:
        name = args.get("name", meeting_id)
        if meeting is not None:
            if meeting["meetingName"] != name:
                return _failed("idNotUnique", "A meeting already exists with that meeting ID.")
            return _xml(
                "SUCCESS",
                self._created(meeting),
                messageKey="duplicateWarning",
                message="This conference was already in existence and may currently be in "
                "progress.",
            )
        meeting = {
            "meetingID": meeting_id,
            "internalMeetingID": hashlib.sha1(meeting_id.encode()).hexdigest(),  # noqa: S324
            "meetingName": name,
            "attendeePW": args.get("attendeePW", "ap"),
            "moderatorPW": args.get("moderatorPW", "mp"),
            "createTime": int(time.time() * 1000),
            "voiceBridge": 70000 + len(self._meetings) + len(self._ended),
            "running": False,
            "attendees": [],
        }
        self._meetings[meeting_id] = meeting
        self._creates += 1
        return _xml("SUCCESS", self._created(meeting), messageKey="", message="")

    @staticmethod
    def _created(meeting: dict[str, Any]) -> dict[str, Any]:
        keys = ("meetingID", "internalMeetingID", "attendeePW", "moderatorPW", "createTime",
                "voiceBridge")  # fmt: skip
        return {
            **{k: meeting[k] for k in keys},
            "hasUserJoined": bool(meeting["attendees"]),
            "hasBeenForciblyEnded": False,
        }

    def _join(self, meeting: dict[str, Any] | None, args: dict[str, str]) -> Answer:
        if meeting is None:
            message = "The meeting ID that you supplied did not match any existing meetings"
            return _failed("invalidMeetingIdentifier", message)
        full_name = args.get("fullName", "")
        if not full_name:
            return _failed("missingParamFullName", "You must specify a name for the attendee.")
        role = args.get("role", "").upper()
        password = args.get("password")
        if not role and password is not None:
            role = {meeting["moderatorPW"]: "MODERATOR", meeting["attendeePW"]: "VIEWER"}.get(
                password, ""
            )
        if role not in ("MODERATOR", "VIEWER"):
            return _failed("invalidPassword", "The password you submitted is not valid.")
        meeting["attendees"].append({"fullName": full_name, "role": role})
        meeting["running"] = True
        page = (
            f"<html><body><h1>You joined {escape(meeting['meetingName'])}</h1>"
            f"<p>as {escape(full_name)} ({role.lower()})</p></body></html>"
        )
        return 200, "text/html", page

    @staticmethod
    def _info(meeting: dict[str, Any]) -> dict[str, Any]:
        return {
            "meetingName": meeting["meetingName"],
            "meetingID": meeting["meetingID"],
            "internalMeetingID": meeting["internalMeetingID"],
            "createTime": meeting["createTime"],
            "voiceBridge": meeting["voiceBridge"],
            "running": meeting["running"],
            "participantCount": len(meeting["attendees"]),
            "attendees": [
                {"fullName": a["fullName"], "role": a["role"]} for a in meeting["attendees"]
            ],
        }


def bbb_blueprint(state: BbbState, name: str = "bbb") -> Blueprint:
    """The API under ``/bigbluebutton/api`` and the control API; mount with any prefix."""
    bp = Blueprint(name, __name__)

    @bp.get("/bigbluebutton/api")
    @bp.get("/bigbluebutton/api/")
    def version() -> Response:
        status, kind, body = _xml("SUCCESS", version="2.0", apiVersion="2.0")
        return Response(body, status=status, content_type=kind)

    @bp.get("/bigbluebutton/api/<call>")
    def api(call: str) -> Response:
        raw = request.query_string.decode("latin-1")
        (status, kind, body), headers = state.handle(call, raw, request.args.to_dict())
        response = Response(body, status=status, content_type=kind)
        response.headers.update(headers)
        return response

    @bp.get("/_control/meetings")
    def meetings() -> Response:
        return jsonify(state.snapshot())

    add_control_routes(bp, state.faults, state.reset)
    return bp


def create_bbb_app(state: BbbState | None = None) -> Flask:
    """The fake BigBlueButton on its own; its state is ``app.extensions["bbb"]``."""
    state = state or BbbState()
    return vendor_app(__name__, "bbb", state, bbb_blueprint(state))
