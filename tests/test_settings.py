"""Settings: defaults run locally; bad or missing values stop start-up with a clear message."""

from __future__ import annotations

import json

import pytest

from addon import create_app
from addon.settings import DEFAULT_SOLUTIONS, SettingsError, from_env


def test_defaults_are_local_and_offer_two_solutions() -> None:
    s = from_env({})
    assert s.env == "local" and s.verify_id_tokens
    assert [x.id for x in s.solutions] == [x.id for x in DEFAULT_SOLUTIONS]
    assert s.solutions[1].options == {"recording": True}


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"ADDON_BASE_URL": "not a url"}, "ADDON_BASE_URL"),
        ({"ADDON_VERIFY_ID_TOKENS": "maybe"}, "ADDON_VERIFY_ID_TOKENS"),
        ({"ADDON_LEASE_SECONDS": "soon"}, "ADDON_LEASE_SECONDS"),
        ({"ADDON_LEASE_SECONDS": "1"}, "at least"),
        ({"ADDON_SOLUTIONS": "[{"}, "not valid JSON"),
        ({"ADDON_SOLUTIONS": json.dumps([{"id": "a"}])}, "ADDON_SOLUTIONS[0].name"),
        ({"ADDON_SOLUTIONS": "/no/such/file.json"}, "neither a JSON list nor a file"),
        ({"ADDON_SYNC_MODE": "later"}, "ADDON_SYNC_MODE"),
        ({"ADDON_ENV": "staging"}, "ADDON_ENV"),
        (
            {"ADDON_ENV": "production", "ADDON_BASE_URL": "https://a.example.com"},
            "ADDON_SECRET_KEY",
        ),
        (
            {
                "ADDON_ENV": "production",
                "ADDON_BASE_URL": "https://a.example.com",
                "ADDON_SECRET_KEY": "x" * 40,
            },
            "ADDON_SERVICE_ACCOUNT",
        ),
        (
            {
                "ADDON_ENV": "production",
                "ADDON_BASE_URL": "https://a.example.com",
                "ADDON_SERVICE_ACCOUNT": "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
                "ADDON_SECRET_KEY": "x" * 40,
                "ADDON_VERIFY_ID_TOKENS": "false",
            },
            "refused when ADDON_ENV=production",
        ),
        (
            {
                "ADDON_ENV": "production",
                "ADDON_BASE_URL": "http://a.example.com",
                "ADDON_SERVICE_ACCOUNT": "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
                "ADDON_SECRET_KEY": "x" * 40,
            },
            "https",
        ),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle.replace("[", r"\[")):
        from_env(env)


def test_unknown_provider_stops_start_up() -> None:
    solutions = json.dumps([{"id": "x", "name": "X", "provider": "carrier-pigeon"}])
    with pytest.raises(Exception, match="carrier-pigeon"):
        create_app({"ADDON_SOLUTIONS": solutions})


def test_disabled_verification_is_loud(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app({"ADDON_VERIFY_ID_TOKENS": "false"})
    body = app.test_client().get("/healthz").get_json()
    assert body["idTokenVerification"].startswith("OFF")
