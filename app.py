"""WSGI entry point: ``gunicorn app:app`` (settings from ``ADDON_*`` environment variables)."""

from addon import create_app

app = create_app()
