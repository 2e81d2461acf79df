"""Card v1 widgets the cards share: text rows, buttons, and the vendor-account hook."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any


@dataclass(frozen=True)
class ActionLink:
    """A button. ``function``: the full URL of our endpoint Google calls (with its ID token)
    when the button is clicked, carrying ``parameters`` (``commonEventObject.parameters``);
    or ``open_url``: a page opened in a new tab."""

    label: str
    function: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    open_url: str | None = None


@dataclass(frozen=True)
class AccountAction:
    """One vendor account line (issue 16's account linking fills these in): what it says,
    and the button to link or re-link it, if any."""

    vendor: str
    state: str  # "Linked as x@vendor", "Not linked", "Link expired"...
    button: ActionLink | None = None


def text(value: str | None) -> str:
    """Plain text made safe for Card v1's HTML subset."""
    return escape(value or "", quote=False)


def row(top: str, value: str, bottom: str | None = None) -> dict[str, Any]:
    decorated: dict[str, Any] = {"topLabel": top, "text": value, "wrapText": True}
    if bottom:
        decorated["bottomLabel"] = bottom
    return {"decoratedText": decorated}


def paragraph(value: str) -> dict[str, Any]:
    return {"textParagraph": {"text": value}}


def button(link: ActionLink) -> dict[str, Any]:
    if link.function is not None:
        action: dict[str, Any] = {"function": link.function, "loadIndicator": "SPINNER"}
        if link.parameters:
            action["parameters"] = [{"key": k, "value": v} for k, v in link.parameters.items()]
        return {"text": link.label, "onClick": {"action": action}}
    return {"text": link.label, "onClick": {"openLink": {"url": link.open_url or ""}}}


def buttons(links: Sequence[ActionLink]) -> dict[str, Any]:
    return {"buttonList": {"buttons": [button(link) for link in links]}}


def accounts_section(accounts: Sequence[AccountAction]) -> dict[str, Any] | None:
    """The "Vendor accounts" section, or None when nothing is to be shown (no vendor needs
    a user account, or linking is not wired in)."""
    if not accounts:
        return None
    widgets: list[dict[str, Any]] = []
    for account in accounts:
        widgets.append(row(text(account.vendor), text(account.state)))
        if account.button is not None:
            widgets.append(buttons([account.button]))
    return {"header": "Vendor accounts", "widgets": widgets}
