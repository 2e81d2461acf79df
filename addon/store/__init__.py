"""Durable state of the add-on (Cloud Datastore): conferences and per-calendar sync state."""
