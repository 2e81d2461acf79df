"""Fake conferencing vendors: real HTTP servers answering in each vendor's documented shapes.

``rest`` serves the generic REST contract ``addon.providers.rest`` speaks (meetings,
idempotency keys, stale-version refusals, a call log and fault injection for tests).
"""
