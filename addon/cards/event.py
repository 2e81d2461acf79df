"""The eventOpen card (``eventOpenTrigger``): one event's meeting as the user can act on it.

``event_card(view)`` shows, top to bottom: the meeting the event carries (join link, dial-in
numbers with their PIN, SIP), the meeting as the vendor holds it when it differs (a
write-back is owed), the calendar's last sync and its outcome, when this event's meeting
record last changed, what waits (pending) or was
given up on (parked) with its reason in plain words, and the actions: "Sync now", "New join
link", and the vendor-account hook. ``no_conference_card`` is the card of an event that
carries none of our meetings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from addon.cards.widgets import (
    AccountAction,
    ActionLink,
    accounts_section,
    buttons,
    paragraph,
    row,
    text,
)

# "active": the meeting lives; "deleted": we deleted it (event cancelled or conference
# removed); "retired": the event ended long ago, no more syncing.
MeetingState = Literal["active", "deleted", "retired"]


@dataclass(frozen=True)
class MeetingView:
    solution_name: str
    meeting_id: str
    join_url: str | None
    phones: tuple[tuple[str, str | None], ...] = ()  # (number, PIN)
    sip: str | None = None
    code: str | None = None  # meeting code or password, when the vendor gives one


@dataclass(frozen=True)
class SyncView:
    when: str | None  # "3 minutes ago", None: never synced
    outcome: str  # "done", "error: ...", in words
    waiting: str | None = None  # the calendar waits for its user (why)
    meeting_changed: str | None = None  # when this event's record last changed, in words


@dataclass(frozen=True)
class PendingView:
    """A change of this event not applied yet (``parked`` False: it is retried) or parked."""

    what: str  # "Update the meeting", "Write the join link back"...
    reason: str
    parked: bool
    since: str | None = None


@dataclass(frozen=True)
class EventView:
    addon_name: str
    user_email: str | None
    summary: str | None
    state: MeetingState
    on_event: MeetingView | None  # what the event carries
    at_vendor: MeetingView | None  # the record's meeting, when it differs from the event's
    sync: SyncView
    pending: tuple[PendingView, ...] = ()
    sync_now: ActionLink | None = None
    new_link: ActionLink | None = None
    accounts: tuple[AccountAction, ...] = ()
    settings_url: str | None = None


_STATE_TEXT: dict[MeetingState, str] = {
    "active": "Meeting live",
    "deleted": "Meeting deleted (the event was cancelled or its conference removed)",
    "retired": "The event is over; its meeting is no longer synced",
}


def _meeting_widgets(meeting: MeetingView) -> list[dict[str, Any]]:
    widgets = [row("Conference", text(meeting.solution_name), text(meeting.meeting_id))]
    if meeting.join_url:
        url = text(meeting.join_url)
        widgets.append(row("Join link", f'<a href="{url}">{url}</a>'))
    for number, pin in meeting.phones:
        widgets.append(row("Dial-in", text(number), f"PIN {text(pin)}" if pin else None))
    if meeting.sip:
        widgets.append(row("SIP", text(meeting.sip)))
    if meeting.code:
        widgets.append(row("Meeting code", text(meeting.code)))
    return widgets


def _header(view: EventView) -> dict[str, Any]:
    header: dict[str, Any] = {"title": text(view.summary) or "(no title)"}
    header["subtitle"] = view.addon_name + (f" · {view.user_email}" if view.user_email else "")
    return header


def event_card(view: EventView) -> dict[str, Any]:
    sections: list[dict[str, Any]] = []
    meeting_widgets: list[dict[str, Any]] = [row("Status", f"<b>{_STATE_TEXT[view.state]}</b>")]
    if view.on_event is not None:
        meeting_widgets.extend(_meeting_widgets(view.on_event))
    else:
        meeting_widgets.append(paragraph("The event does not show a join link yet."))
    sections.append({"header": "Meeting", "widgets": meeting_widgets})
    if view.at_vendor is not None:
        vendor = [
            paragraph(
                "The vendor holds newer join details than the event shows; the next sync "
                "writes them onto the event."
            ),
            *_meeting_widgets(view.at_vendor),
        ]
        sections.append(
            {
                "header": "At the vendor",
                "widgets": vendor,
                "collapsible": True,
                "uncollapsibleWidgetsCount": 1,
            }
        )
    sync = [
        row(
            "Last sync",
            text(view.sync.when or "Not synced yet"),
            text(view.sync.outcome) if view.sync.when else None,
        )
    ]
    if view.sync.meeting_changed:
        sync.append(row("This meeting last synced", text(view.sync.meeting_changed)))
    if view.sync.waiting:
        sync.append(row("Waits for you", text(view.sync.waiting)))
    for item in view.pending:
        label = "Needs attention" if item.parked else "Waiting to retry"
        bottom = f"since {item.since}" if item.since else None
        sync.append(row(label, f"{text(item.what)}: {text(item.reason)}", text(bottom)))
    if not view.pending:
        sync.append(row("Changes waiting", "None"))
    sections.append({"header": "Sync", "widgets": sync})
    links = [link for link in (view.sync_now, view.new_link) if link is not None]
    if view.settings_url is not None:
        links.append(ActionLink("Settings", open_url=view.settings_url))
    if links:
        sections.append({"widgets": [buttons(links)]})
    accounts = accounts_section(view.accounts)
    if accounts is not None:
        sections.append(accounts)
    return {"header": _header(view), "sections": sections}


def no_conference_card(
    addon_name: str, summary: str | None, accounts: tuple[AccountAction, ...] = ()
) -> dict[str, Any]:
    """The open event carries none of our meetings."""
    sections: list[dict[str, Any]] = [
        {
            "header": "Meeting",
            "widgets": [
                paragraph(
                    "This event has no meeting of ours. Pick one of this add-on's conference "
                    "solutions under \u201cAdd video conferencing\u201d to add one."
                )
            ],
        }
    ]
    section = accounts_section(accounts)
    if section is not None:
        sections.append(section)
    return {
        "header": {"title": text(summary) or "(no title)", "subtitle": addon_name},
        "sections": sections,
    }
