"""Proto3 JSON values as the Cloud Tasks REST API sends and accepts them.

The Python client serialises requests with ``json_format.MessageToJson(...,
use_integers_for_enums=True)``: enums come as integers (other clients send names; both are
accepted), Durations as ``"3.500s"``, Timestamps as RFC 3339 with up to nine fractional digits,
``bytes`` as base64. Answers use enum names, Durations like ``"10s"``/``"0.100s"`` and
Timestamps in UTC with ``Z``, as Google's JSON does. Times are ``float`` epoch seconds here,
truncated to the microsecond (Cloud Tasks truncates ``scheduleTime`` to the microsecond too).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import re
from datetime import UTC, datetime
from typing import Any

from localgoogle.tasks.errors import invalid

HTTP_METHODS = (
    "HTTP_METHOD_UNSPECIFIED",
    "POST",
    "GET",
    "HEAD",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
)
TASK_VIEWS = ("VIEW_UNSPECIFIED", "BASIC", "FULL")
QUEUE_STATES = ("STATE_UNSPECIFIED", "RUNNING", "PAUSED", "DISABLED")

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)
_DURATION = re.compile(r"^(-)?(\d+)(?:\.(\d{1,9}))?s$")


def parse_timestamp(value: object, field: str) -> float:
    match = _TIMESTAMP.match(value) if isinstance(value, str) else None
    if match is None:
        raise invalid(
            f"Invalid value at '{field}' (type.googleapis.com/google.protobuf.Timestamp)"
            f", Field '{field}', Illegal timestamp format: {value!r}"
        )
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micros = int((match.group(7) or "").ljust(6, "0")[:6])
    seconds = calendar.timegm((year, month, day, hour, minute, second))
    zone = match.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds + micros / 1_000_000


def format_timestamp(seconds: float) -> str:
    """RFC 3339 in UTC; 0, 3 or 6 fractional digits, as protobuf's JSON printer writes them."""
    micros = round(seconds * 1_000_000)
    whole, fraction = divmod(micros, 1_000_000)
    text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction == 0:
        return text + "Z"
    if fraction % 1000 == 0:
        return f"{text}.{fraction // 1000:03d}Z"
    return f"{text}.{fraction:06d}Z"


def parse_duration(value: object, field: str) -> float:
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise invalid(
            f"Invalid value at '{field}' (type.googleapis.com/google.protobuf.Duration)"
            f", Field '{field}', Illegal duration format; duration must end with 's'"
        )
    nanos = int((match.group(3) or "").ljust(9, "0"))
    seconds = int(match.group(2)) + nanos / 1_000_000_000
    return -seconds if match.group(1) else seconds


def format_duration(seconds: float) -> str:
    """``"10s"``, ``"0.100s"``, ``"3.500001s"`` (millisecond or microsecond precision)."""
    micros = round(seconds * 1_000_000)
    whole, fraction = divmod(micros, 1_000_000)
    if fraction == 0:
        return f"{whole}s"
    if fraction % 1000 == 0:
        return f"{whole}.{fraction // 1000:03d}s"
    return f"{whole}.{fraction:06d}s"


def parse_enum(value: object, names: tuple[str, ...], field: str) -> str:
    """An enum given as its number or its name, returned as its name."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str) and value in names:
        return value
    raise invalid(f"Invalid value at '{field}' ({value!r}): not a valid enum value")


def parse_bytes(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise invalid(f"Invalid value at '{field}' (TYPE_BYTES), {value!r}")
    try:
        padded = value + "=" * (-len(value) % 4)
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as error:
        raise invalid(f"Invalid value at '{field}' (TYPE_BYTES), Base64 decoding failed") from error


def format_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode()


def parse_int(value: object, field: str) -> int:
    """int32 fields: JSON numbers, or strings of digits (proto3 JSON allows both)."""
    if isinstance(value, bool):
        raise invalid(f"Invalid value at '{field}' (TYPE_INT32), {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise invalid(f"Invalid value at '{field}' (TYPE_INT32), {value!r}")


def parse_float(value: object, field: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise invalid(f"Invalid value at '{field}' (TYPE_DOUBLE), {value!r}")


def parse_string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise invalid(f"Invalid value at '{field}' (TYPE_STRING), {value!r}")
    return value


def message(value: object, field: str, allowed: frozenset[str]) -> dict[str, Any]:
    """A JSON object for a proto message; unknown keys are rejected as Google's ESF does."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid value at '{field}': expected an object")
    for key in value:
        if key not in allowed and snake_to_camel(key) not in allowed:
            raise invalid(
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{field}': "
                "Cannot find field."
            )
    return {snake_to_camel(k): v for k, v in value.items()}


def snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def field_mask_paths(value: str | None) -> list[str] | None:
    """``updateMask`` query parameter (comma-separated, camelCase or snake_case) as camelCase."""
    if not value:
        return None
    return [
        ".".join(snake_to_camel(p) for p in path.strip().split(".")) for path in value.split(",")
    ]
