"""Provider registry: names in configuration → ``ConferenceProvider`` instances.

``register(name)`` is a class decorator; a registered class is built as
``cls(options, http=http)`` and validates its options in its constructor, raising
``ProviderConfigError``. ``build_provider`` builds one; the built-in providers
(``jitsi``, ``rest``, ``daily``, ``bbb``, ``webex``) are imported on first use, not at import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, cast

from addon.providers.base import ConferenceProvider
from addon.providers.http import HttpTransport
from addon.providers.options import ProviderConfigError

_BUILTIN_MODULES = (
    "addon.providers.jitsi",
    "addon.providers.rest",
    "addon.providers.daily",
    "addon.providers.bbb",
    "addon.providers.webex",
    "addon.providers.zoom",
    "addon.providers.teams",
)


class ProviderFactory(Protocol):
    def __call__(
        self, options: Mapping[str, Any], *, http: HttpTransport | None = None
    ) -> ConferenceProvider: ...


P = TypeVar("P", bound=type[ConferenceProvider])

_registry: dict[str, ProviderFactory] = {}


class UnknownProvider(ProviderConfigError):
    """Configuration names a provider nobody registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name, "provider", f"unknown provider; known: {', '.join(known)}")
        self.name = name
        self.known = known


def register(name: str) -> Callable[[P], P]:
    """Register a provider class under ``name`` (its constructor: ``(options, *, http)``)."""

    def decorate(cls: P) -> P:
        # The base class has no constructor signature; the convention above is ours.
        factory = cast(ProviderFactory, cls)
        existing = _registry.get(name)
        if existing is not None and existing is not factory:
            raise ValueError(f"provider name {name!r} is already registered")
        _registry[name] = factory
        return cls

    return decorate


def known_providers() -> list[str]:
    _load_builtins()
    return sorted(_registry)


def build_provider(
    name: str, options: Mapping[str, Any], *, http: HttpTransport | None = None
) -> ConferenceProvider:
    """A provider from its configuration; raises ``UnknownProvider``/``ProviderConfigError``."""
    _load_builtins()
    factory = _registry.get(name)
    if factory is None:
        raise UnknownProvider(name, sorted(_registry))
    return factory(options, http=http)


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
