"""The store: every read and write of durable state, on Cloud Datastore.

Entity layout (one entity group per calendar, so a calendar's records are read strongly
consistently with ancestor queries and updated together in transactions):

* ``Calendar``   key ``(Calendar, calendar_id)``: sync state, lease, subscription.
* ``Conference`` key ``(Calendar, calendar_id, Conference, event_id)``: one event's meeting.
* ``Pending``    key ``(Calendar, calendar_id, Pending, event_id)``: a change to replay, or
  one parked as needing attention.
* ``SyncRun``    key ``(Calendar, calendar_id, SyncRun, <time>)``: recent run reports.
* ``OfflineGrant`` / ``ConsentFlow`` (``grants``): users' offline consent, consent under way.
* ``Channel``    key ``(Channel, channel_id)`` (``channels``): the push channels we opened.
* ``UserPreferences`` key ``(UserPreferences, sub)`` (``preferences``): a user's settings.
* ``VendorLink`` / ``LinkFlow`` (``links``): users' linked vendor accounts, linking under way.

Writes made by a sync go through ``commit_batch``: one transaction per chunk that first
checks the writer still holds the calendar's lease (**fencing**: a process that lost its lease
while it stalled cannot land a late write) and writes each record only if it is still at the
version the sync read (**compare-and-set**: a creation that replaced the record meanwhile
wins) and never over a record made from a newer event version.

``Store`` is one object for its callers, assembled from one part per responsibility:
``base`` (client, keys, retried transactions), ``calendars`` (calendar state and the lease),
``conferences`` (per-event records and the fenced batch commit), ``history`` (sync runs),
``grants`` (offline consent), ``channels`` (push channels), ``preferences`` (users' settings),
``links`` (vendor accounts), ``overview`` (the operators' status page).
Property names live in ``addon.store.entities``.
"""

from __future__ import annotations

from addon.store.channels import ChannelRecords
from addon.store.conferences import BatchResult, ConferenceRecords
from addon.store.grants import GrantRecords
from addon.store.history import SyncHistory
from addon.store.links import LinkRecords
from addon.store.overview import OverviewQueries
from addon.store.preferences import PreferenceRecords

__all__ = ["BatchResult", "Store"]


class Store(
    ChannelRecords,
    ConferenceRecords,
    SyncHistory,
    GrantRecords,
    PreferenceRecords,
    OverviewQueries,
    LinkRecords,
):
    """Datastore-backed state of the add-on (see the module docstring). ``ChannelRecords``
    extends ``CalendarRecords``: a channel swap writes the calendar state in one transaction."""
