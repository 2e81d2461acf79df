"""Account linking: a Calendar user links their own account on a vendor (Zoom, Microsoft
Teams...) so meetings are made as that account. One flow for every provider whose
``account_link()`` is not None (``addon.providers.base.AccountLink``).

1. onCreate finds no usable link for the verified Google user (``sub``) and the solution, and
   answers ``AUTHENTICATION`` with ``LinkedAccounts.start_url``: our own
   ``/link/<solution>/start?state=…``. The state is signed (``addon.linking.state``), lasts
   ``STATE_MAX_AGE`` and names a stored ``LinkFlow`` whose every step can happen once.
2. The start page asks the user to continue; Google Sign-In (OpenID Connect, the add-on's own
   OAuth client) confirms the Google account: its verified ID token's ``sub`` must be the one
   the state was issued to, else nothing is stored and the flow is gone.
3. The vendor's OAuth 2.0 authorization-code flow with PKCE (S256); the callback exchanges the
   code and stores the vendor's tokens sealed per (Google user, solution) (``addon.store.links``).
4. Calls use ``LinkedAccounts.account``: refreshed before use when expired, and once more after
   the vendor refused the token (``ProviderAccountExpired``). A refused refresh drops the link
   (``AccountNotLinked``): onCreate asks to link again, the sync parks the change as needing
   attention. Never a loop: a dropped link is not refreshed again.
"""

from addon.linking.accounts import LinkedAccounts
from addon.linking.errors import AccountNotLinked, LinkError
from addon.linking.state import STATE_MAX_AGE

__all__ = ["STATE_MAX_AGE", "AccountNotLinked", "LinkError", "LinkedAccounts"]
