"""The Apps Script bridge on this machine: its project rendered for the local backend and run by
the Apps Script stand-in (``localgoogle.apps_script``), for ``make run`` and the tests.

``write_bridge_project(settings, base_url, out)`` writes what ``clasp push`` would upload:
``appsscript.json`` and ``Solutions.js`` rendered by ``addon.apps_script`` (as
``flask bridge-manifest --out`` does) and the hand-written ``bridge/Code.js``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from addon.apps_script import write_project
from addon.settings import Settings
from localgoogle.apps_script import BRIDGE_DIR


def write_bridge_project(settings: Settings, base_url: str, out: Path) -> Path:
    write_project(settings, base_url, out)
    shutil.copyfile(BRIDGE_DIR / "Code.js", out / "Code.js")
    return out
