"""Every limit of SPEC.md §3 at the limit (accepted) and one over (MarkupError), and the shapes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest

from addon.markup import (
    MAX_NOTE,
    MarkupError,
    conference_data_markup,
    create_conference_response,
    error_markup,
    notification_response,
    requesting_scopes_response,
    settings_url_response,
    truncate_html,
)
from addon.providers.base import EntryPoint, EntryPointType, Meeting

SOLUTION = "standard"
VIDEO = EntryPoint(type="video", uri="https://meet.example/abc", label="meet.example/abc")
PHONE = EntryPoint(type="phone", uri="tel:+15550100", pin="1234", region_code="US")


def _markup(*entries: EntryPoint, meeting_id: str = "m-1", **kwargs: Any) -> dict[str, Any]:
    meeting = Meeting(meeting_id=meeting_id, entry_points=entries or (VIDEO,))
    return conference_data_markup(meeting, conference_solution_id=SOLUTION, **kwargs)


def _error_field(call: Callable[[], object]) -> str:
    with pytest.raises(MarkupError) as info:
        call()
    return info.value.field


def test_full_shape() -> None:
    more = EntryPoint(type="more", uri="https://meet.example/abc/dial")
    sip = EntryPoint(type="sip", uri="sip:abc@meet.example", meeting_code="abc")
    tollfree = dataclasses.replace(PHONE, uri="tel:+18005550100", features=("TOLL_FREE",))
    markup = _markup(VIDEO, PHONE, tollfree, sip, more, parameters={"v": "1"}, note="<b>Hi</b>")
    assert markup == {
        "conferenceId": "m-1",
        "conferenceSolutionId": SOLUTION,
        "entryPoints": [
            {"type": "VIDEO", "uri": "https://meet.example/abc", "label": "meet.example/abc"},
            {"type": "PHONE", "uri": "tel:+15550100", "pin": "1234", "regionCode": "US"},
            {
                "type": "PHONE",
                "uri": "tel:+18005550100",
                "pin": "1234",
                "regionCode": "US",
                "features": ["TOLL_FREE"],
            },
            {"type": "SIP", "uri": "sip:abc@meet.example", "meetingCode": "abc"},
            {"type": "MORE", "uri": "https://meet.example/abc/dial"},
        ],
        "parameters": [{"key": "v", "value": "1"}],
        "note": "<b>Hi</b>",
    }


def test_note_argument_replaces_meeting_note_and_empty_parts_are_left_out() -> None:
    meeting = Meeting("m-1", (VIDEO,), note="from provider")
    assert conference_data_markup(meeting, conference_solution_id=SOLUTION)["note"] == (
        "from provider"
    )
    markup = conference_data_markup(meeting, conference_solution_id=SOLUTION, note="ours")
    assert markup["note"] == "ours"
    assert set(_markup()) == {"conferenceId", "conferenceSolutionId", "entryPoints"}


def test_conference_id_limit() -> None:
    assert _markup(meeting_id="x" * 512)["conferenceId"] == "x" * 512
    assert _error_field(lambda: _markup(meeting_id="x" * 513)) == "conferenceId"
    assert _error_field(lambda: _markup(meeting_id="")) == "conferenceId"


def test_solution_id_required() -> None:
    meeting = Meeting("m", (VIDEO,))
    with pytest.raises(MarkupError) as info:
        conference_data_markup(meeting, conference_solution_id="")
    assert info.value.field == "conferenceSolutionId"


def test_entry_point_count_limit() -> None:
    phones = [dataclasses.replace(PHONE, uri=f"tel:+1555{i:07d}") for i in range(299)]
    assert len(_markup(VIDEO, *phones)["entryPoints"]) == 300
    extra = dataclasses.replace(PHONE, uri="tel:+15559999999")
    assert _error_field(lambda: _markup(VIDEO, *phones, extra)) == "entryPoints"


def test_no_entry_point() -> None:
    meeting = Meeting("m", ())
    with pytest.raises(MarkupError) as info:
        conference_data_markup(meeting, conference_solution_id=SOLUTION)
    assert info.value.field == "entryPoints"


def test_parameter_count_limit() -> None:
    params = {f"k{i}": "v" for i in range(300)}
    assert len(_markup(parameters=params)["parameters"]) == 300
    params["k300"] = "v"
    assert _error_field(lambda: _markup(parameters=params)) == "parameters"


def test_parameter_key_limit() -> None:
    assert _markup(parameters={"k" * 50: "v"})["parameters"][0]["key"] == "k" * 50
    assert _error_field(lambda: _markup(parameters={"k" * 51: "v"})).endswith(".key")
    assert _error_field(lambda: _markup(parameters={"": "v"})).endswith(".key")


def test_parameter_value_limit() -> None:
    assert _markup(parameters={"k": "v" * 1024})["parameters"][0]["value"] == "v" * 1024
    assert _error_field(lambda: _markup(parameters={"k": "v" * 1025})) == "parameters['k'].value"
    assert _error_field(lambda: _markup(parameters={"k": 5})) == "parameters['k'].value"


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [("video", "https://h.example/"), ("more", "https://h.example/"), ("phone", "tel:+1"),
     ("sip", "sip:a@")],
)  # fmt: skip
def test_uri_limit(kind: EntryPointType, prefix: str) -> None:
    at_limit = prefix + "1" * (1300 - len(prefix))
    entries = (VIDEO,) if kind == "more" else ()
    assert _markup(*entries, EntryPoint(type=kind, uri=at_limit))
    field = _error_field(lambda: _markup(*entries, EntryPoint(type=kind, uri=at_limit + "1")))
    assert field.endswith(".uri")


@pytest.mark.parametrize(
    ("kind", "uri"),
    [
        ("video", "tel:+15550100"),
        ("video", "ftp://h.example/x"),
        ("video", "https://"),
        ("video", "javascript:alert(1)"),
        ("video", ""),
        ("phone", "https://h.example/"),
        ("phone", "tel:"),
        ("phone", "+15550100"),
        ("sip", "https://h.example/"),
        ("sip", "sip:"),
        ("more", "sip:a@b"),
    ],
)
def test_uri_scheme_rules(kind: EntryPointType, uri: str) -> None:
    entries = (VIDEO,) if kind == "more" else ()
    assert _error_field(lambda: _markup(*entries, EntryPoint(type=kind, uri=uri))).endswith(".uri")


@pytest.mark.parametrize(
    ("kind", "uri"),
    [("video", "HTTP://h.example/x"), ("video", "http://h.example"), ("sip", "sips:a@b")],
)
def test_uri_schemes_accepted(kind: EntryPointType, uri: str) -> None:
    assert _markup(EntryPoint(type=kind, uri=uri))["entryPoints"][0]["uri"] == uri


def test_label_limit() -> None:
    assert _markup(dataclasses.replace(VIDEO, label="l" * 512))
    assert _error_field(lambda: _markup(dataclasses.replace(VIDEO, label="l" * 513))) == (
        "entryPoints[0].label"
    )


@pytest.mark.parametrize(
    ("attribute", "name"),
    [
        ("meeting_code", "meetingCode"),
        ("access_code", "accessCode"),
        ("passcode", "passcode"),
        ("password", "password"),
        ("pin", "pin"),
    ],
)
def test_code_limits(attribute: str, name: str) -> None:
    at_limit: dict[str, Any] = {attribute: "9" * 128}
    ok = _markup(dataclasses.replace(PHONE, **at_limit))
    assert ok["entryPoints"][0][name] == "9" * 128
    one_over: dict[str, Any] = {attribute: "9" * 129}
    over = dataclasses.replace(PHONE, **one_over)
    assert _error_field(lambda: _markup(over)) == f"entryPoints[0].{name}"


def test_region_code_only_on_phone_and_well_formed() -> None:
    assert _error_field(lambda: _markup(dataclasses.replace(VIDEO, region_code="US"))) == (
        "entryPoints[0].regionCode"
    )
    assert _error_field(lambda: _markup(dataclasses.replace(PHONE, region_code="usa"))) == (
        "entryPoints[0].regionCode"
    )


def test_features_only_on_phone_and_valid() -> None:
    both = dataclasses.replace(PHONE, features=("TOLL", "TOLL_FREE"))
    assert _markup(both)["entryPoints"][0]["features"] == ["TOLL", "TOLL_FREE"]
    on_video = dataclasses.replace(VIDEO, features=("TOLL",))
    assert _error_field(lambda: _markup(on_video)) == "entryPoints[0].features"
    twice = dataclasses.replace(PHONE, features=("TOLL", "TOLL"))
    assert _error_field(lambda: _markup(twice)) == "entryPoints[0].features"
    bogus = dataclasses.replace(PHONE, features=("FREE",))  # type: ignore[arg-type]
    assert _error_field(lambda: _markup(bogus)) == "entryPoints[0].features"


def test_unknown_entry_point_type() -> None:
    bogus = EntryPoint(type="fax", uri="tel:+1")  # type: ignore[arg-type]
    assert _error_field(lambda: _markup(bogus)) == "entryPoints[0].type"


@pytest.mark.parametrize(
    "entry",
    [
        dataclasses.replace(VIDEO, uri="https://other.example/"),
        EntryPoint(type="sip", uri="sip:a@b"),
        EntryPoint(type="more", uri="https://m.example/"),
    ],
)
def test_at_most_one_video_sip_more(entry: EntryPoint) -> None:
    assert _markup(PHONE, entry)
    assert _error_field(lambda: _markup(PHONE, entry, entry)) == "entryPoints"


def test_any_number_of_phones_and_more_with_phone_only() -> None:
    phones = [dataclasses.replace(PHONE, uri=f"tel:+1555000{i}") for i in range(5)]
    more = EntryPoint(type="more", uri="https://m.example/")
    assert len(_markup(*phones, more)["entryPoints"]) == 6


def test_more_alone_is_invalid() -> None:
    more = EntryPoint(type="more", uri="https://m.example/")
    assert _error_field(lambda: _markup(more)) == "entryPoints"


def test_note_at_limit_is_kept_and_over_limit_is_truncated() -> None:
    at_limit = "n" * MAX_NOTE
    assert _markup(note=at_limit)["note"] == at_limit
    truncated = _markup(note=at_limit + "n")["note"]
    assert len(truncated) == MAX_NOTE
    assert truncated.endswith("…")


def test_truncate_html_never_cuts_tags_or_entities_and_closes_elements() -> None:
    html = (
        "<p>Join <b>here</b> &amp; <a href='https://x.example/long'>dial " + "x" * 50 + "</a></p>"
    )
    for limit in range(12, len(html)):
        out = truncate_html(html, limit)
        assert len(out) <= limit
        assert out.endswith(("…", "</a>", "</b>", "</p>"))
        assert re.search(r"<[^>]*$", out.replace("…", "")) is None  # no half tag
        assert re.search(r"&[a-z]*…", out) is None  # no half entity
        opened = re.findall(r"<(p|b|a)[\s>]", out)
        closed = re.findall(r"</(p|b|a)>", out)
        assert sorted(opened) == sorted(closed)
    assert truncate_html(html, len(html)) == html


def test_truncate_html_keeps_void_tags_unclosed() -> None:
    out = truncate_html("a<br>b<br/>" + "c" * 100, 20)
    assert out == "a<br>b<br/>" + "c" * 8 + "…"


def test_error_markup_types() -> None:
    for kind in ("UNKNOWN", "TEMPORARY", "PERMANENT", "PERMISSION_DENIED"):
        assert error_markup(kind, SOLUTION) == {
            "conferenceSolutionId": SOLUTION,
            "error": {"type": kind},
        }
    assert error_markup("CONFERENCE_SOLUTION_FORBIDDEN", SOLUTION)["error"] == {
        "type": "CONFERENCE_SOLUTION_FORBIDDEN"
    }
    assert _error_field(lambda: error_markup("NOPE", SOLUTION)) == "error.type"  # type: ignore[arg-type]


def test_error_markup_authentication_url() -> None:
    url = "https://vendor.example/link?" + "q" * (1300 - 28)
    assert len(url) == 1300
    markup = error_markup("AUTHENTICATION", SOLUTION, authentication_url=url)
    assert markup["error"] == {"type": "AUTHENTICATION", "authenticationUrl": url}
    field = "error.authenticationUrl"
    assert _error_field(lambda: error_markup("AUTHENTICATION", SOLUTION, url + "q")) == field
    assert _error_field(lambda: error_markup("AUTHENTICATION", SOLUTION)) == field
    assert _error_field(lambda: error_markup("AUTHENTICATION", SOLUTION, "tel:+1")) == field
    assert _error_field(lambda: error_markup("TEMPORARY", SOLUTION, "https://x.example")) == field


def test_create_conference_response_shape() -> None:
    data = _markup()
    assert create_conference_response(data, "cal@example.com") == {
        "renderActions": {
            "hostAppAction": {
                "calendarAction": {
                    "createConferenceDataActionMarkup": {"createConferenceData": data},
                    "calendarSubscriptionActionMarkup": {
                        "operation": "CREATE",
                        "calendarId": "cal@example.com",
                    },
                }
            }
        }
    }
    without = create_conference_response(data, None)
    assert without["renderActions"]["hostAppAction"]["calendarAction"] == {
        "createConferenceDataActionMarkup": {"createConferenceData": data}
    }


def test_settings_url_response() -> None:
    assert settings_url_response("https://addon.example/settings") == {
        "renderActions": {
            "hostAppAction": {
                "calendarAction": {
                    "createConferenceSettingUrlActionMarkup": {
                        "settingsUrl": "https://addon.example/settings"
                    }
                }
            }
        }
    }
    assert _error_field(lambda: settings_url_response("javascript:x")) == "settingsUrl"


def test_requesting_scopes_response() -> None:
    scope = "https://www.googleapis.com/auth/calendar.events"
    assert requesting_scopes_response([scope, scope]) == {
        "requesting_google_scopes": {"scopes": [scope]}
    }
    with pytest.raises(MarkupError):
        requesting_scopes_response([])


def test_notification_response() -> None:
    assert notification_response("Saved") == {
        "renderActions": {"action": {"notification": {"text": "Saved"}}}
    }
    with pytest.raises(MarkupError):
        notification_response("")
