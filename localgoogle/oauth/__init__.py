"""Google's OAuth 2.0 authorization server and IAM Credentials signing, for the unmodified
google-auth, google-auth-oauthlib and requests.

Emulated (each module names the Google document it follows):

* the authorization code flow of "Using OAuth 2.0 for Web Server Applications": the
  authorization page with account choice and granular consent (``authorize``,
  ``consent_page``), codes bound to client, redirect URI and PKCE challenge, refresh tokens
  for ``access_type=offline``, ID tokens for OpenID Connect scopes, refresh, revocation
  (``token_grants``, ``views``);
* the JWT-bearer grant of "Using OAuth 2.0 for Server to Server Applications", with
  domain-wide delegation as a Workspace admin configures it (``assertions``);
* IAM Credentials ``signBlob`` / ``signJwt`` (``iam``) with each service account's key
  (``keys``), the same key its exported key file carries;
* a control API ``/_oauth/`` (``control``): clients, service accounts and key files,
  delegations, a user revoking an app, grants, stats, reset.

Access tokens are minted by the Calendar emulator through ``localgoogle.seams
.OAuthCalendarAccess``: Calendar honours their expiry (emulator clock), scopes and
revocation. ID tokens are signed by ``mint``, a plain callable (the add-on host's issuer in
``localgoogle.app``), so they verify against ``/oauth2/v1/certs``. This package imports
nothing of the Calendar, the add-on host, the vendors or Cloud Tasks.

``register(app, calendar, mint)`` mounts the routes and puts the ``OAuthEmulator`` on
``app.extensions["oauth"]``.
"""

from __future__ import annotations

from flask import Flask

from localgoogle.oauth import control, views
from localgoogle.oauth.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    IdTokenMint,
    OAuthEmulator,
)
from localgoogle.seams import OAuthCalendarAccess

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "IdTokenMint",
    "OAuthEmulator",
    "register",
]


def register(app: Flask, calendar: OAuthCalendarAccess, mint: IdTokenMint) -> OAuthEmulator:
    """Build the emulator on ``calendar``, mount its routes on ``app`` and return it."""
    emulator = OAuthEmulator(calendar, mint)
    app.extensions["oauth"] = emulator
    app.register_blueprint(views.bp)
    app.register_blueprint(control.bp)
    return emulator
