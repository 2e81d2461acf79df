"""Validate Calendar API response bodies against the discovery document shipped in
google-api-python-client (the contract the real client is generated from).

Discovery schemas are converted to JSON Schema with ``additionalProperties: false`` on
every object that lists its properties, so an unknown field or a wrong type fails.
Reusable by any test suite: ``validate_response("calendar.events.list", body)``.
Error bodies (any method) are checked against Google's error envelope instead.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import googleapiclient
import jsonschema

_DOC = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["errors", "code", "message"],
            "properties": {
                "errors": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["domain", "reason", "message"],
                        "properties": {
                            "domain": {"type": "string"},
                            "reason": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
                "code": {"type": "integer"},
                "message": {"type": "string"},
            },
        }
    },
}


def _convert(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return {"$ref": f"#/definitions/{node['$ref']}"}
    kind = node.get("type")
    out: dict[str, Any] = {}
    if kind == "object":
        out["type"] = "object"
        if "properties" in node:
            out["properties"] = {k: _convert(v) for k, v in node["properties"].items()}
            out["additionalProperties"] = False
        if "additionalProperties" in node:
            out["additionalProperties"] = _convert(node["additionalProperties"])
    elif kind == "array":
        out["type"] = "array"
        if "items" in node:
            out["items"] = _convert(node["items"])
    elif kind == "string":
        out["type"] = "string"
        if "enum" in node:
            out["enum"] = node["enum"]
    elif kind == "integer":
        out["type"] = "integer"
    elif kind == "number":
        out["type"] = "number"
    elif kind == "boolean":
        out["type"] = "boolean"
    # "any" and untyped nodes accept anything.
    return out


@functools.cache
def _document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_DOC.read_text())
    return doc


@functools.cache
def _definitions() -> dict[str, Any]:
    return {name: _convert(schema) for name, schema in _document()["schemas"].items()}


@functools.cache
def _methods() -> dict[str, str | None]:
    """Method id -> response schema name (None when the method has no response body)."""
    found: dict[str, str | None] = {}

    def walk(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                found[method["id"]] = (method.get("response") or {}).get("$ref")
            walk(resource.get("resources", {}))

    walk(_document()["resources"])
    return found


@functools.cache
def _validator(schema_name: str) -> jsonschema.Draft7Validator:
    schema = {"$ref": f"#/definitions/{schema_name}", "definitions": _definitions()}
    return jsonschema.Draft7Validator(schema)


def validate_response(method_id: str, body: dict[str, Any] | None, status: int = 200) -> None:
    """Raise ``AssertionError`` unless ``body`` is what ``method_id`` may answer."""
    if status >= 400:
        errors = sorted(jsonschema.Draft7Validator(ERROR_SCHEMA).iter_errors(body), key=str)
        assert not errors, f"{method_id} error body: {errors[0].message}"
        return
    methods = _methods()
    assert method_id in methods, f"unknown method id {method_id}"
    schema_name = methods[method_id]
    if schema_name is None or status in (204, 304):
        assert body is None, f"{method_id} must answer without a body, got {body!r}"
        return
    assert isinstance(body, dict), f"{method_id} must answer a JSON object"
    errors = sorted(_validator(schema_name).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        path = "/".join(str(p) for p in first.absolute_path)
        raise AssertionError(f"{method_id} response invalid at '{path}': {first.message}")
