"""Conferencing systems behind one seam: ``base.ConferenceProvider`` (create, update, delete,
occurrence changes), built by ``registry.build_provider`` from a solution's settings."""
