"""A plain rendering of the add-on's Card v1 JSON, as Calendar's side panel shows it: the
header, each section with its header, decorated texts (top label, text, bottom label) and
text paragraphs as rows, and button lists. A button whose ``onClick.action`` names one of the
add-on's endpoints becomes a console form that clicks it through the add-on host emulator
(Google calls that URL with its ID token and the button's parameters); an ``openLink``
button becomes a link. Card text is Card v1's HTML subset: it is shown as plain text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape
from typing import Any

from localrun.console.text import ago

_TAGS = re.compile(r"<[^>]*>")


def plain(value: Any) -> str:
    return unescape(_TAGS.sub("", value)) if isinstance(value, str) else ""


@dataclass
class ButtonView:
    label: str
    function: str | None = None  # the add-on endpoint Google calls on a click
    parameters: str = "{}"  # the button's parameters, as JSON
    url: str | None = None  # an openLink button


@dataclass
class WidgetView:
    top: str = ""
    text: str = ""
    bottom: str = ""
    buttons: list[ButtonView] = field(default_factory=list)


@dataclass
class SectionView:
    header: str
    widgets: list[WidgetView] = field(default_factory=list)


@dataclass
class PanelView:
    title: str
    subtitle: str
    sections: list[SectionView]
    opened: str = ""
    notification: str | None = None


def _button(raw: Mapping[str, Any]) -> ButtonView | None:
    click = raw.get("onClick") or {}
    action = click.get("action")
    if isinstance(action, Mapping) and isinstance(action.get("function"), str):
        params = {
            str(p.get("key")): str(p.get("value"))
            for p in action.get("parameters") or ()
            if isinstance(p, Mapping)
        }
        return ButtonView(plain(raw.get("text")), action["function"], json.dumps(params))
    url = (click.get("openLink") or {}).get("url")
    if isinstance(url, str):
        return ButtonView(plain(raw.get("text")), url=url)
    return None


def panel_view(
    card: Mapping[str, Any], opened: datetime, now: datetime, notification: str | None = None
) -> PanelView:
    header = card.get("header") or {}
    sections = []
    for raw in card.get("sections") or ():
        section = SectionView(plain(raw.get("header")))
        for widget in raw.get("widgets") or ():
            if "decoratedText" in widget:
                d = widget["decoratedText"]
                section.widgets.append(
                    WidgetView(
                        plain(d.get("topLabel")), plain(d.get("text")), plain(d.get("bottomLabel"))
                    )
                )
            elif "textParagraph" in widget:
                section.widgets.append(WidgetView(text=plain(widget["textParagraph"].get("text"))))
            elif "buttonList" in widget:
                found = [_button(b) for b in widget["buttonList"].get("buttons") or ()]
                section.widgets.append(WidgetView(buttons=[b for b in found if b is not None]))
        sections.append(section)
    return PanelView(
        title=plain(header.get("title")),
        subtitle=plain(header.get("subtitle")),
        sections=sections,
        opened=f"opened {ago(opened, now)}",
        notification=notification,
    )
