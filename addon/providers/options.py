"""Reading a provider's options: typed getters that name the bad option, and typo detection.

Each provider validates its options once, at construction, through an ``OptionReader``; a
misconfigured deployment then fails at start-up with ``ProviderConfigError`` naming the
option, instead of failing on the first user's request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


class ProviderConfigError(ValueError):
    """A provider's options are wrong; ``option`` names the offending one."""

    def __init__(self, provider: str, option: str, reason: str) -> None:
        super().__init__(f"provider {provider!r}, option {option!r}: {reason}")
        self.provider = provider
        self.option = option
        self.reason = reason


class OptionReader:
    """Typed access to one provider's options; ``finish()`` refuses the ones nobody read."""

    def __init__(self, provider: str, options: Mapping[str, Any]) -> None:
        self.provider = provider
        self._options = dict(options)
        self._read: set[str] = set()

    def error(self, option: str, reason: str) -> ProviderConfigError:
        return ProviderConfigError(self.provider, option, reason)

    def _get(self, name: str) -> Any:
        self._read.add(name)
        return self._options.get(name)

    def string(self, name: str, default: str | None = None) -> str | None:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, "must be a non-empty string")
        return value.strip()

    def url(self, name: str, default: str | None = None) -> str | None:
        value = self.string(name, default)
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise self.error(name, f"must be an http(s) URL, got {value!r}")
        return value

    def required_string(self, name: str, what: str) -> str:
        """A string option with no default; ``what`` tells the deployer what to put there."""
        value = self.string(name)
        if value is None:
            raise self.error(name, f"required: {what}")
        return value

    def required_url(self, name: str, what: str) -> str:
        value = self.url(name)
        if value is None:
            raise self.error(name, f"required: {what}")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        # Options often come from environment variables, where booleans are text.
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
        raise self.error(name, f"must be a boolean, got {value!r}")

    def number(self, name: str, default: float, *, minimum: float, maximum: float) -> float:
        value = self._get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self.error(name, f"must be a number, got {value!r}") from None
        if not minimum <= number <= maximum:
            raise self.error(name, f"must be between {minimum} and {maximum}, got {number}")
        return number

    def finish(self) -> None:
        unknown = sorted(set(self._options) - self._read)
        if unknown:
            raise self.error(unknown[0], f"unknown option (known: {', '.join(sorted(self._read))})")
