"""``index.yaml`` declares every composite index our queries need: every store query is run
against the real Datastore emulator, which records the composite indexes production would need
for them (``datastore-indexes-auto.xml``); each must be in ``index.yaml``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from addon.store.datastore import Store
from addon.store.records import CalendarState, ListCursor
from localgoogle.datastore_emulator import DatastoreEmulator
from tests.test_store import _conference

pytestmark = pytest.mark.datastore

ROOT = Path(__file__).resolve().parents[1]
CAL = "alice@example.com"

Index = tuple[str, bool, tuple[tuple[str, str], ...]]


def declared() -> set[Index]:
    """``index.yaml``'s indexes (the file's own simple layout, read without a YAML library)."""
    text = (ROOT / "index.yaml").read_text()
    out: set[Index] = set()
    for block in re.split(r"^\s*- kind:", text, flags=re.M)[1:]:
        kind = block.split()[0]
        ancestor = re.search(r"ancestor:\s*(yes|no|true|false)", block)
        props = tuple(
            (name, (direction or "asc").lower().replace("ending", ""))
            for name, direction in re.findall(r"- name:\s*(\S+)(?:\s+direction:\s*(\S+))?", block)
        )
        out.add((kind, bool(ancestor and ancestor.group(1) in ("yes", "true")), props))
    return out


def test_index_yaml_covers_every_query(datastore: DatastoreEmulator) -> None:
    store = Store.connect(project=datastore.project)
    store.put_conference(_conference("ev1"))
    store.update_calendar(CAL, lambda s: s.with_(dirty=True))
    # Every query the store makes, once.
    store.live_record_ids(CAL)
    store.unconfirmed_conferences(CAL)
    store.find_by_conference_id("m-ev1")
    store.list_conferences(CAL)
    store.list_pending(CAL)
    store.due_calendars()
    store.all_calendars()
    store.recent_sync_runs(CAL)
    cursor = ListCursor(mode="full", run_id="r1", base_token=None, time_min=None)
    store.load_seen(CAL, cursor)
    store.overview()  # the status page's counts and lists
    assert isinstance(store.get_calendar(CAL), CalendarState)

    missing = datastore.auto_indexes() - declared()
    assert not missing, f"index.yaml lacks {sorted(missing)}"
