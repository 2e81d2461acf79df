"""Push channels: Calendar tells us when a calendar changed, deletions included.

``calendarNotificationTrigger`` is documented to fire when an event is "created or updated";
a deletion, the one change whose meeting must go, may never reach us that way. For every
calendar whose stored credentials we hold (``addon.credentials``), the add-on therefore opens
an ``events.watch`` channel (developers.google.com/workspace/calendar/api/guides/push):

* ``tokens`` — the channel token: an HMAC of the channel id under a key derived from
  ``ADDON_SECRET_KEY``, so a notification proves it is for a channel we opened;
* ``schedule`` — when a channel is renewed: ahead of its expiry, jittered so calendars
  subscribed together do not all renew in the same minute;
* ``lifecycle`` — opening (renewing) and stopping channels, as Cloud Tasks tasks;
* ``notifications`` — what a notification does: checked against the stored channel, answered
  at once, and turned into the calendar's debounced sync task.
"""
