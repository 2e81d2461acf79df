"""Which OAuth scopes each Calendar API method accepts.

The lists are the ``scopes`` of each method in the discovery document that ships with
google-api-python-client (the contract Google generates its clients from): a token whose
scopes meet none of them gets 403 ``insufficientPermissions``, as Google answers. Only the
method is checked: the narrowing of ``calendar.app.created`` and ``calendar.events.owned``
to what the app created or the user owns is not emulated (those scopes allow the method on
any calendar here).

Public names: ``method_scopes()``, ``allows(method_id, granted)``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

_DOCUMENT = ("discovery_cache", "documents", "calendar.v3.json")


@functools.cache
def method_scopes() -> dict[str, frozenset[str]]:
    """``{"calendar.events.list": frozenset({...}), ...}`` read once from the document."""
    path = resources.files("googleapiclient").joinpath(*_DOCUMENT)
    document = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, frozenset[str]] = {}

    def walk(node: dict[str, Any]) -> None:
        for method in node.get("methods", {}).values():
            found[method["id"]] = frozenset(method.get("scopes", ()))
        for child in node.get("resources", {}).values():
            walk(child)

    walk(document)
    return found


def allows(method_id: str, granted: frozenset[str]) -> bool:
    """True when ``granted`` holds a scope the method accepts (unknown methods: True, so
    that they reach their own 404)."""
    accepted = method_scopes().get(method_id)
    return accepted is None or bool(accepted & granted)
