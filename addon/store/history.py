"""A short history of sync runs per calendar (``SyncRun`` entities), for operators and the
local console."""

from __future__ import annotations

import json
import random
from typing import Any

from addon.store.base import DatastoreBase
from addon.store.entities import CALENDAR, SYNC_RUN

SYNC_RUNS_KEPT = 50
PRUNE_PROBABILITY = 0.1


class SyncHistory(DatastoreBase):
    # ---- sync history -------------------------------------------------------------------
    def append_sync_run(self, calendar_id: str, report: dict[str, Any]) -> None:
        """Keep a short history of sync runs per calendar (operators, the local console)."""
        from google.cloud import datastore

        now = self._clock()
        key = self._client.key(CALENDAR, calendar_id, SYNC_RUN, f"{now.timestamp():020.6f}")
        entity = datastore.Entity(key, exclude_from_indexes=("report",))
        entity.update({"at": now, "report": json.dumps(report, default=str)})
        self._retrying(lambda: self._client.put(entity))
        # Pruning needs a query; doing it on about one run in ten keeps the history near
        # SYNC_RUNS_KEPT without a query on every run.
        if random.random() < PRUNE_PROBABILITY:  # noqa: S311 - not security relevant
            old = self._sync_run_keys(calendar_id)[SYNC_RUNS_KEPT:]
            if old:
                self._client.delete_multi(old)

    def _sync_run_keys(self, calendar_id: str) -> list[Any]:
        query = self._client.query(kind=SYNC_RUN, ancestor=self._cal_key(calendar_id))
        query.keys_only()
        found = self._retrying(lambda: list(query.fetch()))
        return sorted((e.key for e in found), key=lambda k: k.name, reverse=True)

    def recent_sync_runs(self, calendar_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first: ``{"at": datetime, **report}``."""
        keys = self._sync_run_keys(calendar_id)[:limit]
        found = self._get_multi(keys) if keys else []
        entities = {e.key.name: e for e in found}
        out = []
        for key in keys:
            e = entities.get(key.name)
            if e is not None:
                out.append({"at": e["at"], **json.loads(e["report"])})
        return out
