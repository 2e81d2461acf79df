"""Settings: defaults run locally; bad or missing values stop start-up with a clear message."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

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


PRODUCTION = {
    "ADDON_ENV": "production",
    "ADDON_BASE_URL": "https://a.example.com",
    "ADDON_SERVICE_ACCOUNT": "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
    "ADDON_SECRET_KEY": "x" * 40,
    "ADDON_TASKS_QUEUE": "projects/p/locations/europe-west1/queues/calendar-sync",
    "ADDON_TASKS_INVOKER": "tasks-invoker@p.iam.gserviceaccount.com",
}


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"ADDON_CERTS_URL": "http://www.googleapis.com/oauth2/v1/certs"}, "ADDON_CERTS_URL"),
        ({"ADDON_CERTS_URL": "https://certs.evil.example/oauth2/v1/certs"}, "ADDON_CERTS_URL"),
        (
            {"ADDON_CALENDAR_API_ENDPOINT": "http://127.0.0.1:8090/calendar/v3/"},
            "ADDON_CALENDAR_API_ENDPOINT",
        ),
        (
            {"ADDON_CALENDAR_API_ENDPOINT": "https://calendar.evil.example/calendar/v3/"},
            "ADDON_CALENDAR_API_ENDPOINT",
        ),
    ],
)
def test_production_refuses_endpoints_that_are_not_googles(extra: dict, needle: str) -> None:
    with pytest.raises(SettingsError, match=needle) as info:
        from_env({**PRODUCTION, **extra})
    assert "ADDON_ALLOW_NON_GOOGLE_ENDPOINTS" in str(info.value)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_named_override_admits_other_endpoints_and_says_so() -> None:
    env = {
        **PRODUCTION,
        "ADDON_CERTS_URL": "https://certs.internal.example/certs",
        "ADDON_ALLOW_NON_GOOGLE_ENDPOINTS": "true",
    }
    settings = from_env(env)
    assert settings.certs_url == "https://certs.internal.example/certs"
    collect = Collect()
    logging.getLogger("addon").addHandler(collect)
    try:
        create_app(settings)
    finally:
        logging.getLogger("addon").removeHandler(collect)
    warning = [r for r in collect.records if "ADDON_ALLOW_NON_GOOGLE_ENDPOINTS" in r.getMessage()]
    assert warning and warning[0].levelname == "WARNING"
    assert "certs.internal.example" in warning[0].getMessage()


def test_production_defaults_to_googles_endpoints() -> None:
    settings = from_env(PRODUCTION)
    assert settings.certs_url == "https://www.googleapis.com/oauth2/v1/certs"
    assert settings.calendar_api_endpoint is None


def test_domain_restriction_needs_the_oauth_client_id() -> None:
    solutions = json.dumps(
        [{"id": "x", "name": "X", "provider": "jitsi", "allowedDomains": ["example.com"]}]
    )
    with pytest.raises(SettingsError, match="ADDON_OAUTH_CLIENT_ID"):
        from_env({**PRODUCTION, "ADDON_SOLUTIONS": solutions})
    ok = from_env(
        {
            **PRODUCTION,
            "ADDON_SOLUTIONS": solutions,
            "ADDON_OAUTH_CLIENT_ID": "1-abc.apps.googleusercontent.com",
        }
    )
    assert ok.oauth_client_id == "1-abc.apps.googleusercontent.com"


def test_lease_must_outlast_a_provider_calls_whole_budget() -> None:
    solutions = json.dumps(
        [
            {
                "id": "x",
                "name": "X",
                "provider": "rest",
                "options": {"base_url": "https://vendor.example", "timeout_seconds": 5},
            }
        ]
    )
    with pytest.raises(Exception, match="ADDON_LEASE_SECONDS"):
        create_app({"ADDON_SOLUTIONS": solutions, "ADDON_LEASE_SECONDS": "10"})
    create_app({"ADDON_SOLUTIONS": solutions, "ADDON_LEASE_SECONDS": "60"})


def test_every_problem_is_reported_at_once() -> None:
    """Production once needed three start-ups to learn three missing variables."""
    env = {
        "ADDON_ENV": "production",
        "ADDON_BASE_URL": "https://a.example.com",
        "ADDON_LEASE_SECONDS": "soon",
        "ADDON_VERIFY_ID_TOKENS": "maybe",
    }
    with pytest.raises(SettingsError) as info:
        from_env(env)
    named = [p.split()[0] for p in info.value.problems]
    assert named == [
        "ADDON_VERIFY_ID_TOKENS",
        "ADDON_LEASE_SECONDS",
        "ADDON_SECRET_KEY",
        "ADDON_SERVICE_ACCOUNT",
        "ADDON_TASKS_QUEUE",
        "ADDON_TASKS_INVOKER",
    ]
    report = info.value.report().splitlines()
    assert report[0] == "invalid settings (6 problems):"
    assert report[1:] == [f"  - {p}" for p in info.value.problems]


def test_every_provider_problem_is_reported_at_once() -> None:
    solutions = json.dumps(
        [
            {"id": "a", "name": "A", "provider": "carrier-pigeon"},
            {"id": "b", "name": "B", "provider": "rest", "options": {"base_url": "ftp://x"}},
        ]
    )
    with pytest.raises(SettingsError) as info:
        create_app({"ADDON_SOLUTIONS": solutions})
    first, second = info.value.problems
    assert first.startswith("ADDON_SOLUTIONS[0] ('a'): ") and "carrier-pigeon" in first
    assert second.startswith("ADDON_SOLUTIONS[1] ('b'): ") and "base_url" in second


def test_only_google_api_cores_python_version_warning_is_filtered() -> None:
    """Importing the service under ``-W error`` works (google-api-core's Python 3.11 notice is
    filtered at import), and any other FutureWarning still surfaces."""
    quiet = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import app"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    loud = subprocess.run(
        [sys.executable, "-W", "error", "-c",
         "import addon, warnings; warnings.warn('You are using a Python version (3.11', "
         "FutureWarning)"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert loud.returncode == 1 and "FutureWarning" in loud.stderr


def _vendor_solutions(oauth_base: str) -> str:
    return json.dumps([{
        "id": "zoom-meeting", "name": "Zoom", "logoUrl": "https://x.example/z.png",
        "provider": "zoom", "options": {"client_id": "c", "client_secret": "s",
                                        "oauth_base_url": oauth_base},
    }])  # fmt: skip


def test_linked_account_solutions_need_google_sign_in_and_https_vendor_endpoints() -> None:
    """Issue 16: who links an account is confirmed with Google Sign-In (the add-on's OAuth
    client), and in production the vendor's OAuth endpoints must be https."""
    from addon.services import Services

    env = {**PRODUCTION, "ADDON_SOLUTIONS": _vendor_solutions("http://zoom.example")}
    with pytest.raises(SettingsError) as info:
        Services.build(from_env(env))
    text = str(info.value)
    assert "ADDON_OAUTH_CLIENT_ID and ADDON_OAUTH_CLIENT_SECRET" in text
    assert "http://zoom.example/oauth/token must be https" in text
    env.update(
        ADDON_SOLUTIONS=_vendor_solutions("https://zoom.us"),
        ADDON_OAUTH_CLIENT_ID="1-x.apps.googleusercontent.com",
        ADDON_OAUTH_CLIENT_SECRET="secret",
    )
    assert "zoom-meeting" in Services.build(from_env(env)).providers
