"""``OAuthEmulator``: the state of Google's authorization server and the operations on it.

It holds clients, service accounts, delegations, pending authorization requests, codes and
grants under one lock; the HTTP modules (``authorize``, ``token_grants``, ``assertions``,
``iam``, ``views``, ``control``) parse requests and call it. Access tokens are minted by the
Calendar state through ``localgoogle.seams.OAuthCalendarAccess`` (so Calendar accepts them
until they expire or their grant is revoked); ID tokens by ``mint``, the add-on host's
signer given as a plain callable, so they verify against the same ``/oauth2/v1/certs``.

Public names: ``OAuthEmulator``, ``IdTokenMint``, ``DEFAULT_CLIENT_ID``,
``DEFAULT_CLIENT_SECRET``, ``ACCESS_TOKEN_SECONDS``, ``CODE_LIFETIME``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from localgoogle.oauth.keys import ServiceAccountKey
from localgoogle.oauth.models import (
    AuthorizationCode,
    AuthorizationRequest,
    Grant,
    GrantKind,
    OAuthClient,
    ServiceAccount,
)
from localgoogle.oauth.stats import Stats
from localgoogle.seams import OAuthCalendarAccess

# (audience, email, extra claims) -> an RS256 ID token of accounts.google.com for email.
IdTokenMint = Callable[[str, str, dict[str, Any]], str]

# The id the add-on host already uses as the userIdToken audience; a fixed local secret.
DEFAULT_CLIENT_ID = "000000000000-emulator.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "GOCSPX-emulator-local-secret"  # noqa: S105 - local and public
DEFAULT_CLIENT_NAME = "Conference add-on (emulator)"

# Google: access tokens live an hour and are announced as 3599 s; codes are short-lived
# (the emulator's 10 minutes is the brief's number, Google documents none).
ACCESS_TOKEN_SECONDS = 3599
CODE_LIFETIME = timedelta(minutes=10)
# How long a consent page stays answerable. Not documented by Google; an hour is generous.
REQUEST_LIFETIME = timedelta(hours=1)


def _random(prefix: str, size: int = 32) -> str:
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(size)).decode().rstrip("=")


class OAuthEmulator:
    def __init__(self, calendar: OAuthCalendarAccess, mint: IdTokenMint) -> None:
        self.calendar = calendar
        self.mint = mint
        self.stats = Stats()
        self.lock = threading.RLock()
        self._init_state()

    def _init_state(self) -> None:
        default = OAuthClient(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, (), DEFAULT_CLIENT_NAME)
        self._clients: dict[str, OAuthClient] = {default.client_id: default}
        self._accounts: dict[str, ServiceAccount] = {}  # by email
        self._delegations: dict[tuple[str, str], frozenset[str]] = {}  # (unique id, domain)
        self._requests: dict[str, AuthorizationRequest] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._grants: dict[str, Grant] = {}
        self._refresh_tokens: dict[str, str] = {}  # token -> grant id
        self._access_tokens: dict[str, tuple[str, datetime]] = {}  # token -> (grant, expiry)

    def reset(self) -> None:
        """Forget everything (the default client comes back); tokens stop working."""
        with self.lock:
            for grant_id in self._grants:
                self.calendar.revoke_grant(grant_id)
            self._init_state()
        self.stats.reset()

    def now(self) -> datetime:
        return self.calendar.now()

    # ----- clients ------------------------------------------------------------------------

    def register_client(
        self,
        client_id: str | None,
        client_secret: str | None,
        redirect_uris: Iterable[str],
        name: str | None,
    ) -> OAuthClient:
        """Create or replace a client; a missing secret keeps the old one or makes one."""
        with self.lock:
            old = self._clients.get(client_id) if client_id else None
            client = OAuthClient(
                client_id=client_id
                or f"{secrets.randbelow(10**12):012d}-"
                f"{secrets.token_hex(16)}.apps.googleusercontent.com",
                client_secret=client_secret or (old.client_secret if old else _random("GOCSPX-")),
                redirect_uris=tuple(dict.fromkeys(redirect_uris)),
                name=name or (old.name if old else "OAuth client"),
            )
            self._clients[client.client_id] = client
            return client

    def client(self, client_id: str) -> OAuthClient | None:
        with self.lock:
            return self._clients.get(client_id)

    def clients(self) -> list[OAuthClient]:
        with self.lock:
            return list(self._clients.values())

    # ----- service accounts and domain-wide delegation -------------------------------------

    def create_service_account(self, email: str) -> ServiceAccount:
        """Idempotent per email; the key pair is made once."""
        with self.lock:
            existing = self._accounts.get(email)
            if existing is not None:
                return existing
        key = ServiceAccountKey.generate()  # slow-ish: outside the lock
        local, _, domain = email.partition("@")
        project = domain.split(".")[0] if domain.endswith(".iam.gserviceaccount.com") else local
        account = ServiceAccount(
            email=email, unique_id="1" + f"{secrets.randbelow(10**20):020d}",
            project_id=project, key=key,
        )  # fmt: skip
        with self.lock:
            return self._accounts.setdefault(email, account)

    def service_account(self, name: str) -> ServiceAccount | None:
        """By email or by unique id (IAM accepts both in resource names)."""
        with self.lock:
            if name in self._accounts:
                return self._accounts[name]
            return next((a for a in self._accounts.values() if a.unique_id == name), None)

    def service_accounts(self) -> list[ServiceAccount]:
        with self.lock:
            return list(self._accounts.values())

    def delegate(self, account: ServiceAccount, domain: str, scopes: Iterable[str]) -> None:
        """An admin of ``domain`` authorizes the account's client id for ``scopes`` (the
        Admin console replaces an entry's scope list when it is edited)."""
        with self.lock:
            self._delegations[(account.unique_id, domain.lower())] = frozenset(scopes)

    def withdraw_delegation(self, account: ServiceAccount, domain: str) -> bool:
        """Already issued access tokens keep working until they expire (Google documents no
        revocation of them when an entry is deleted)."""
        with self.lock:
            return self._delegations.pop((account.unique_id, domain.lower()), None) is not None

    def delegated_scopes(self, account: ServiceAccount, domain: str) -> frozenset[str] | None:
        with self.lock:
            return self._delegations.get((account.unique_id, domain.lower()))

    def delegations(self) -> list[dict[str, Any]]:
        with self.lock:
            emails = {a.unique_id: a.email for a in self._accounts.values()}
            return [
                {"clientId": uid, "serviceAccount": emails.get(uid), "domain": domain,
                 "scopes": sorted(scopes)}
                for (uid, domain), scopes in sorted(self._delegations.items())
            ]  # fmt: skip

    # ----- authorization requests and codes -------------------------------------------------

    def open_request(self, **fields: Any) -> AuthorizationRequest:
        now = self.now()
        request = AuthorizationRequest(
            request_id=_random("", 18), expires_at=now + REQUEST_LIFETIME, **fields
        )
        with self.lock:
            for key in [k for k, r in self._requests.items() if r.expires_at <= now]:
                del self._requests[key]
            self._requests[request.request_id] = request
        return request

    def take_request(self, request_id: str) -> AuthorizationRequest | None:
        """The pending request, once (a consent page answers one decision)."""
        with self.lock:
            request = self._requests.pop(request_id, None)
        if request is None or request.expires_at <= self.now():
            return None
        return request

    def consent(
        self, request: AuthorizationRequest, user: str, scopes: frozenset[str]
    ) -> AuthorizationCode:
        """The user allowed ``scopes``: a code carrying them (with the scopes granted before
        when the request asked ``include_granted_scopes``)."""
        with self.lock:
            earlier = self.live_consent_scopes(user, request.client_id)
            granted = scopes | earlier if request.include_granted_scopes else scopes
            # Google returns a refresh token "the first time" the app exchanges a code for
            # this user, and again when prompt=consent asked for consent anew. The emulator
            # reads "first time" as: no live (unrevoked) consent of this user to this client.
            first = not self._live_consents(user, request.client_id)
            code = AuthorizationCode(
                code=_random("4/0A"), client_id=request.client_id,
                redirect_uri=request.redirect_uri, user=user, scopes=granted,
                with_refresh_token=request.offline and ("consent" in request.prompt or first),
                nonce=request.nonce, code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                expires_at=self.now() + CODE_LIFETIME,
            )  # fmt: skip
            self._codes[code.code] = code
            return code

    def redeem_code(self, code: str) -> AuthorizationCode | None:
        """The code if it is known, unused and unexpired; it is used from now on."""
        with self.lock:
            found = self._codes.get(code)
            if found is None or found.used or found.expires_at <= self.now():
                return None
            found.used = True
            return found

    # ----- grants and tokens ------------------------------------------------------------------

    def _live_consents(self, user: str, client_id: str) -> list[Grant]:
        return [
            g for g in self._grants.values()
            if g.kind == "consent" and g.user == user and g.client_id == client_id
            and g.revoked is None
        ]  # fmt: skip

    def live_consent_scopes(self, user: str, client_id: str) -> frozenset[str]:
        with self.lock:
            scopes: frozenset[str] = frozenset()
            for grant in self._live_consents(user, client_id):
                scopes |= grant.scopes
            return scopes

    def new_grant(
        self, kind: GrantKind, user: str, client_id: str, scopes: frozenset[str], *,
        offline: bool = False,
    ) -> Grant:  # fmt: skip
        with self.lock:
            grant = Grant(
                grant_id=_random("grant-", 12), kind=kind, user=user, client_id=client_id,
                scopes=scopes, created=self.now(),
                refresh_token=_random("1//0g", 48) if offline else None,
            )  # fmt: skip
            self._grants[grant.grant_id] = grant
            if grant.refresh_token is not None:
                self._refresh_tokens[grant.refresh_token] = grant.grant_id
            return grant

    def issue_access_token(self, grant: Grant, scopes: frozenset[str]) -> str:
        expires_at = self.now() + timedelta(seconds=ACCESS_TOKEN_SECONDS)
        token = self.calendar.issue_access_token(
            grant.user, expires_at=expires_at, grant_id=grant.grant_id, scopes=scopes
        )
        with self.lock:
            self._access_tokens[token] = (grant.grant_id, expires_at)
            grant.access_tokens.add(token)
        return token

    def id_token(
        self, client_id: str, user: str, access_token: str, nonce: str | None = None
    ) -> str:
        """OpenID Connect ID token: aud and azp the client, sub the account's stable id
        (given by ``mint``), ``at_hash`` of the access token, ``nonce`` when asked."""
        digest = hashlib.sha256(access_token.encode()).digest()
        claims: dict[str, Any] = {
            "azp": client_id,
            "at_hash": base64.urlsafe_b64encode(digest[:16]).decode().rstrip("="),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return self.mint(client_id, user, claims)

    def grant_for_refresh_token(self, token: str) -> Grant | None:
        with self.lock:
            grant = self._grants.get(self._refresh_tokens.get(token, ""))
            return grant if grant is not None and grant.revoked is None else None

    def revoke_token(self, token: str) -> bool:
        """Revoke the grant a refresh token or a live access token belongs to."""
        with self.lock:
            grant_id = self._refresh_tokens.get(token)
            if grant_id is None and token in self._access_tokens:
                owner, expires_at = self._access_tokens[token]
                grant_id = owner if expires_at > self.now() else None
            grant = self._grants.get(grant_id or "")
            if grant is None or grant.revoked is not None:
                return False
            self._revoke(grant)
            return True

    def revoke_user_access(self, user: str, client_id: str) -> int:
        """The user removes the app's access (myaccount.google.com): every grant of the user
        to that client, whatever it came from."""
        with self.lock:
            grants = [
                g for g in self._grants.values()
                if g.user == user and g.client_id == client_id and g.revoked is None
            ]  # fmt: skip
            for grant in grants:
                self._revoke(grant)
            return len(grants)

    def _revoke(self, grant: Grant) -> None:
        grant.revoked = self.now()
        if grant.refresh_token is not None:
            self._refresh_tokens.pop(grant.refresh_token, None)
        for token in grant.access_tokens:
            self._access_tokens.pop(token, None)
        grant.access_tokens.clear()
        self.calendar.revoke_grant(grant.grant_id)

    def grants(self, user: str | None = None, client_id: str | None = None) -> list[Grant]:
        with self.lock:
            return [
                g for g in self._grants.values()
                if (user is None or g.user == user)
                and (client_id is None or g.client_id == client_id)
            ]  # fmt: skip
