"""The ONE builder of what the add-on shows inside Calendar: Card v1 cards
(``google.apps.card.v1``) and the action responses that carry them.

* ``home``      — the homepage card: calendars and their health, offline sync, vendor accounts.
* ``event``     — the eventOpen card: the event's meeting, its last sync, what waits or is
  parked, and the "Sync now" / "New join link" buttons.
* ``responses`` — the envelopes HTTP add-ons answer with (``pushCard``, ``updateCard``,
  notifications, the settings URL markup).

Every card built here is validated in tests against the Card v1 messages of the
``google-apps-card`` package with unknown fields refused. Nothing here reads the store: views
are plain data gathered by ``addon.panel``.
"""

from addon.cards.event import (
    EventView,
    MeetingView,
    PendingView,
    SyncView,
    event_card,
    no_conference_card,
)
from addon.cards.home import (
    CalendarHealth,
    HomeView,
    OfflineState,
    home_card,
    unidentified_card,
)
from addon.cards.responses import (
    notification_response,
    push_card_response,
    settings_url_response,
    update_card_response,
)
from addon.cards.widgets import AccountAction, ActionLink

__all__ = [
    "AccountAction",
    "ActionLink",
    "CalendarHealth",
    "EventView",
    "HomeView",
    "MeetingView",
    "OfflineState",
    "PendingView",
    "SyncView",
    "event_card",
    "home_card",
    "no_conference_card",
    "notification_response",
    "push_card_response",
    "settings_url_response",
    "unidentified_card",
    "update_card_response",
]
