"""Errors in Google's JSON error format.

Every failure the emulator reports is an ``ApiError``; the views turn it into the body
Google sends, so clients (google-api-python-client's ``HttpError.error_details``) read
the machine reason exactly as they would from Google.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error with Google's ``{"error": {...}}`` body."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "errors": [{"domain": "global", "reason": self.reason, "message": self.message}],
                "code": self.code,
                "message": self.message,
            }
        }


def bad_request(message: str, reason: str = "invalid") -> ApiError:
    return ApiError(400, reason, message)


def required(message: str) -> ApiError:
    return ApiError(400, "required", message)


def auth_error() -> ApiError:
    return ApiError(401, "authError", "Invalid Credentials")


def insufficient_scopes() -> ApiError:
    """A valid token whose scopes do not cover the method (Google: 403)."""
    return ApiError(
        403, "insufficientPermissions", "Request had insufficient authentication scopes."
    )


def not_found() -> ApiError:
    return ApiError(404, "notFound", "Not Found")


def forbidden_access() -> ApiError:
    return ApiError(403, "requiredAccessLevel", "You need to have writer access to this calendar.")


def forbidden_for_non_organizer() -> ApiError:
    return ApiError(
        403,
        "forbiddenForNonOrganizer",
        "The operation can only be performed by the event organizer.",
    )


def duplicate() -> ApiError:
    return ApiError(409, "duplicate", "The requested identifier already exists.")


def deleted() -> ApiError:
    return ApiError(410, "deleted", "Resource has been deleted")


def full_sync_required() -> ApiError:
    return ApiError(
        410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
    )


def condition_not_met() -> ApiError:
    return ApiError(412, "conditionNotMet", "Precondition Failed")


class NotModified(Exception):
    """If-None-Match matched: the view answers 304 without a body."""
