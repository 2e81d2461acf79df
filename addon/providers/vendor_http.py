"""What the providers that call a vendor's HTTP API share: sending, and turning a failed answer
into the ``ProviderError`` the add-on acts on.

``send``             one request; no answer at all (``TransportError``) → ``ProviderUnavailable``.
``failure``          the error for an answer that is not a success: 401 of a user's token →
                     ``ProviderAccountExpired`` (refresh, retry once); 408, 429, 5xx →
                     ``ProviderUnavailable`` with the wait the vendor asked for; any other
                     status → ``ProviderRefused``.
``BearerJsonApi``    a JSON API called with ``Authorization: Bearer <token>`` (Zoom, Graph,
                     Webex as a user; Daily with its API key): both of the above, with the
                     vendor's own reading of its error bodies.
``oauth_client``     the ``client_id``/``client_secret`` options of a vendor users link to.
``LinkedAccountProvider``  base of the vendors acting as a linked account: ``with_account``,
                     and calls refused up front without one.

What stays in each vendor's module: its paths and bodies, how its errors read, which statuses
mean success for one call (404 on delete: already gone), and anything peculiar (Zoom's daily
limit, Webex's unlinked call asking for a link, REST's ``authenticationUrl``).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Self

from addon.providers.base import (
    ConferenceProvider,
    ProviderAccountExpired,
    ProviderError,
    ProviderRefused,
    ProviderUnavailable,
    VendorAccount,
)
from addon.providers.http import HttpResponse, HttpTransport, TransportError
from addon.providers.options import OptionReader

# Worth retrying besides 5xx: a request timeout and a rate limit.
RETRYABLE_4XX = frozenset({408, 429})


def retryable(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_4XX


def asked_wait(response: HttpResponse) -> float | None:
    """The wait an answer's ``Retry-After`` asks for (seconds or an HTTP date), or None."""
    return response.retry_after(time.time())


def send(
    http: HttpTransport,
    method: str,
    url: str,
    *,
    what: str,
    headers: Mapping[str, str],
    timeout: float,
    json: Any = None,
    params: Mapping[str, str] | None = None,
) -> HttpResponse:
    """One request; ``what`` names it in the error when no answer came."""
    try:
        return http.send(method, url, headers=headers, json=json, params=params, timeout=timeout)
    except TransportError as exc:
        raise ProviderUnavailable(f"{what}: {exc}") from exc


def failure(
    response: HttpResponse,
    message: str,
    *,
    user_token: bool = False,
    wait: Callable[[HttpResponse], float | None] = asked_wait,
) -> ProviderError:
    """The error to raise for a failed answer. ``user_token``: the request carried a linked
    account's token, so a 401 means that token expired; a deployment's own key refused is the
    deployment's problem (``ProviderRefused``), with no account to refresh."""
    status = response.status
    if user_token and status == 401:
        return ProviderAccountExpired(message)
    if retryable(status):
        return ProviderUnavailable(message, wait(response))
    return ProviderRefused(message, status)


@dataclass(frozen=True)
class BearerJsonApi:
    """A vendor's JSON API at ``base_url`` called with a bearer token.

    ``vendor`` names it in messages (``"Zoom POST /users/me/meetings: …"``); ``reason`` turns a
    failed answer (status, JSON body or None) into the rest of the message, in the vendor's
    terms; ``wait`` reads the vendor's rate-limit answers.
    """

    vendor: str
    base_url: str
    http: HttpTransport
    timeout: float
    reason: Callable[[int, Any], str]
    user_token: bool = False
    wait: Callable[[HttpResponse], float | None] = asked_wait

    def call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        ok: Collection[int] = (),
    ) -> HttpResponse:
        """The answer of a success (2xx, or a status in ``ok``); any other raises."""
        what = f"{self.vendor} {method} {path}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        response = send(
            self.http,
            method,
            self.base_url + path,
            what=what,
            headers=headers,
            json=json,
            params=params,
            timeout=self.timeout,
        )
        status = response.status
        if 200 <= status < 300 or status in ok:
            return response
        message = f"{what}: {self.reason(status, response.json())}"
        raise failure(response, message, user_token=self.user_token, wait=self.wait)


def oauth_client(opts: OptionReader, app: str) -> tuple[str, str]:
    """The required ``client_id`` and ``client_secret`` of ``app`` (as the errors name it:
    "the Zoom OAuth app")."""
    client_id = opts.required_string("client_id", f"{app}'s client id")
    return client_id, opts.required_string("client_secret", f"{app}'s client secret")


class LinkedAccountProvider(ConferenceProvider):
    """A vendor whose API acts as the user's linked account (see ``base``): built once from
    the options with its ``_api``, then copied per call with the account's token."""

    _api: BearerJsonApi
    _account: VendorAccount | None = None

    def with_account(self, account: VendorAccount) -> Self:
        acting = copy.copy(self)
        acting._account = account
        return acting

    def _unlinked(self, what: str) -> ProviderError:
        """Called without an account: as if its token had expired (the caller refreshes)."""
        return ProviderAccountExpired(f"{what}: no linked account")

    def _as_account(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        ok: Collection[int] = (),
    ) -> HttpResponse:
        """``_api.call`` with the linked account's token."""
        if self._account is None:
            raise self._unlinked(f"{self._api.vendor} {method} {path}")
        token = self._account.access_token
        return self._api.call(method, path, token, json=json, params=params, ok=ok)
