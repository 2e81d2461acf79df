"""The errors of account linking: ``AccountNotLinked`` (a provider error: the user must link
again) and ``LinkError`` (a linking step refused, with a reason and an HTTP status)."""

from __future__ import annotations

from addon.providers.base import ProviderError


class AccountNotLinked(ProviderError):
    """The user has no usable link on this vendor (never linked, unlinked, or the vendor
    refused the stored tokens): the user must link again; retrying will not help.
    ``link_key`` (``"<solution id>:<user id>"``) names the link a parked change waits for."""

    def __init__(self, message: str, link_key: str | None = None) -> None:
        super().__init__(message)
        self.link_key = link_key


class LinkError(Exception):
    """A linking step refused; nothing was stored. ``reason`` is machine-readable."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
