"""``LinkedAccounts``: the linking flow's steps (see ``addon.linking``) and the use of a link.

Linking steps, each called by one endpoint of ``addon.web.link``:

* ``start_url(user, solution_id)`` — a new flow for the verified user; our start page's URL.
* ``opened(state, solution_id)`` — the flow the start page shows (nothing consumed).
* ``begin_signin(state, solution_id)`` — step ``issued → google``: Google's sign-in URL.
* ``finish_signin(state, code)`` — step ``google → vendor``: Google's code exchanged, its ID
  token verified and its ``sub`` compared with the flow's; the vendor's authorization URL.
* ``finish_vendor(state, code)`` — the flow taken (deleted): the vendor's code exchanged with
  the PKCE verifier, the tokens stored sealed. Returns the link and the unlink form's token.
* ``unlink(token)`` — revoke at the vendor (when it has a revocation endpoint), forget the link.

Every refusal is a ``LinkError`` (reason, message for the user, HTTP status) raised before
anything is stored.

Using a link: ``call_as(provider, solution_id, owner_id, fn)`` runs ``fn`` with the provider
acting as the owner's linked account (refreshed first when expired); when the vendor refuses
the token (``ProviderAccountExpired``) it refreshes and runs ``fn`` once more. Refreshes are
serialized per link: a claim is taken on the stored link by compare-and-set, and whoever loses
waits for the winner's tokens instead of spending the same (rotating) refresh token; the new
tokens are written only over the version the refresh started from. A refused refresh
(``invalid_grant``) drops the link, once, and raises ``AccountNotLinked``; a refusal of the
app itself (``invalid_client``: a rotated client secret) keeps every link and raises
``ProviderRefused``.
"""

from __future__ import annotations

from addon.linking.errors import AccountNotLinked, LinkError
from addon.linking.flow import (
    GOOGLE_CALLBACK_PATH,
    MAX_AUTHENTICATION_URL,
    START_PATH,
    VENDOR_CALLBACK_PATH,
    LinkingFlow,
)
from addon.linking.use import APP_REFUSALS, EXPIRY_SKEW, AccountUse

__all__ = [
    "APP_REFUSALS",
    "EXPIRY_SKEW",
    "GOOGLE_CALLBACK_PATH",
    "MAX_AUTHENTICATION_URL",
    "START_PATH",
    "VENDOR_CALLBACK_PATH",
    "AccountNotLinked",
    "LinkError",
    "LinkedAccounts",
]


class LinkedAccounts(LinkingFlow, AccountUse):
    """Users' linked vendor accounts: the flow's steps (``addon.linking.flow``) and their use
    (``addon.linking.use``), over one set of collaborators (``addon.linking.common``)."""
