"""The status page's settings: never offered unprotected, every problem named."""

from __future__ import annotations

import pytest

from addon.settings import SettingsError, from_env


def test_no_one_named_means_no_status_page() -> None:
    assert not from_env({}).status_page


def test_admins_and_domain_are_read_lower_cased() -> None:
    env = {
        "ADDON_STATUS_ADMINS": "Ops@Example.com, admin@example.com",
        "ADDON_STATUS_DOMAIN": "Example.com",
        "ADDON_OAUTH_CLIENT_ID": "1-x.apps.googleusercontent.com",
        "ADDON_OAUTH_CLIENT_SECRET": "s",
    }
    settings = from_env(env)
    assert settings.status_admins == ("ops@example.com", "admin@example.com")
    assert settings.status_domain == "example.com" and settings.status_page


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"ADDON_STATUS_ADMINS": "ops@example.com"}, "need Google Sign-In"),
        ({"ADDON_STATUS_DOMAIN": "example.com"}, "need Google Sign-In"),
        ({"ADDON_STATUS_ADMINS": "not-an-address"}, "must list e-mail addresses"),
        ({"ADDON_STATUS_DOMAIN": "@example"}, "must be a Workspace domain"),
        ({"ADDON_STATUS_IAP_AUDIENCE": "my-service"}, "must be IAP's audience"),
    ],
)
def test_an_unprotected_or_malformed_status_page_is_refused(env: dict, needle: str) -> None:
    with pytest.raises(SettingsError) as refused:
        from_env(env)
    assert needle in str(refused.value)


def test_iap_alone_protects_it() -> None:
    settings = from_env({"ADDON_STATUS_IAP_AUDIENCE": "/projects/123/global/backendServices/456"})
    assert settings.status_page and not settings.status_admins
