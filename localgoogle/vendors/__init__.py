"""Fake conferencing vendors: real HTTP servers answering in each vendor's documented shapes.

``rest`` serves the generic REST contract ``addon.providers.rest`` speaks (meetings,
idempotency keys, stale-version refusals, a call log and fault injection for tests).
``daily``, ``bbb`` and ``webex`` fake Daily's rooms API, a BigBlueButton server (checksums
verified) and Webex Meetings with its integration OAuth server, in each vendor's documented
shapes; ``zoom`` and ``graph`` fake Zoom and Microsoft Graph acting as a user, on the
authorization server of ``oauth``. ``toolkit`` holds what every fake shares (faults, the call
log, the control routes, JSON answers, the app serving one fake alone).
"""
