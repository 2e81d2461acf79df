"""The homepage card (``homepageTrigger``).

``home_card(view)``: the add-on's home page in Calendar: whether the user's calendars are kept
in sync while they are away (offline sync) with the link to their own page to turn it on or
off (``addon.credentials.links``), each subscribed calendar with its health (due, parked,
last sync, waiting for the user), and the user's vendor accounts (the account-linking hook).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from addon.cards.widgets import AccountAction, ActionLink, accounts_section, buttons, row, text

OfflineState = Literal["on", "off", "needs_consent", "delegated", "not_offered"]

_STATE_TEXT: dict[OfflineState, tuple[str, str]] = {
    "on": ("On", "Meetings follow your calendar even when you are away."),
    "off": ("Off", "Meetings follow your calendar only when you edit it in Calendar."),
    "needs_consent": (
        "Needs your consent again",
        "Google no longer accepts the consent you gave (it was revoked or expired).",
    ),
    "delegated": ("On, set by your administrator", "Your domain granted it for everyone."),
    "not_offered": ("Not offered", "Meetings follow your calendar when you edit it."),
}


@dataclass(frozen=True)
class CalendarHealth:
    """One subscribed calendar as its user sees it. ``waiting``: why it cannot sync until the
    user acts (None: nothing)."""

    calendar_id: str
    last_sync: str | None  # "3 minutes ago: done", in words
    due: bool = False
    parked: int = 0
    pending: int = 0
    waiting: str | None = None

    def summary(self) -> str:
        if self.waiting:
            return "Waits for you"
        if self.parked:
            return f"{self.parked} change(s) need attention"
        if self.due or self.pending:
            return "Catching up" + (f" ({self.pending} change(s) waiting)" if self.pending else "")
        return "In sync"


@dataclass(frozen=True)
class HomeView:
    addon_name: str
    user_email: str | None
    offline: OfflineState
    calendars: int
    manage_url: str | None  # the signed link to the user's offline-sync page
    health: tuple[CalendarHealth, ...] = ()
    accounts: tuple[AccountAction, ...] = ()
    settings_url: str | None = None  # the signed link to the user's settings page


def home_card(view: HomeView) -> dict[str, Any]:
    text, detail = _STATE_TEXT[view.offline]
    widgets: list[dict[str, Any]] = [
        {
            "decoratedText": {
                "topLabel": "Offline sync",
                "text": f"<b>{text}</b>",
                "bottomLabel": detail,
                "wrapText": True,
            }
        },
        {
            "decoratedText": {
                "topLabel": "Calendars with our meetings",
                "text": str(view.calendars),
            }
        },
    ]
    if view.manage_url is not None:
        label = "Turn on" if view.offline in ("off", "needs_consent") else "Manage"
        widgets.append(buttons([ActionLink(label, open_url=view.manage_url)]))
    header: dict[str, Any] = {"title": view.addon_name}
    if view.user_email:
        header["subtitle"] = view.user_email
    sections: list[dict[str, Any]] = [{"header": "Keep meetings in sync", "widgets": widgets}]
    if view.health:
        sections.append({"header": "Your calendars", "widgets": _health(view.health)})
    accounts = accounts_section(view.accounts)
    if accounts is not None:
        sections.append(accounts)
    if view.settings_url is not None:
        sections.append(
            {"widgets": [buttons([ActionLink("Your settings", open_url=view.settings_url)])]}
        )
    return {"header": header, "sections": sections}


def _health(health: tuple[CalendarHealth, ...]) -> list[dict[str, Any]]:
    widgets = []
    for item in health:
        details = [f"Last sync {item.last_sync}" if item.last_sync else "Not synced yet"]
        if item.waiting:
            details.append(item.waiting)
        widgets.append(
            row(text(item.calendar_id), f"<b>{item.summary()}</b>", text(" · ".join(details)))
        )
    return widgets


def unidentified_card(addon_name: str) -> dict[str, Any]:
    """Google sent no verifiable user: nothing personal can be shown."""
    return {
        "header": {"title": addon_name},
        "sections": [
            {
                "widgets": [
                    {
                        "textParagraph": {
                            "text": "Pick this add-on's conference solution on an event to "
                            "add a meeting. Your settings need you to be signed in."
                        }
                    }
                ]
            }
        ],
    }
