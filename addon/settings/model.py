"""The settings themselves: ``Settings`` (one frozen object, every field with a local
default), ``Solution`` and ``SettingsError``. Checks live in ``checks``, reading the
environment in ``env``."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

PREFIX = "ADDON_"
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
# Hosts Google serves its certificates, APIs and OAuth pages from (production only accepts
# these unless ADDON_ALLOW_NON_GOOGLE_ENDPOINTS is set).
GOOGLE_API_HOSTS = frozenset({"www.googleapis.com", "googleapis.com", "accounts.google.com"})
GOOGLE_API_SUFFIX = ".googleapis.com"
LOCAL_SERVICE_ACCOUNT = "service-000000000000@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
LOCAL_SECRET_KEY = "local-development-secret-not-for-production"  # noqa: S105 - refused in production
LOCAL_TASKS_QUEUE = "projects/local-addon/locations/us-central1/queues/calendar-sync"
LOCAL_TASKS_INVOKER = "tasks-invoker@local-addon.iam.gserviceaccount.com"
# Google's OAuth 2.0 and IAM Credentials endpoints (developers.google.com/identity/protocols/
# oauth2/web-server, .../oauth2/service-account; cloud.google.com/iam/docs/reference/
# credentials/rest): the defaults of the offline-sync settings.
GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
GOOGLE_IAM_CREDENTIALS = "https://iamcredentials.googleapis.com"
DELEGATION_MODES = ("off", "keyless", "keyfile")
# The shape of an OAuth client id (the Apps Script bridge's).
BRIDGE_CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,200}\.apps\.googleusercontent\.com$")
# Identity-Aware Proxy's signing keys and issuer (cloud.google.com/iap/docs/signed-headers-howto).
IAP_CERTS_URL = "https://www.gstatic.com/iap/verify/public_key-jwk"
IAP_ISSUER = "https://cloud.google.com/iap"
IAP_AUDIENCE_PATTERN = re.compile(
    r"^/projects/\d+/(global/backendServices/\d+|apps/[a-z][a-z0-9-]{4,61}[a-z0-9])$"
)
TASKS_QUEUE_PATTERN = re.compile(r"^projects/[^/]+/locations/[^/]+/queues/[A-Za-z0-9-]{1,100}$")


class SettingsError(ValueError):
    """Settings are missing or malformed: ``problems`` holds every one found, each naming its
    variable and what it expects (all at once, so one start-up attempt tells the whole story)."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    def report(self) -> str:
        """The problems as an operator reads them: one per line, no traceback."""
        count = len(self.problems)
        head = "invalid settings" + (f" ({count} problems)" if count > 1 else "") + ":"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


@dataclass(frozen=True)
class Solution:
    """One conference solution offered in Calendar.

    ``id`` is published in the deployment and must never change once users have events
    carrying it; ``provider`` names a registered ``ConferenceProvider`` and ``options`` are
    handed to it. ``allowed_domains`` (empty = everyone) restricts who may pick it.
    """

    id: str
    name: str
    logo_url: str
    provider: str
    options: Mapping[str, Any] = field(default_factory=dict)
    allowed_domains: tuple[str, ...] = ()


DEFAULT_LOGO = "https://www.gstatic.com/images/branding/product/2x/calendar_48dp.png"

DEFAULT_SOLUTIONS: tuple[Solution, ...] = (
    Solution(id="web-conference", name="Web conference", logo_url=DEFAULT_LOGO, provider="jitsi"),
    Solution(
        id="recorded-web-conference",
        name="Recorded web conference",
        logo_url=DEFAULT_LOGO,
        provider="jitsi",
        options={"recording": True},
    ),
)


# Provider calls in flight per sync: beyond this, a vendor's rate limits answer before the
# pool helps (each gunicorn thread running a sync has a pool of its own).
MAX_SYNC_POOL = 32


@dataclass(frozen=True)
class Settings:
    env: str = "local"
    base_url: str = "http://127.0.0.1:8080"
    verify_id_tokens: bool = True
    service_account: str = LOCAL_SERVICE_ACCOUNT
    certs_url: str = GOOGLE_CERTS_URL
    calendar_api_endpoint: str | None = None
    datastore_project: str = "local-addon"
    datastore_namespace: str | None = None
    solutions: tuple[Solution, ...] = DEFAULT_SOLUTIONS
    addon_name: str = "Conference add-on"
    logo_url: str = DEFAULT_LOGO
    sync_lookback_days: int = 1
    lease_seconds: int = 120
    sync_mode: str = "tasks"
    # Work left behind is retried after retry_base_seconds, doubling up to retry_max_seconds,
    # at most retry_max_attempts times in a row; then the calendar needs attention.
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 600.0
    retry_max_attempts: int = 10
    # Cloud Tasks (sync_mode "tasks"): the queue, who signs the OIDC tokens of its dispatches,
    # the API endpoint (None: Google's), the debounce window and the time slice of one task.
    tasks_queue: str = LOCAL_TASKS_QUEUE
    tasks_invoker: str = LOCAL_TASKS_INVOKER
    tasks_api_endpoint: str | None = None
    debounce_seconds: float = 2.0
    slice_pages: int = 4
    slice_seconds: float = 10.0
    # Provider calls one sync runs at once (each event's or series' calls stay in order).
    sync_pool_size: int = 8
    # "kid:base64url-32-bytes,..." (the first seals, all open); None: one key derived from
    # secret_key. Seals the user tokens that ride in task bodies.
    token_keys: str | None = None
    delegated_credentials_file: str | None = None
    log_level: str = "INFO"
    # Derives unguessable meeting room names (Jitsi); production must set its own.
    secret_key: str = LOCAL_SECRET_KEY
    # The add-on's OAuth client id: the audience of the userIdToken Google sends (who the
    # user is, for allowedDomains). None: user identities are not verified.
    oauth_client_id: str | None = None
    allow_non_google_endpoints: bool = False
    # ---- offline sync: credentials the add-on may hold, push channels, the sweep ----------
    # Per-user offline consent: the same OAuth client (a web application client) with its
    # secret; None: offline consent is not offered. The URIs are Google's unless tested locally.
    oauth_client_secret: str | None = None
    oauth_auth_uri: str = GOOGLE_AUTH_URI
    oauth_token_uri: str = GOOGLE_TOKEN_URI
    oauth_revoke_uri: str = GOOGLE_REVOKE_URI
    # Domain-wide delegation: "off", "keyless" (the JWT assertion is signed by IAM Credentials
    # signBlob as delegation_service_account, no key file) or "keyfile" (a service-account key
    # file, for development); only users of delegation_domains are impersonated. None: "keyfile"
    # when delegated_credentials_file is set, else "off".
    delegation: str | None = None
    delegation_service_account: str | None = None
    delegation_domains: tuple[str, ...] = ()
    iam_credentials_endpoint: str = GOOGLE_IAM_CREDENTIALS
    # Push channels (events.watch) for calendars whose offline credentials we hold: requested
    # lifetime, renewed this long before expiry, minus up to the jitter (spread over time).
    push_channels: bool = True
    channel_ttl_seconds: int = 7 * 86400
    channel_renew_before_seconds: int = 86400
    channel_jitter_seconds: int = 43200
    # Every subscribed calendar is synced at least this often without any notification (the
    # periodic reconcile the sweep enqueues); who signs Cloud Scheduler's OIDC tokens for the
    # sweep (None: tasks_invoker); how many items of each kind one sweep request handles.
    check_interval_seconds: float = 86400.0
    scheduler_invoker: str | None = None
    sweep_batch: int = 500
    # ---- the Apps Script bridge -----------------------------------------------------------
    # The OAuth client id of the bridge's Apps Script project: the audience of the identity
    # tokens ScriptApp.getIdentityToken() gives it. None: the bridge endpoints answer 404.
    bridge_client_id: str | None = None
    # ---- the operators' status page (/status, /status.json) ---------------------------------
    # Who may see it: Google Sign-In (the add-on's OAuth client) as one of these addresses or
    # as an account of this Workspace domain (the ID token's ``hd``); and/or Identity-Aware
    # Proxy in front of the service (its signed header verified against this audience). None
    # of them set: the page answers 404.
    status_admins: tuple[str, ...] = ()
    status_domain: str | None = None
    status_iap_audience: str | None = None
    status_iap_certs_url: str = IAP_CERTS_URL

    @property
    def production(self) -> bool:
        return self.env == "production"

    def solution(self, solution_id: str) -> Solution | None:
        return next((s for s in self.solutions if s.id == solution_id), None)

    @property
    def delegation_mode(self) -> str:
        if self.delegation is not None:
            return self.delegation
        return "keyfile" if self.delegated_credentials_file else "off"

    @property
    def offline_consent(self) -> bool:
        """Per-user offline consent is offered (the OAuth client and its secret are set)."""
        return bool(self.oauth_client_id and self.oauth_client_secret)

    @property
    def status_page(self) -> bool:
        """The operators' status page is offered (someone is named to see it)."""
        return bool(self.status_admins or self.status_domain or self.status_iap_audience)

    @property
    def sweep_invoker(self) -> str:
        return self.scheduler_invoker or self.tasks_invoker

    def endpoint_url(self, path: str) -> str:
        """The public URL Google calls for ``path``; also the ID token's expected audience."""
        return self.base_url.rstrip("/") + path

    def validate(self) -> Settings:
        """These settings, or ``SettingsError`` with every problem found."""
        problems = list(self.problems())
        if problems:
            raise SettingsError(*problems)
        return self

    def problems(self) -> Iterator[str]:
        """Every problem with these settings, in the order the README's table lists them."""
        from addon.settings.checks import problems

        return problems(self)

    def sealing_keys(self) -> tuple[str, dict[str, bytes]]:
        """The key id that seals and every key that opens (``ADDON_TOKEN_KEYS``), or one key
        derived from ``ADDON_SECRET_KEY`` when no keys are set."""
        if self.token_keys is None:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.kdf.hkdf import HKDF

            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"task-tokens")
            return "s0", {"s0": hkdf.derive(self.secret_key.encode())}
        keys: dict[str, bytes] = {}
        for item in self.token_keys.split(","):
            kid, _, raw = item.strip().partition(":")
            try:
                key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            except ValueError:
                key = b""
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", kid) or len(key) != 32 or kid in keys:
                raise SettingsError(
                    "ADDON_TOKEN_KEYS must be a comma-separated list of KID:KEY, each KID "
                    "1-16 characters [A-Za-z0-9_-] and unique, each KEY 32 random bytes in "
                    "base64url (`python -c 'import base64,os; "
                    "print(base64.urlsafe_b64encode(os.urandom(32)).decode())'`)"
                )
            keys[kid] = key
        return next(iter(keys)), keys

    def google_endpoints(self) -> dict[str, str | None]:
        """The endpoints whose answers we trust as Google's, by the variable that sets them."""
        return {
            PREFIX + "CERTS_URL": self.certs_url,
            PREFIX + "CALENDAR_API_ENDPOINT": self.calendar_api_endpoint,
            PREFIX + "TASKS_API_ENDPOINT": self.tasks_api_endpoint,
            PREFIX + "OAUTH_AUTH_URI": self.oauth_auth_uri,
            PREFIX + "OAUTH_TOKEN_URI": self.oauth_token_uri,
            PREFIX + "OAUTH_REVOKE_URI": self.oauth_revoke_uri,
            PREFIX + "IAM_CREDENTIALS_ENDPOINT": self.iam_credentials_endpoint,
        }
