"""Add-on host simulation (placeholder until implemented): see ``register``."""

from __future__ import annotations

from flask import Flask

from addon.emulator.seams import HostCalendarAccess


def register(app: Flask, calendars: HostCalendarAccess) -> None:
    """Mount the add-on host routes on the emulator app."""
