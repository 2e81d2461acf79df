"""What makes settings invalid: ``problems(settings)`` lists every problem at once (local
rules, then the stricter production ones), each naming its variable and what it expects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from addon.settings.model import (
    BRIDGE_CLIENT_ID_PATTERN,
    DELEGATION_MODES,
    GOOGLE_API_HOSTS,
    GOOGLE_API_SUFFIX,
    IAP_AUDIENCE_PATTERN,
    LOCAL_SECRET_KEY,
    LOCAL_SERVICE_ACCOUNT,
    LOCAL_TASKS_INVOKER,
    LOCAL_TASKS_QUEUE,
    MAX_SYNC_POOL,
    TASKS_QUEUE_PATTERN,
    Settings,
    SettingsError,
)


def problems(self: Settings) -> Iterator[str]:
    """Every problem with these settings, in the order the README's table lists them."""
    yield from collect(check_url, "ADDON_BASE_URL", self.base_url)
    if self.env not in ("local", "production"):
        yield "ADDON_ENV must be 'local' or 'production'"
    if self.sync_mode not in ("tasks", "inline"):
        yield "ADDON_SYNC_MODE must be 'tasks' or 'inline'"
    if not 1 <= self.sync_pool_size <= MAX_SYNC_POOL:
        yield f"ADDON_SYNC_POOL_SIZE must be between 1 and {MAX_SYNC_POOL}"
    if not TASKS_QUEUE_PATTERN.match(self.tasks_queue):
        yield (
            "ADDON_TASKS_QUEUE must be projects/PROJECT/locations/LOCATION/queues/QUEUE, "
            f"got {self.tasks_queue!r}"
        )
    if self.tasks_api_endpoint is not None:
        yield from collect(check_url, "ADDON_TASKS_API_ENDPOINT", self.tasks_api_endpoint)
    if not self.solutions:
        yield "ADDON_SOLUTIONS must name at least one conference solution"
    ids = [s.id for s in self.solutions]
    if len(set(ids)) != len(ids):
        yield "ADDON_SOLUTIONS has duplicate solution ids"
    if self.production:
        yield from _production_problems(self)
    yield from collect(self.sealing_keys)  # malformed ADDON_TOKEN_KEYS, at start-up
    if self.retry_max_seconds < self.retry_base_seconds:
        yield "ADDON_RETRY_MAX_SECONDS must be at least ADDON_RETRY_BASE_SECONDS"
    yield from _offline_problems(self)
    yield from _status_problems(self)
    if self.bridge_client_id is not None and not BRIDGE_CLIENT_ID_PATTERN.match(
        self.bridge_client_id
    ):
        yield (
            "ADDON_BRIDGE_CLIENT_ID must be the OAuth client id of the bridge's Apps Script "
            f"project (NUMBER-ID.apps.googleusercontent.com), got {self.bridge_client_id!r}"
        )


def _status_problems(self: Settings) -> Iterator[str]:
    """The operators' status page: never offered unprotected."""
    for email in self.status_admins:
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            yield f"ADDON_STATUS_ADMINS must list e-mail addresses, got {email!r}"
    if self.status_domain is not None and (
        "@" in self.status_domain or "." not in self.status_domain
    ):
        yield (
            "ADDON_STATUS_DOMAIN must be a Workspace domain (example.com), "
            f"got {self.status_domain!r}"
        )
    if self.status_iap_audience is not None and not IAP_AUDIENCE_PATTERN.match(
        self.status_iap_audience
    ):
        yield (
            "ADDON_STATUS_IAP_AUDIENCE must be IAP's audience, /projects/PROJECT_NUMBER/global/"
            "backendServices/SERVICE_ID or /projects/PROJECT_NUMBER/apps/PROJECT_ID, got "
            f"{self.status_iap_audience!r}"
        )
    signin_needed = bool(self.status_admins or self.status_domain)
    if signin_needed and not self.offline_consent and self.status_iap_audience is None:
        yield (
            "ADDON_STATUS_ADMINS / ADDON_STATUS_DOMAIN need Google Sign-In: set "
            "ADDON_OAUTH_CLIENT_ID and ADDON_OAUTH_CLIENT_SECRET (or put the service "
            "behind Identity-Aware Proxy and set ADDON_STATUS_IAP_AUDIENCE)"
        )
    if self.production and self.status_iap_audience is not None:
        yield from collect(check_url, "ADDON_STATUS_IAP_CERTS_URL", self.status_iap_certs_url)
        if not self.status_iap_certs_url.startswith("https://"):
            yield "ADDON_STATUS_IAP_CERTS_URL must be https in production"


def _offline_problems(self: Settings) -> Iterator[str]:
    """Offline sync: delegation, offline consent, push channels."""
    for name, url in (
        ("ADDON_OAUTH_AUTH_URI", self.oauth_auth_uri),
        ("ADDON_OAUTH_TOKEN_URI", self.oauth_token_uri),
        ("ADDON_OAUTH_REVOKE_URI", self.oauth_revoke_uri),
        ("ADDON_IAM_CREDENTIALS_ENDPOINT", self.iam_credentials_endpoint),
    ):
        yield from collect(check_url, name, url)
    if self.oauth_client_secret and not self.oauth_client_id:
        yield "ADDON_OAUTH_CLIENT_SECRET is set but ADDON_OAUTH_CLIENT_ID is not (one client)"
    mode = self.delegation_mode
    if mode not in DELEGATION_MODES:
        yield f"ADDON_DELEGATION must be one of {', '.join(DELEGATION_MODES)}, got {mode!r}"
    if mode == "keyless" and not self.delegation_service_account:
        yield (
            "ADDON_DELEGATION=keyless needs ADDON_DELEGATION_SERVICE_ACCOUNT: the service "
            "account whose client id the Workspace admin granted domain-wide delegation"
        )
    if mode == "keyfile" and not self.delegated_credentials_file:
        yield "ADDON_DELEGATION=keyfile needs ADDON_DELEGATED_CREDENTIALS_FILE (a key file)"
    if mode != "off" and not self.delegation_domains:
        yield (
            "ADDON_DELEGATION_DOMAINS must list the Workspace domains whose admin granted "
            "domain-wide delegation (only their users are impersonated)"
        )
    margin = self.channel_renew_before_seconds + self.channel_jitter_seconds
    if self.channel_ttl_seconds <= margin:
        yield (
            "ADDON_CHANNEL_TTL_SECONDS must exceed ADDON_CHANNEL_RENEW_BEFORE_SECONDS + "
            f"ADDON_CHANNEL_JITTER_SECONDS ({margin}), or every channel is renewed at once"
        )


def _production_problems(self: Settings) -> Iterator[str]:
    if not self.verify_id_tokens:
        yield (
            "ADDON_VERIFY_ID_TOKENS=false is refused when ADDON_ENV=production: "
            "every request must prove it comes from Google"
        )
    if urlsplit(self.base_url).scheme != "https":
        yield "ADDON_BASE_URL must be an https:// URL in production"
    if self.secret_key == LOCAL_SECRET_KEY or len(self.secret_key) < 32:
        yield (
            "ADDON_SECRET_KEY must be set in production to a random string of 32+ "
            "characters (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    if self.service_account == LOCAL_SERVICE_ACCOUNT:
        yield (
            "ADDON_SERVICE_ACCOUNT must be set in production to "
            "service-PROJECT_NUMBER@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
        )
    if not self.allow_non_google_endpoints:
        for name, url in self.google_endpoints().items():
            if url is not None and not is_google_url(url):
                yield (
                    f"{name} must be an https URL of Google (*.googleapis.com, "
                    f"accounts.google.com) in production, got "
                    f"{url!r}; set ADDON_ALLOW_NON_GOOGLE_ENDPOINTS=true only if you "
                    "really mean to trust another signer or Calendar"
                )
    if self.sync_mode == "tasks":
        if self.tasks_queue == LOCAL_TASKS_QUEUE:
            yield (
                "ADDON_TASKS_QUEUE must be set in production (tasks mode) to the queue "
                "created for the service: projects/PROJECT/locations/REGION/queues/NAME"
            )
        if self.tasks_invoker == LOCAL_TASKS_INVOKER:
            yield (
                "ADDON_TASKS_INVOKER must be set in production (tasks mode) to the "
                "service account Cloud Tasks signs its OIDC tokens as"
            )
    if any(s.allowed_domains for s in self.solutions) and not self.oauth_client_id:
        yield (
            "ADDON_OAUTH_CLIENT_ID must be set in production when a solution has "
            "allowedDomains: the user's domain is read from the verified userIdToken, "
            "whose audience is that client id"
        )


def collect(check: Callable[..., object], *args: Any) -> Iterator[str]:
    """The problems ``check(*args)`` raises, as items (a check raises at its first)."""
    try:
        check(*args)
    except SettingsError as exc:
        yield from exc.problems


def is_google_url(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and (
        host in GOOGLE_API_HOSTS or host.endswith(GOOGLE_API_SUFFIX)
    )


def check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} must be an absolute http(s) URL, got {value!r}")
