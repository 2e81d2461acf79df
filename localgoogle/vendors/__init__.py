"""Fake conferencing vendors: real HTTP servers answering in each vendor's documented shapes.

``rest`` serves the generic REST contract ``addon.providers.rest`` speaks (meetings,
idempotency keys, stale-version refusals, a call log and fault injection for tests).
``daily``, ``bbb`` and ``webex`` fake Daily's rooms API, a BigBlueButton server (checksums
verified) and Webex Meetings with its integration OAuth server, in each vendor's documented
shapes; ``toolkit`` holds what they share (faults, the call log, the control routes).
"""
