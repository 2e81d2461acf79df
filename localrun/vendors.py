"""The fake vendors the local stack offers next to the generic REST server, one entry each.

``LOCAL_VENDORS`` is the extension point: a vendor whose fake lives in ``localgoogle.vendors``
adds one ``LocalVendor`` (its provider name, the solution the stack offers, where its fake is
mounted on the emulator, how to build the fake and the provider options that point at it).
``mount_vendors(app)`` mounts every fake on the emulator app (state on
``app.extensions["vendors"][provider]``); ``vendor_solutions(emulator_url)`` are the solutions
``localrun.config.local_solutions`` adds, so the console's pickers offer them.

Zoom, Teams and Webex act as each user's linked account: the first pick answers AUTHENTICATION
and the console shows the linking page's link (``addon.web.link``); the fakes' consent pages
take any account name. Daily (an API key) and BigBlueButton (a shared secret; the event carries
the add-on's own ``/join/<id>`` link) need no linking.

Each entry also lists its fake's meetings for the console (``meetings(state)``, one function per
vendor next to the entries), normalized to the board's shape ``VendorMeeting`` keyed by the id
the add-on stores as the ``conferenceId``: Zoom's meeting number, Graph's and Webex's meeting
id, Daily's room name, our own ``gcal-…`` id for BigBlueButton. A meeting a fake forgot on
deletion (Zoom, Graph) comes back from its call log as deleted, its details unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from flask import Blueprint, Flask

from localgoogle.vendors.bbb import BbbState, bbb_blueprint
from localgoogle.vendors.daily import DailyState, daily_blueprint
from localgoogle.vendors.graph import GraphState, graph_blueprint
from localgoogle.vendors.webex import WebexState, webex_blueprint
from localgoogle.vendors.zoom import ZoomState, zoom_blueprint
from localgoogle.vendors.zoom.state import parse_time as zoom_parse_time
from localrun.console.text import parse_time, when

LOGO_URL = "https://www.gstatic.com/images/branding/product/2x/calendar_48dp.png"


class VendorMeeting(TypedDict):
    """A fake's meeting as the console's board shows it (``event_views.meeting_view``)."""

    id: str
    title: str | None
    start: str | None  # ISO 8601
    end: str | None
    attendees: list[str]
    occurrences: list[str]  # changed occurrences, e.g. "cancelled: Mon 7 Jan 2030 10:00 UTC"
    updates: int | None  # None: the fake's call log cannot tell
    deleted: bool
    status: str  # the badge: "meeting live", "meeting deleted", "ended", …


@dataclass(frozen=True)
class LocalVendor:
    provider: str
    solution_id: str
    name: str
    prefix: str
    make_state: Callable[[], Any]
    blueprint: Callable[[Any], Blueprint]
    options: Callable[[str], dict[str, Any]]  # the fake's base URL -> provider options
    meetings: Callable[[Any], list[VendorMeeting]]  # the fake's state -> its meetings
    absent: str = "unknown"  # the badge when the fake holds no meeting for a conference


LIVE, DELETED = "meeting live", "meeting deleted"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _epoch(seconds: Any) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if isinstance(seconds, int | float) else None


def _at(moment: datetime | str | None, end: datetime | str | None = None) -> str:
    start = _iso(moment) if isinstance(moment, datetime) else moment
    finish = _iso(end) if isinstance(end, datetime) else end
    return when({"dateTime": start}, {"dateTime": finish} if finish else None)


def _applied(calls: Iterable[Mapping[str, Any]], op: str, key: str) -> Counter[str]:
    """How many ``op`` calls the fake applied, per meeting (``key``: the log's meeting field)."""
    return Counter(
        str(c.get(key)) for c in calls if c.get("op") == op and c.get("outcome") == "applied"
    )


def _forgotten(ids: Iterable[str], updates: Counter[str]) -> list[VendorMeeting]:
    """Meetings the fake removed on deletion: only the call log remembers them."""
    return [
        VendorMeeting(id=i, title=None, start=None, end=None, attendees=[], occurrences=[],
                      updates=updates[i], deleted=True, status=DELETED)
        for i in ids
    ]  # fmt: skip


def zoom_meetings(state: ZoomState) -> list[VendorMeeting]:
    """Zoom forgets a deleted meeting; its log's applied ``delete`` (no occurrence) tells it."""
    calls = [c for c in state.calls() if not c.get("occurrenceId")]
    updates = _applied(calls, "update", "meetingId")
    deletes = _applied(calls, "delete", "meetingId")
    found: list[VendorMeeting] = []
    for m in state.meetings():
        start = zoom_parse_time(m.get("start_time"), m.get("timezone"))
        end = start + timedelta(minutes=int(m.get("duration") or 0)) if start else None
        occurrences = []
        for o in m.get("occurrences") or []:
            original = datetime.fromtimestamp(int(o["occurrence_id"]) / 1000, UTC)
            moved = zoom_parse_time(o.get("start_time"), "UTC")
            if o.get("status") == "deleted":
                occurrences.append(f"cancelled: {_at(original)}")
            elif moved is not None and moved != original:
                minutes = timedelta(minutes=int(o.get("duration") or m.get("duration") or 0))
                occurrences.append(f"moved: {_at(original)} → {_at(moved, moved + minutes)}")
        invitees = (m.get("settings") or {}).get("meeting_invitees") or []
        found.append(
            VendorMeeting(
                id=str(m["id"]), title=m.get("topic"), start=_iso(start), end=_iso(end),
                attendees=[str(i.get("email")) for i in invitees if isinstance(i, dict)],
                occurrences=occurrences, updates=updates[str(m["id"])], deleted=False,
                status=LIVE,
            )
        )  # fmt: skip
    live = {m["id"] for m in found}
    return found + _forgotten([i for i in deletes if i not in live], updates)


def teams_meetings(state: GraphState) -> list[VendorMeeting]:
    """Graph forgets a deleted online meeting; its log's applied ``delete`` tells it."""
    calls = state.calls()
    updates = _applied(calls, "update", "meetingId")
    deletes = _applied(calls, "delete", "meetingId")
    found = [
        VendorMeeting(
            id=str(m["id"]), title=m.get("subject"),
            start=_iso(parse_time(m.get("startDateTime"))),
            end=_iso(parse_time(m.get("endDateTime"))),
            attendees=[str(a.get("upn")) for a in (m.get("participants") or {}).get("attendees")
                       or [] if isinstance(a, dict)],
            occurrences=[], updates=updates[str(m["id"])], deleted=False, status=LIVE,
        )
        for m in state.meetings()
    ]  # fmt: skip
    live = {m["id"] for m in found}
    return found + _forgotten([i for i in deletes if i not in live], updates)


def webex_meetings(state: WebexState) -> list[VendorMeeting]:
    """Webex series (deleted ones kept, marked); occurrences from their overrides, keyed by
    original start; invitees while the series lives. Updates: ``PUT``s of the whole series."""
    updates = _applied(state.faults.calls("update"), "update", "target")
    found: list[VendorMeeting] = []
    for series in state.meetings.all():
        occurrences = []
        for key, override in sorted((series.get("overrides") or {}).items()):
            original = datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if override.get("cancelled"):
                occurrences.append(f"cancelled: {_at(original)}")
            elif override.get("start"):
                moved = _at(override["start"], override.get("end"))
                occurrences.append(f"moved: {_at(original)} → {moved}")
        status, invited = state.meetings.invitees(str(series["hostEmail"]), str(series["id"]))
        items = (invited or {}).get("items") or [] if status == 200 else []
        found.append(
            VendorMeeting(
                id=str(series["id"]), title=series.get("title"), start=series.get("start"),
                end=series.get("end"), attendees=[str(i.get("email")) for i in items],
                occurrences=occurrences, updates=updates[str(series["id"])],
                deleted=bool(series.get("deleted")),
                status=DELETED if series.get("deleted") else LIVE,
            )
        )  # fmt: skip
    return found


def daily_meetings(state: DailyState) -> list[VendorMeeting]:
    """Daily rooms by name (the add-on's conference id): untitled, open from ``nbf`` to
    ``exp``; deleted ones kept, marked; a room past its ``exp`` counts as deleted (Daily's
    rule), said "room expired"."""
    updates = _applied(state.faults.calls("update"), "update", "target")
    now = state.clock()
    found: list[VendorMeeting] = []
    for room in state.rooms():
        config = room.get("config") or {}
        exp = config.get("exp")
        expired = isinstance(exp, int | float) and exp < now
        status = "room live" if not expired else "room expired"
        if room.get("deleted"):
            status = "room deleted"
        found.append(
            VendorMeeting(
                id=str(room["name"]), title=None, start=_iso(_epoch(config.get("nbf"))),
                end=_iso(_epoch(exp)), attendees=[], occurrences=[],
                updates=updates[str(room["name"])],
                deleted=bool(room.get("deleted")) or expired, status=status,
            )
        )  # fmt: skip
    return found


def bbb_meetings(state: BbbState) -> list[VendorMeeting]:
    """BigBlueButton holds a meeting only from its first join (the add-on's join page creates
    it) until ``end``; the fake keeps the ended ones. Our ``gcal-…`` id is the meeting id. No
    updates: the add-on changes only its own record."""
    snapshot = state.snapshot()
    found: dict[str, VendorMeeting] = {}
    for m in [*snapshot["ended"], *snapshot["meetings"]]:  # a running one wins over an ended
        ended = "endTime" in m
        running = "running" if m.get("running") else "not running"
        found[str(m["meetingID"])] = VendorMeeting(
            id=str(m["meetingID"]), title=m.get("meetingName"),
            start=_iso(_epoch((m.get("createTime") or 0) / 1000)),
            end=_iso(_epoch(m["endTime"] / 1000)) if ended else None,
            attendees=[f"{a.get('fullName')} ({str(a.get('role', '')).lower()})"
                       for a in m.get("attendees") or []],
            occurrences=[], updates=None, deleted=ended, status="ended" if ended else running,
        )  # fmt: skip
    return list(found.values())


LOCAL_VENDORS: tuple[LocalVendor, ...] = (
    LocalVendor(
        "zoom", "zoom-meeting", "Zoom", "/_zoom", ZoomState, zoom_blueprint,
        lambda base: {"client_id": "zoom-client-id", "client_secret": "zoom-client-secret",
                      "api_base_url": base + "/v2", "oauth_base_url": base},
        zoom_meetings,
    ),
    LocalVendor(
        "teams", "teams-meeting", "Microsoft Teams", "/_graph", GraphState, graph_blueprint,
        lambda base: {"client_id": "graph-client-id", "client_secret": "graph-client-secret",
                      "login_base_url": base, "graph_base_url": base + "/v1.0"},
        teams_meetings,
    ),
    LocalVendor(
        "webex", "webex-meeting", "Webex Meetings", "/_webex", WebexState, webex_blueprint,
        lambda base: {"client_id": "webex-client-id", "client_secret": "webex-client-secret",
                      "base_url": base + "/v1"},
        webex_meetings,
    ),
    LocalVendor(
        "daily", "daily-room", "Daily", "/_daily", DailyState, daily_blueprint,
        lambda base: {"api_key": "daily-test-key", "base_url": base + "/v1"},
        daily_meetings,
    ),
    LocalVendor(
        "bbb", "bbb-meeting", "BigBlueButton", "/_bbb", BbbState, bbb_blueprint,
        lambda base: {"base_url": base + "/bigbluebutton/api",
                      "secret": "bbb-test-secret-0123456789"},
        bbb_meetings, absent="not running",
    ),
)  # fmt: skip


def vendor_solutions(emulator_url: str) -> list[dict[str, object]]:
    return [
        {
            "id": v.solution_id,
            "name": v.name,
            "logoUrl": LOGO_URL,
            "provider": v.provider,
            "options": v.options(emulator_url + v.prefix),
        }
        for v in LOCAL_VENDORS
    ]


def mount_vendors(app: Flask) -> dict[str, Any]:
    """Every fake vendor on ``app`` at its prefix; their states by provider name."""
    states: dict[str, Any] = {}
    for vendor in LOCAL_VENDORS:
        state = vendor.make_state()
        app.register_blueprint(vendor.blueprint(state), url_prefix=vendor.prefix)
        states[vendor.provider] = state
    app.extensions["vendors"] = states
    return states
