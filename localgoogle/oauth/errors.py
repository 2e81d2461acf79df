"""The OAuth emulator's errors, each turned into its HTTP answer in exactly one place
(``views`` and ``control`` register the handlers), and Google's texts for them.

* ``OAuthError`` — the token and revocation endpoints: RFC 6749 §5.2 JSON
  ``{"error", "error_description"}`` with Google's status (400, or 401 for client errors).
* ``AuthorizationPageError`` — the authorization page: an HTML error page, never a redirect
  (Google shows "Error 400: redirect_uri_mismatch" and the like itself, so an unregistered
  redirect URI never receives anything).
* ``ApiError`` — IAM Credentials and the control API: Google's JSON API error
  ``{"error": {"code", "message", "status", "errors"?}}``.

Where the texts come from: "Using OAuth 2.0 for Server to Server Applications" (its table of
error codes: ``unauthorized_client``, ``invalid_grant``, ``invalid_scope``) and answers of
Google's servers quoted in public issue trackers (``Token has been expired or revoked.``,
``Missing code verifier.``, ``Invalid code verifier.``, ``code_verifier or verifier is not
needed``, ``Invalid JWT: Failed audience check.``, ``Invalid grant: account not found``,
``Could not determine client ID from request.``, ``client_secret is missing.``, the revoke
endpoint's ``Token expired or revoked``, IAM's ``Gaia id not found for email``). Texts marked
GUESS below are not documented anywhere we found; they are kept here, in one place, so a
better source changes one line.
"""

from __future__ import annotations

from typing import Any


class OAuthError(Exception):
    """An answer of ``/token`` or ``/revoke``: ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class AuthorizationPageError(Exception):
    """The authorization request itself is unusable: shown as an HTML page, status 400."""

    def __init__(self, error: str, description: str, *, code: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.code = code  # the number Google prints ("Error 401: invalid_client")


class ApiError(Exception):
    """A Google JSON API error (IAM Credentials, the control API)."""

    def __init__(self, code: int, status: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.reason = reason

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.reason is not None:
            error["errors"] = [{"message": self.message, "domain": "global", "reason": self.reason}]
        return {"error": error}


# ----- token endpoint: the request and the client -----------------------------------------


def unsupported_grant_type(value: str) -> OAuthError:
    return OAuthError("unsupported_grant_type", f"Invalid grant_type: {value}")


def missing_parameter(name: str) -> OAuthError:
    return OAuthError("invalid_request", f"Missing required parameter: {name}")


def no_client_id() -> OAuthError:
    return OAuthError("invalid_request", "Could not determine client ID from request.")


def no_client_secret() -> OAuthError:
    return OAuthError("invalid_request", "client_secret is missing.")


def unknown_client() -> OAuthError:
    return OAuthError("invalid_client", "The OAuth client was not found.", 401)


def wrong_client_secret() -> OAuthError:
    return OAuthError("invalid_client", "Unauthorized", 401)


def conflicting_client_ids() -> OAuthError:
    # GUESS: Google's answer when the Basic header and the body name different clients.
    return OAuthError("invalid_client", "Unauthorized", 401)


# ----- authorization_code grant -----------------------------------------------------------


def bad_code() -> OAuthError:
    """Unknown, expired, already used, or issued to another client (Google answers these
    alike; which one it was is not said)."""
    return OAuthError("invalid_grant", "Bad Request")


def redirect_uri_mismatch() -> OAuthError:
    # GUESS: the description for a redirect_uri that differs from the authorization request's.
    return OAuthError("redirect_uri_mismatch", "Bad Request")


def missing_code_verifier() -> OAuthError:
    return OAuthError("invalid_grant", "Missing code verifier.")


def invalid_code_verifier() -> OAuthError:
    return OAuthError("invalid_grant", "Invalid code verifier.")


def verifier_not_needed() -> OAuthError:
    return OAuthError("invalid_grant", "code_verifier or verifier is not needed")


# ----- refresh_token grant ----------------------------------------------------------------


def refresh_token_revoked() -> OAuthError:
    return OAuthError("invalid_grant", "Token has been expired or revoked.")


def refresh_token_of_other_client() -> OAuthError:
    # Seen in client issues for a refresh token used with another OAuth client's credentials.
    return OAuthError("unauthorized_client", "Unauthorized", 401)


def scope_not_granted() -> OAuthError:
    # GUESS: a refresh asking only for scopes the grant does not hold.
    return OAuthError("invalid_scope", "Bad Request")


# ----- JWT-bearer grant (service accounts) ------------------------------------------------


def invalid_signature() -> OAuthError:
    return OAuthError("invalid_grant", "Invalid JWT Signature.")


def unknown_service_account() -> OAuthError:
    return OAuthError("invalid_grant", "Invalid grant: account not found")


def no_issuer() -> OAuthError:
    return OAuthError("invalid_grant", "Invalid email or User ID")


def failed_audience_check() -> OAuthError:
    return OAuthError("invalid_grant", "Invalid JWT: Failed audience check.")


def bad_assertion_times() -> OAuthError:
    return OAuthError(
        "invalid_grant",
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
        "timeframe. Check your iat and exp values in the JWT claim.",
    )


def invalid_scope() -> OAuthError:
    return OAuthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")


def subject_not_an_email() -> OAuthError:
    return OAuthError("invalid_grant", "Not a valid email.")


def unknown_subject() -> OAuthError:
    return OAuthError("invalid_grant", "Invalid email or User ID")


def not_delegated() -> OAuthError:
    """The service account's client id has no domain-wide delegation in the sub's domain."""
    return OAuthError("unauthorized_client", "Unauthorized client or scope in request.", 401)


def scopes_not_delegated() -> OAuthError:
    """Delegated in that domain, but not for every requested scope."""
    return OAuthError(
        "unauthorized_client",
        "Client is unauthorized to retrieve access tokens using this method, or client not "
        "authorized for any of the scopes requested.",
        401,
    )


# ----- revocation -------------------------------------------------------------------------


def token_not_revocable() -> OAuthError:
    return OAuthError("invalid_token", "Token expired or revoked")


# ----- IAM Credentials --------------------------------------------------------------------


def service_account_not_found(name: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"Not found; Gaia id not found for email {name}", "notFound")


def iam_invalid_argument(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message, "badRequest")


def control_error(message: str, code: int = 400) -> ApiError:
    """A control API request the emulator cannot follow; the message says what to fix."""
    status = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}.get(code, "FAILED_PRECONDITION")
    return ApiError(code, status, message)
