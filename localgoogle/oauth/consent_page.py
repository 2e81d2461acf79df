"""The HTML of the authorization page: the consent form and the error page.

The consent form posts (``application/x-www-form-urlencoded``) to the path it was served
from (``/o/oauth2/v2/auth`` or ``/o/oauth2/auth``). Its fields, stable for browser tests and
for clients that post it with ``requests``:

================  ==========================================================================
``authRequest``   hidden; the pending request's id (single use, valid an hour)
``account``       radio, one per emulator user (``id="account-<n>"``); ``login_hint``
                  preselects its account, else the first one is selected
``scope``         checkbox, one per requested scope, all checked (``id="scope-<n>"``);
                  unchecking one is granular consent: the grant lacks that scope
``decision``      the submit buttons: ``allow`` (``id="submit_approve_access"``, "Allow")
                  or ``deny`` (``id="submit_deny_access"``, "Cancel")
================  ==========================================================================

The app's name is in ``id="app-name"``. Public functions: ``render_consent``, ``render_error``.
"""

from __future__ import annotations

from html import escape

from localgoogle.oauth.errors import AuthorizationPageError
from localgoogle.oauth.models import AuthorizationRequest

_STYLE = (
    "body{font-family:sans-serif;max-width:34rem;margin:2rem auto;color:#202124}"
    "fieldset{border:1px solid #dadce0;border-radius:8px;margin:1rem 0}"
    "label{display:block;margin:.4rem 0;word-break:break-all}"
    "button{margin-right:.5rem;padding:.4rem 1.2rem}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} - Google Accounts (local emulator)</title>"
        f"<style>{_STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def render_consent(
    request: AuthorizationRequest, app_name: str, accounts: list[str], action: str
) -> str:
    chosen = request.login_hint if request.login_hint in accounts else None
    chosen = chosen or (accounts[0] if accounts else None)
    radios = (
        "".join(
            f'<label><input type="radio" name="account" id="account-{n}" value="{escape(email)}"'
            f"{' checked' if email == chosen else ''}> {escape(email)}</label>"
            for n, email in enumerate(accounts)
        )
        or '<p>No accounts yet: <code>POST /_emulator/users {"email"}</code> creates one.</p>'
    )
    boxes = "".join(
        f'<label><input type="checkbox" name="scope" id="scope-{n}" value="{escape(scope)}"'
        f" checked> {escape(scope)}</label>"
        for n, scope in enumerate(request.scopes)
    )
    name = escape(app_name)
    body = (
        f'<h1>Sign in</h1><p>to continue to <strong id="app-name">{name}</strong></p>'
        f'<form method="post" action="{escape(action)}" id="consent">'
        f'<input type="hidden" name="authRequest" value="{escape(request.request_id)}">'
        f'<fieldset id="accounts"><legend>Choose an account</legend>{radios}</fieldset>'
        f'<fieldset id="scopes"><legend>{name} wants to access your Google Account</legend>'
        f"{boxes}</fieldset>"
        '<button type="submit" name="decision" value="deny" id="submit_deny_access">'
        "Cancel</button>"
        '<button type="submit" name="decision" value="allow" id="submit_approve_access">'
        "Allow</button></form>"
    )
    return _page("Sign in", body)


def render_error(error: AuthorizationPageError) -> str:
    body = (
        "<h1>Access blocked: this app's request is invalid</h1>"
        f'<p id="error-code">Error {error.code}: {escape(error.error)}</p>'
        f'<p id="error-description">{escape(error.description)}</p>'
    )
    return _page("Error", body)
