"""BENCHMARK ONLY: the product app plus ``POST /bench/ceiling``, a bare endpoint that does one
Datastore write and nothing else (no ID-token check, no provider, no Calendar call).

Served by gunicorn as ``bench.ceiling_app:app`` next to the real endpoints, it measures the
stack's ceiling (gunicorn + Flask + one Datastore round trip) on the same machine, so conference
creation can be reported as a ratio of it. Never deployed: the product's entry point is
``app:app``.
"""

from __future__ import annotations

import uuid

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from addon import create_app
from addon.services import Services

CEILING_KIND = "BenchCeiling"


def create_ceiling_app() -> Flask:
    app = create_app()

    @app.post("/bench/ceiling")
    def ceiling() -> ResponseReturnValue:
        from google.cloud import datastore

        svc: Services = app.extensions["addon"]
        client = svc.store._client  # the same Datastore client the product uses
        entity = datastore.Entity(client.key(CEILING_KIND, uuid.uuid4().hex))
        entity.update({"n": 1})
        client.put(entity)
        return jsonify({"ok": True})

    return app


app = create_ceiling_app()
