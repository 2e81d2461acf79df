"""The host simulation's exception tree; ``routes`` turns each into one JSON error response.

Every error carries the HTTP status and a machine ``reason`` (Google's error-body style) so
a test can assert on the reason rather than on message text.
"""

from __future__ import annotations

from typing import Any


class HostError(Exception):
    """Base class: something the caller of a host route must fix or know about."""

    status = 400
    reason = "badRequest"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {"code": self.status, "reason": self.reason, "message": self.message},
            **self.details,
        }


class BadRequestError(HostError):
    """The control request itself is malformed."""


class DeploymentError(HostError):
    """The deployment JSON is not a valid gsuiteaddons v1 Deployment."""

    reason = "invalidDeployment"


class NotInstalledError(HostError):
    """An operation needs an installed deployment and there is none."""

    status = 409
    reason = "noDeployment"


class UnknownSolutionError(HostError):
    """The picked conference solution id is not in the installed deployment."""

    status = 404
    reason = "unknownConferenceSolution"


class AddonCallError(HostError):
    """The add-on answered with something Calendar could not use (non-2xx, not JSON, bad markup).

    ``details`` carries ``addonStatus``/``addonResponse`` so the caller sees what came back.
    """

    status = 502
    reason = "badAddonResponse"
