"""Domain-wide delegation: the add-on's service account acting as a Workspace user.

A Workspace admin grants the service account's client id the Calendar scope for the domain
(Admin console, Security, API controls, Domain-wide delegation). The add-on then signs a JWT
assertion with ``sub`` = the user and exchanges it at Google's token endpoint (the JWT-bearer
grant of developers.google.com/identity/protocols/oauth2/service-account). google-auth's
``service_account.Credentials`` does the exchange; only the signing differs:

* ``keyless`` (production): the assertion is signed by IAM Credentials ``signBlob`` as
  ``ADDON_DELEGATION_SERVICE_ACCOUNT``, called with the runtime's own credentials (Cloud Run's
  service account needs ``roles/iam.serviceAccountTokenCreator`` on that account, itself
  included). No key ever leaves Google. ``IamSigner`` is what ``google.auth.iam.Signer`` does,
  with the endpoint taken from the settings so the local IAM emulator can stand in.
* ``keyfile`` (development): a downloaded service-account key signs locally.

Only verified emails of ``ADDON_DELEGATION_DOMAINS`` are impersonated (the calendar's sync
user, from a verified ID token), never an address read from event data. A refusal
(``unauthorized_client``: the admin has not granted, or no longer grants, the scope) makes
``credentials_for`` answer None and the next kind of credentials is tried.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import Any, cast

import google.auth
import google.auth.credentials
import google.auth.exceptions
from google.auth import crypt
from google.oauth2 import service_account

from addon.credentials.common import CALENDAR_SCOPE, TokenServiceUnavailable, token_transport
from addon.settings import Settings, is_google_url

log = logging.getLogger(__name__)

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
# A refusal is remembered this long per user: calendars waiting for credentials do not ask
# Google again on every task, and a grant an admin makes is picked up within it.
REFUSAL_MEMORY_SECONDS = 600.0


class IamSigner(crypt.Signer):
    """Signs with IAM Credentials ``signBlob`` (projects.serviceAccounts.signBlob): the same
    request and answer as ``google.auth.iam.Signer``, at a configurable endpoint."""

    def __init__(
        self,
        endpoint: str,
        service_account_email: str,
        source: google.auth.credentials.Credentials,
    ) -> None:
        self._url = (
            endpoint.rstrip("/")
            + f"/v1/projects/-/serviceAccounts/{service_account_email}:signBlob"
        )
        self._source = source

    @property
    def key_id(self) -> str | None:
        # IAM picks the key; its id is not known before signing (as in google.auth.iam).
        return None

    def sign(self, message: bytes | str) -> bytes:
        data = message.encode() if isinstance(message, str) else message
        body = json.dumps({"payload": base64.b64encode(data).decode()}).encode()
        headers = {"Content-Type": "application/json"}
        request = token_transport()
        self._source.before_request(request, "POST", self._url, headers)  # type: ignore[no-untyped-call]
        response = request(url=self._url, method="POST", body=body, headers=headers)
        if response.status != 200:
            raise google.auth.exceptions.TransportError(  # type: ignore[no-untyped-call]
                f"IAM signBlob answered {response.status}"
            )
        return base64.b64decode(json.loads(response.data)["signedBlob"])


class Delegation:
    """Delegated credentials per impersonated user, cached while their token is valid."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._domains = frozenset(settings.delegation_domains)
        self._cache: dict[str, service_account.Credentials] = {}
        self._refused: dict[str, float] = {}  # email -> monotonic time of the refusal
        self._lock = threading.Lock()
        self._base: service_account.Credentials | None = None

    def covers(self, email: str | None) -> bool:
        """Delegation may act as ``email`` (its domain granted delegation)."""
        if not email or "@" not in email:
            return False
        return email.rsplit("@", 1)[1].lower() in self._domains

    def credentials_for(self, email: str) -> google.auth.credentials.Credentials | None:
        """Fresh credentials acting as ``email``; None when delegation does not cover it or
        Google refused (not granted). Raises ``TokenServiceUnavailable`` on an outage."""
        if not self.covers(email):
            return None
        with self._lock:
            cached = self._cache.get(email)
            refused_at = self._refused.get(email)
        if cached is not None and cached.valid:
            return cached
        if refused_at is not None and time.monotonic() - refused_at < REFUSAL_MEMORY_SECONDS:
            return None
        creds = self._base_credentials().with_subject(email)  # type: ignore[no-untyped-call]
        try:
            creds.refresh(token_transport())
        except google.auth.exceptions.RefreshError as exc:
            # unauthorized_client / access_denied / invalid_grant: not granted for this user.
            log.warning("domain-wide delegation refused: %s", str(exc).split(":", 1)[0])
            with self._lock:
                self._refused[email] = time.monotonic()
                self._cache.pop(email, None)
            return None
        except google.auth.exceptions.TransportError:
            raise TokenServiceUnavailable("delegation token request failed") from None
        with self._lock:
            self._cache[email] = creds
            self._refused.pop(email, None)
        return cast(google.auth.credentials.Credentials, creds)

    def forget_cached(self, email: str) -> None:
        with self._lock:
            self._cache.pop(email, None)

    def _base_credentials(self) -> service_account.Credentials:
        if self._base is None:
            self._base = self._build()
        return self._base

    def _build(self) -> service_account.Credentials:
        s = self._settings
        scopes = [CALENDAR_SCOPE]
        if s.delegation_mode == "keyfile":
            assert s.delegated_credentials_file is not None  # checked with the settings
            return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call,no-any-return]
                s.delegated_credentials_file, scopes=scopes
            )
        assert s.delegation_service_account is not None  # checked with the settings
        source: Any
        if is_google_url(s.iam_credentials_endpoint):
            source, _project = google.auth.default(scopes=[CLOUD_PLATFORM])  # type: ignore[no-untyped-call,unused-ignore]
        else:
            # Not Google's endpoint: the local IAM emulator, which wants no credentials.
            source = google.auth.credentials.AnonymousCredentials()  # type: ignore[no-untyped-call]
        signer = IamSigner(s.iam_credentials_endpoint, s.delegation_service_account, source)
        return service_account.Credentials(  # type: ignore[no-untyped-call]
            signer,
            s.delegation_service_account,
            s.oauth_token_uri,
            scopes=scopes,
        )
