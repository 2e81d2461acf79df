"""Partial responses: the ``fields`` parameter every Google API accepts.

Google's syntax (developers.google.com/workspace/calendar/api/guides/performance#partial):
a comma-separated list of selections; ``a/b`` selects ``b`` inside ``a``; ``a(b,c)`` selects
``b`` and ``c`` inside ``a``; ``*`` selects every field at its level. A selection inside an
array applies to each element. A malformed expression is a 400, as Google answers it.
"""

from __future__ import annotations

from typing import Any

from localgoogle.calendar import exceptions as exc

# name -> what to keep inside it (None: all of it).
Selection = dict[str, "Selection | None"]


def parse_fields(expression: str) -> Selection:
    tree, rest = _parse_list(expression.replace(" ", ""), 0)
    if rest != len(expression.replace(" ", "")):
        raise _invalid(expression)
    if not tree:
        raise _invalid(expression)
    return tree


def select(value: Any, tree: Selection | None) -> Any:
    """``value`` with only the selected fields."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [select(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in tree:
            out[key] = select(item, tree[key])
        elif "*" in tree:
            out[key] = select(item, tree["*"])
    return out


def _parse_list(text: str, at: int) -> tuple[Selection, int]:
    tree: Selection = {}
    while at < len(text) and text[at] != ")":
        at = _parse_selection(text, at, tree)
        if at < len(text) and text[at] == ",":
            at += 1
            if at >= len(text) or text[at] in ",)":
                raise _invalid(text)
    return tree, at


def _parse_selection(text: str, at: int, tree: Selection) -> int:
    start = at
    while at < len(text) and text[at] not in ",()":
        at += 1
    path = text[start:at].split("/")
    if not path or any(not p for p in path):
        raise _invalid(text)
    sub: Selection | None = None
    if at < len(text) and text[at] == "(":
        sub, at = _parse_list(text, at + 1)
        if at >= len(text) or text[at] != ")" or not sub:
            raise _invalid(text)
        at += 1
    node = tree
    for name in path[:-1]:
        child = node.get(name)
        if child is None:
            if name in node:
                return at  # already selected whole
            child = node[name] = {}
        node = child
    last = path[-1]
    if last in node and (node[last] is None or sub is None):
        node[last] = None  # the whole field wins over parts of it
    elif last in node and sub is not None:
        existing = node[last]
        assert existing is not None
        existing.update(sub)
    else:
        node[last] = sub
    return at


def _invalid(expression: str) -> exc.ApiError:
    return exc.bad_request(f"Invalid field selection {expression}", "invalidParameter")
