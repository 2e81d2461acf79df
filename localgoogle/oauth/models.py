"""The OAuth emulator's records (plain data; ``emulator.OAuthEmulator`` owns and locks them).

Words used in this package, one meaning each:

* *client* — an OAuth client registered in a Cloud project (``client_id``, secret,
  redirect URIs, the app name the consent page shows).
* *service account* — an account of an application with a key pair and a numeric
  ``unique_id``, its OAuth client id for domain-wide delegation.
* *delegation* — a Workspace admin's entry "client id X may act as any user of domain D with
  scopes S" (Admin console → Security → API controls → Domain-wide delegation).
* *authorization request* — what ``GET /o/oauth2/v2/auth`` received, kept until the user
  answers the consent page.
* *code* — the single-use authorization code the consent redirects with.
* *grant* — what a token stands on: one user's consent to one client (``consent``), one
  service-account assertion acting as a user (``delegation``) or as itself
  (``serviceAccount``). Refresh and access tokens belong to one grant; revoking it ends them
  all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from localgoogle.oauth.keys import ServiceAccountKey

GrantKind = Literal["consent", "delegation", "serviceAccount"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "redirectUris": list(self.redirect_uris),
            "name": self.name,
        }


@dataclass(frozen=True)
class ServiceAccount:
    email: str
    unique_id: str  # 21 digits; the "client ID" an admin enters for domain-wide delegation
    project_id: str
    key: ServiceAccountKey

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "clientId": self.unique_id,
            "projectId": self.project_id,
            "keyId": self.key.key_id,
        }

    def key_file(self, token_uri: str, auth_uri: str) -> dict[str, str]:
        """The JSON key file (``gcloud iam service-accounts keys create``), pointing at us."""
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.key.key_id,
            "private_key": self.key.private_key_pem(),
            "client_email": self.email,
            "client_id": self.unique_id,
            "auth_uri": auth_uri,
            "token_uri": token_uri,
            "universe_domain": "googleapis.com",
        }


@dataclass(frozen=True)
class AuthorizationRequest:
    request_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    offline: bool  # access_type=offline
    prompt: frozenset[str]
    include_granted_scopes: bool
    login_hint: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: datetime


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    user: str
    scopes: frozenset[str]
    with_refresh_token: bool  # decided when the user consented (see emulator.consent)
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: datetime
    used: bool = False


@dataclass
class Grant:
    grant_id: str
    kind: GrantKind
    user: str  # whose data the tokens reach (the service account itself for serviceAccount)
    client_id: str  # OAuth client id, or the service account's email for assertions
    scopes: frozenset[str]
    created: datetime
    refresh_token: str | None = None
    revoked: datetime | None = None
    access_tokens: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        """Without any token: what a user sees on myaccount.google.com, more or less."""
        return {
            "grantId": self.grant_id,
            "kind": self.kind,
            "user": self.user,
            "clientId": self.client_id,
            "scopes": sorted(self.scopes),
            "created": iso(self.created),
            "offline": self.refresh_token is not None,
            "revoked": iso(self.revoked) if self.revoked else None,
        }
