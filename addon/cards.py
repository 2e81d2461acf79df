"""The ONE builder of cards the add-on shows inside Calendar (Card v1, ``google.apps.card.v1``).

HTTP add-ons answer a homepage trigger with ``{"action": {"navigations": [{"pushCard":
CARD}]}}`` (developers.google.com/workspace/add-ons/guides/alternate-runtimes); the card's
JSON follows the Card v1 messages (tests validate every card built here against them with the
``google-apps-card`` package, unknown fields refused).

``home_card(...)``: the add-on's home page in Calendar: whether the user's calendars are kept
in sync while they are away (offline sync), and the link to their own page to turn it on or
off (``addon.credentials.links``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
class HomeView:
    addon_name: str
    user_email: str | None
    offline: OfflineState
    calendars: int
    manage_url: str | None  # the signed link to the user's offline-sync page


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
        widgets.append(
            {
                "buttonList": {
                    "buttons": [{"text": label, "onClick": {"openLink": {"url": view.manage_url}}}]
                }
            }
        )
    header: dict[str, Any] = {"title": view.addon_name}
    if view.user_email:
        header["subtitle"] = view.user_email
    return {
        "header": header,
        "sections": [{"header": "Keep meetings in sync", "widgets": widgets}],
    }


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


def push_card_response(card: dict[str, Any]) -> dict[str, Any]:
    """What an HTTP add-on answers to a homepage (or other card) trigger."""
    return {"action": {"navigations": [{"pushCard": card}]}}
