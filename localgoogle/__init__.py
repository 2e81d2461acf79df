"""The local Google: everything that plays Google or a conferencing vendor on this machine.

Never shipped, never imported by ``addon`` (an import-linter contract in ``make test``
enforces both directions). The doubles know only what a real client of Google would know:
nothing here imports ``addon``, so the add-on cannot pass its tests by sharing code with them.

* ``calendar`` — the Calendar API v3 emulator (events, sync tokens, recurrence, push
  channels, invitations, faults) and its control API ``/_emulator/``; the unmodified
  google-api-python-client talks to it;
* ``addon_host`` — Google Calendar as the caller of an HTTP add-on: installs a deployment,
  signs ID tokens, publishes certs, calls onCreate and the event-change triggers;
* ``vendors`` — conferencing systems the add-on's providers speak to (``vendors.rest``);
* ``tasks`` — Cloud Tasks v2 for the unmodified google-cloud-tasks client (``/v2/``);
* ``oauth`` — Google's OAuth 2.0 endpoints (consent page, ``/token``, ``/revoke``) and IAM
  Credentials ``signBlob``/``signJwt``, for the unmodified google-auth and
  google-auth-oauthlib; access tokens it issues are honoured by the Calendar emulator;
* ``app.create_emulator_app`` — all of them as one app; ``python -m localgoogle``
  serves it; ``server.serve`` serves any app on a free port (tests, tools);
* ``datastore_emulator`` — starts and stops gcloud's real Datastore emulator.
"""
