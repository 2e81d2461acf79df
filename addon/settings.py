"""One typed settings object, read from ``ADDON_*`` environment variables.

Every setting has a default that runs the local stack (emulators, no Google account), except
where production needs a real value: when ``ADDON_ENV=production`` the service refuses to start
without a public base URL, the add-on service account and ID-token verification, and refuses
certificate and Calendar endpoints that are not Google's (a token minted by an emulator's open
control API would pass otherwise) unless ``ADDON_ALLOW_NON_GOOGLE_ENDPOINTS=true`` says so,
which is announced at start-up.
A missing or malformed value raises ``SettingsError`` naming the variable and what it expects.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PREFIX = "ADDON_"
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
# Hosts Google serves its certificates and the Calendar API from (production only accepts
# these unless ADDON_ALLOW_NON_GOOGLE_ENDPOINTS is set).
GOOGLE_API_HOSTS = frozenset({"www.googleapis.com", "googleapis.com"})
GOOGLE_API_SUFFIX = ".googleapis.com"
LOCAL_SERVICE_ACCOUNT = "service-000000000000@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
LOCAL_SECRET_KEY = "local-development-secret-not-for-production"  # noqa: S105 - refused in production
LOCAL_TASKS_QUEUE = "projects/local-addon/locations/us-central1/queues/calendar-sync"
LOCAL_TASKS_INVOKER = "tasks-invoker@local-addon.iam.gserviceaccount.com"
TASKS_QUEUE_PATTERN = re.compile(r"^projects/[^/]+/locations/[^/]+/queues/[A-Za-z0-9-]{1,100}$")
# --- Apps Script bridge (issue 15): the shape of an OAuth client id ---
BRIDGE_CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,200}\.apps\.googleusercontent\.com$")


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
    # --- Apps Script bridge (issue 15) ---
    # The OAuth client id of the bridge's Apps Script project: the audience of the identity
    # tokens ScriptApp.getIdentityToken() gives it. None: the bridge endpoints answer 404.
    bridge_client_id: str | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"

    def solution(self, solution_id: str) -> Solution | None:
        return next((s for s in self.solutions if s.id == solution_id), None)

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
        yield from _collect(_check_url, "ADDON_BASE_URL", self.base_url)
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
            yield from _collect(_check_url, "ADDON_TASKS_API_ENDPOINT", self.tasks_api_endpoint)
        if not self.solutions:
            yield "ADDON_SOLUTIONS must name at least one conference solution"
        ids = [s.id for s in self.solutions]
        if len(set(ids)) != len(ids):
            yield "ADDON_SOLUTIONS has duplicate solution ids"
        if self.production:
            yield from self._production_problems()
        yield from _collect(self.sealing_keys)  # malformed ADDON_TOKEN_KEYS, at start-up
        if self.retry_max_seconds < self.retry_base_seconds:
            yield "ADDON_RETRY_MAX_SECONDS must be at least ADDON_RETRY_BASE_SECONDS"
        # --- Apps Script bridge (issue 15) ---
        if self.bridge_client_id is not None and not BRIDGE_CLIENT_ID_PATTERN.match(
            self.bridge_client_id
        ):
            yield (
                "ADDON_BRIDGE_CLIENT_ID must be the OAuth client id of the bridge's Apps Script "
                f"project (NUMBER-ID.apps.googleusercontent.com), got {self.bridge_client_id!r}"
            )

    def _production_problems(self) -> Iterator[str]:
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
                        f"{name} must be an https://*.googleapis.com URL in production, got "
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
        }


def _collect(check: Callable[..., object], *args: Any) -> Iterator[str]:
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


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} must be an absolute http(s) URL, got {value!r}")


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _number(name: str, raw: str, minimum: float, kind: type[float] = float) -> float:
    try:
        value = kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, raw: str, minimum: float) -> float:
    return _number(name, raw, minimum)


def _int(name: str, raw: str, minimum: int) -> int:
    return int(_number(name, raw, minimum, int))


def parse_solutions(raw: str) -> tuple[Solution, ...]:
    """``ADDON_SOLUTIONS``: a JSON list, or a path to a JSON file holding one."""
    text = raw
    if not raw.lstrip().startswith("["):
        path = Path(raw)
        if not path.is_file():
            raise SettingsError(f"ADDON_SOLUTIONS is neither a JSON list nor a file: {raw!r}")
        text = path.read_text()
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"ADDON_SOLUTIONS is not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise SettingsError("ADDON_SOLUTIONS must be a JSON list of solution objects")
    out = []
    for i, item in enumerate(items):
        where = f"ADDON_SOLUTIONS[{i}]"
        if not isinstance(item, dict):
            raise SettingsError(f"{where} must be an object")
        for key in ("id", "name", "provider"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise SettingsError(f"{where}.{key} must be a non-empty string")
        options = item.get("options", {})
        domains = item.get("allowedDomains", [])
        if not isinstance(options, dict):
            raise SettingsError(f"{where}.options must be an object")
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise SettingsError(f"{where}.allowedDomains must be a list of domain names")
        out.append(
            Solution(
                id=item["id"],
                name=item["name"],
                logo_url=str(item.get("logoUrl", DEFAULT_LOGO)),
                provider=item["provider"],
                options=options,
                allowed_domains=tuple(d.lower() for d in domains),
            )
        )
    return tuple(out)


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``ADDON_*`` variables (see the README's settings table)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    def get(name: str) -> str | None:
        raw = env.get(PREFIX + name)
        return raw if raw not in (None, "") else None

    simple = {
        "ENV": "env",
        "BASE_URL": "base_url",
        "SERVICE_ACCOUNT": "service_account",
        "CERTS_URL": "certs_url",
        "CALENDAR_API_ENDPOINT": "calendar_api_endpoint",
        "DATASTORE_PROJECT": "datastore_project",
        "DATASTORE_NAMESPACE": "datastore_namespace",
        "NAME": "addon_name",
        "LOGO_URL": "logo_url",
        "SYNC_MODE": "sync_mode",
        "DELEGATED_CREDENTIALS_FILE": "delegated_credentials_file",
        "LOG_LEVEL": "log_level",
        "SECRET_KEY": "secret_key",
        "OAUTH_CLIENT_ID": "oauth_client_id",
        "TASKS_QUEUE": "tasks_queue",
        "TASKS_INVOKER": "tasks_invoker",
        "TASKS_API_ENDPOINT": "tasks_api_endpoint",
        "TOKEN_KEYS": "token_keys",
        "BRIDGE_CLIENT_ID": "bridge_client_id",  # Apps Script bridge (issue 15)
    }
    for var, attr in simple.items():
        if (raw := get(var)) is not None:
            values[attr] = raw
    problems: list[str] = []

    def parse(attr: str, var: str, read: Callable[[str, str], Any]) -> None:
        """``values[attr] = read(...)`` if the variable is set; its problem is kept, not raised."""
        if (raw := get(var)) is None:
            return
        try:
            values[attr] = read(PREFIX + var, raw)
        except SettingsError as exc:
            problems.extend(exc.problems)

    parse("verify_id_tokens", "VERIFY_ID_TOKENS", _bool)
    parse("allow_non_google_endpoints", "ALLOW_NON_GOOGLE_ENDPOINTS", _bool)
    for var, attr in (("RETRY_BASE_SECONDS", "retry_base_seconds"),
                      ("RETRY_MAX_SECONDS", "retry_max_seconds"),
                      ("SYNC_DEBOUNCE_SECONDS", "debounce_seconds"),
                      ("SLICE_SECONDS", "slice_seconds")):  # fmt: skip
        parse(attr, var, lambda name, raw: _float(name, raw, 0.1))
    for var, attr in (("RETRY_MAX_ATTEMPTS", "retry_max_attempts"),
                      ("SLICE_PAGES", "slice_pages"),
                      ("SYNC_POOL_SIZE", "sync_pool_size")):  # fmt: skip
        parse(attr, var, lambda name, raw: _int(name, raw, 1))
    parse("sync_lookback_days", "SYNC_LOOKBACK_DAYS", lambda name, raw: _int(name, raw, 0))
    parse("lease_seconds", "LEASE_SECONDS", lambda name, raw: _int(name, raw, 5))
    parse("solutions", "SOLUTIONS", lambda _name, raw: parse_solutions(raw))
    for attr, var in (("calendar_api_endpoint", "CALENDAR_API_ENDPOINT"),
                      ("certs_url", "CERTS_URL")):  # fmt: skip
        if attr in values:
            problems.extend(_collect(_check_url, PREFIX + var, values[attr]))
    # The rest is checked with the values that did parse, so one attempt lists everything.
    problems.extend(Settings(**values).problems())
    if problems:
        raise SettingsError(*problems)
    return Settings(**values)
