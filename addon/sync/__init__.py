"""The sync engine: from "something changed in this calendar" to meetings that match events.

* ``plan``    — pure: events seen + records stored -> a list of actions.
* ``execute`` — runs the actions against providers, Calendar and the store.
* ``engine``  — one sync run (pending replay, incremental or full listing, reconcile,
  token storage) under the per-calendar lease, repeated while triggers arrived meanwhile.
"""
