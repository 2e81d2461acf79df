"""Reading ``ADDON_*`` environment variables into ``Settings``: ``from_env(environ)`` parses
every variable, keeps every problem, then checks the whole (``checks``), so one start-up
attempt lists everything that is wrong."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from addon.settings.checks import check_url, collect
from addon.settings.model import DEFAULT_LOGO, PREFIX, Settings, SettingsError, Solution


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


def _domains(raw: str) -> tuple[str, ...]:
    """``example.com, example.org`` -> ("example.com", "example.org")."""
    return tuple(d.strip().lower() for d in raw.split(",") if d.strip())


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
        "OAUTH_CLIENT_SECRET": "oauth_client_secret",
        "OAUTH_AUTH_URI": "oauth_auth_uri",
        "OAUTH_TOKEN_URI": "oauth_token_uri",
        "OAUTH_REVOKE_URI": "oauth_revoke_uri",
        "DELEGATION": "delegation",
        "DELEGATION_SERVICE_ACCOUNT": "delegation_service_account",
        "IAM_CREDENTIALS_ENDPOINT": "iam_credentials_endpoint",
        "SCHEDULER_INVOKER": "scheduler_invoker",
        "BRIDGE_CLIENT_ID": "bridge_client_id",
        "STATUS_IAP_AUDIENCE": "status_iap_audience",
        "STATUS_IAP_CERTS_URL": "status_iap_certs_url",
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
    parse("push_channels", "PUSH_CHANNELS", _bool)
    parse("delegation_domains", "DELEGATION_DOMAINS", lambda _name, raw: _domains(raw))
    for var, attr in (("CHANNEL_TTL_SECONDS", "channel_ttl_seconds"),
                      ("CHANNEL_RENEW_BEFORE_SECONDS", "channel_renew_before_seconds"),
                      ("CHANNEL_JITTER_SECONDS", "channel_jitter_seconds")):  # fmt: skip
        parse(attr, var, lambda name, raw: _int(name, raw, 0))
    parse("check_interval_seconds", "CHECK_INTERVAL_SECONDS", lambda n, r: _float(n, r, 1.0))
    parse("sweep_batch", "SWEEP_BATCH", lambda name, raw: _int(name, raw, 1))
    parse("status_admins", "STATUS_ADMINS", lambda _name, raw: _domains(raw))
    parse("status_domain", "STATUS_DOMAIN", lambda _name, raw: raw.strip().lower() or None)
    for attr, var in (("calendar_api_endpoint", "CALENDAR_API_ENDPOINT"),
                      ("certs_url", "CERTS_URL")):  # fmt: skip
        if attr in values:
            problems.extend(collect(check_url, PREFIX + var, values[attr]))
    # The rest is checked with the values that did parse, so one attempt lists everything.
    problems.extend(Settings(**values).problems())
    if problems:
        raise SettingsError(*problems)
    return Settings(**values)
