"""The offline-sync panel: how the add-on reads this calendar when no trigger brings a token
(offline consent, domain-wide delegation), its push channel, and the add-on's home card as
Calendar's side panel would show it (a plain rendering of its Card v1 JSON)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from addon.store.channels import ChannelRecord
from addon.store.grants import OfflineGrant
from addon.store.records import CalendarState
from localrun.console.text import ago

_TAGS = re.compile(r"<[^>]*>")


@dataclass
class CardView:
    title: str
    subtitle: str | None
    opened: str = ""  # when it was opened, in words
    # (top label, text, bottom label) of each decorated text; paragraphs as (text,) rows.
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, url)


@dataclass
class OfflineView:
    consent: str
    access: str | None
    channel: str | None
    channels_at_calendar: int
    notify_deletions: bool
    card: CardView | None = None


def _text(value: Any) -> str:
    return _TAGS.sub("", value) if isinstance(value, str) else ""


def card_view(card: Mapping[str, Any]) -> CardView:
    header = card.get("header") or {}
    view = CardView(_text(header.get("title")), _text(header.get("subtitle")) or None)
    for section in card.get("sections") or ():
        for widget in section.get("widgets") or ():
            if "decoratedText" in widget:
                d = widget["decoratedText"]
                view.rows.append(
                    (_text(d.get("topLabel")), _text(d.get("text")), _text(d.get("bottomLabel")))
                )
            elif "textParagraph" in widget:
                view.rows.append(("", _text(widget["textParagraph"].get("text")), ""))
            for button in (widget.get("buttonList") or {}).get("buttons") or ():
                url = ((button.get("onClick") or {}).get("openLink") or {}).get("url")
                if isinstance(url, str):
                    view.buttons.append((_text(button.get("text")), url))
    return view


def consent_line(state: CalendarState | None, grant: OfflineGrant | None) -> str:
    if state is None or state.sync_user_id is None:
        return "no verified user syncs this calendar yet (the first pick sets one)"
    who = state.sync_user_email or "its user"
    if grant is None:
        return f"off for {who}"
    if grant.usable:
        return f"on for {who}"
    return f"needs {who}'s consent again ({grant.reason or 'refused'})"


def channel_line(record: ChannelRecord | None, now: datetime) -> str | None:
    if record is None or record.expires_at is None:
        return None
    renew = f" · renews {record.renew_at:%a %H:%M:%S}" if record.renew_at else ""
    return f"live · expires {record.expires_at:%a %H:%M:%S}{renew}"


def offline_view(
    state: CalendarState | None,
    grant: OfflineGrant | None,
    channel: ChannelRecord | None,
    channels_at_calendar: int,
    notify_deletions: bool,
    card: tuple[Mapping[str, Any], datetime] | None,
    now: datetime,
) -> OfflineView:
    view = None
    if card is not None:
        view = card_view(card[0])
        view.opened = f"as opened {ago(card[1], now)}"
    return OfflineView(
        consent=consent_line(state, grant),
        access=state.access if state else None,
        channel=channel_line(channel, now),
        channels_at_calendar=channels_at_calendar,
        notify_deletions=notify_deletions,
        card=view,
    )
