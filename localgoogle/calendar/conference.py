"""Validation of ``conferenceData`` as Calendar applies it on writes.

Rules follow Google's entry point documentation (see SPEC §3/§4): entryPointType
video|phone|sip|more; at most one video, one sip and one more; ``more`` alone is invalid;
uri schemes per type; length limits. Violations are 400 ``invalid``.
"""

from __future__ import annotations

from typing import Any

from localgoogle.calendar.exceptions import ApiError, bad_request

_SCHEMES = {
    "video": ("http://", "https://"),
    "more": ("http://", "https://"),
    "phone": ("tel:",),
    "sip": ("sip:", "sips:"),
}
_SHORT_FIELDS = ("meetingCode", "accessCode", "passcode", "password", "pin", "regionCode")
_SINGLE = ("video", "sip", "more")


def _invalid(message: str) -> ApiError:
    return bad_request(f"Invalid conference data: {message}")


def validate_conference_data(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _invalid("conferenceData must be an object")
    points = data.get("entryPoints", [])
    if not isinstance(points, list):
        raise _invalid("entryPoints must be a list")
    counts: dict[str, int] = {}
    for point in points:
        if not isinstance(point, dict):
            raise _invalid("entry point must be an object")
        kind = point.get("entryPointType")
        if kind not in _SCHEMES:
            raise _invalid(f"unknown entryPointType {kind!r}")
        counts[kind] = counts.get(kind, 0) + 1
        uri = point.get("uri", "")
        if not isinstance(uri, str) or not uri:
            raise _invalid("entry point uri is required")
        if len(uri) > 1300:
            raise _invalid("uri longer than 1300 characters")
        if not uri.lower().startswith(_SCHEMES[kind]):
            raise _invalid(f"uri scheme not allowed for {kind}")
        label = point.get("label", "")
        if not isinstance(label, str) or len(label) > 512:
            raise _invalid("label longer than 512 characters")
        for field in _SHORT_FIELDS:
            value = point.get(field, "")
            if not isinstance(value, str) or len(value) > 128:
                raise _invalid(f"{field} longer than 128 characters")
        if "regionCode" in point and kind != "phone":
            raise _invalid("regionCode is only allowed on phone entry points")
    for kind in _SINGLE:
        if counts.get(kind, 0) > 1:
            raise _invalid(f"at most one {kind} entry point")
    if counts.get("more") and len(points) == counts["more"]:
        raise _invalid("a 'more' entry point needs another entry point")
    params = data.get("parameters", {}).get("addOnParameters", {}).get("parameters", {})
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in params.items()
    ):
        raise _invalid("addOnParameters.parameters must map strings to strings")
    return data
