"""Credentials the add-on may hold to read Calendar when no trigger brought a token.

Everything the add-on does with Calendar used to ride on the short-lived user token that comes
with a trigger. A calendar whose work is left behind (an outage, a quota, a deletion no
trigger reports) then waits for its user's next edit. These modules let a task read Calendar
on its own:

* ``offline`` — per-user offline consent: Google's OAuth 2.0 web flow (authorization code with
  PKCE, ``access_type=offline``) through google-auth-oauthlib, bound to the verified user who
  started it; the refresh token is stored sealed, refreshed with google-auth, revoked on
  request; ``invalid_grant`` drops it and marks the user as needing consent.
* ``delegation`` — domain-wide delegation for Workspace domains whose admin granted it: the
  add-on's service account impersonates the calendar's verified sync user, signing the JWT
  assertion keylessly through IAM Credentials ``signBlob`` (or with a key file, locally).
* ``access`` — the one place that decides, per calendar, what a task may use: the trigger's
  token while valid, then delegation, then the stored refresh token, else "waiting for the
  user" (which the sync state shows).
* ``links`` — signed, short-lived links to the user's own offline-sync page.
"""
