"""A fake Zoom: OAuth (user-level app) and the Meetings API in Zoom's documented shapes.

``state.ZoomState`` holds accounts' tokens (``localgoogle.vendors.oauth``, rotating refresh
tokens as Zoom's), meetings, a call log and faults; ``http.zoom_blueprint(state)`` serves it
(mountable under a prefix such as ``/_zoom``).

OAuth: ``GET /oauth/authorize`` (consent page: an ``account`` field, Allow / Deny) and its
``POST`` (302 to ``redirect_uri?code&state``), ``POST /oauth/token`` (client authentication by
HTTP Basic; ``authorization_code`` with PKCE, ``refresh_token``: each refresh answers a new
refresh token and retires the old one; ``invalid_grant`` once revoked), ``POST /oauth/revoke``.

API (``Authorization: Bearer``; an unknown, expired or revoked token → 401
``{"code": 124, "message": "Invalid access token."}``):

``POST   /v2/users/me/meetings``            → 201 meeting (``id`` number, ``join_url``,
                                            ``password``, ``pstn_password``,
                                            ``settings.global_dial_in_numbers``; type 8 with
                                            ``recurrence`` → ``occurrences`` with
                                            ``occurrence_id`` = start in epoch milliseconds)
``GET    /v2/users/me/meetings``            list (``page_size``, ``next_page_token``; items with
                                            ``agenda``)
``GET    /v2/meetings/{id}``                the meeting
``PATCH  /v2/meetings/{id}``                → 204; ``?occurrence_id=`` changes one occurrence
``DELETE /v2/meetings/{id}``                → 204; ``?occurrence_id=`` cancels one occurrence
                                            (status ``deleted``)

Errors ``{"code", "message"}``: 404 code 3001 meeting not found, 400 code 300 invalid field,
429 with ``Retry-After`` and ``X-RateLimit-Category``/``-Type``/``-Limit``/``-Remaining``
(fault ``ratelimit``), 503 (fault ``down``).

Control (``/_control/…``, never faulted or logged): ``GET meetings``, ``GET calls``
(``{method, op, meetingId, occurrenceId, status, outcome}``), ``GET stats`` (token-endpoint
calls per grant type, refusals, revocations), ``POST reset``, ``POST faults`` ``{"mode":
"down"|"ratelimit"|"none", "count": N, "retryAfter": S}``, ``POST expire-tokens`` (every access
token issued so far stops working), ``POST revoke`` ``{"account"}`` (the user revoked the app).
"""

from localgoogle.vendors.zoom.http import create_zoom_app, zoom_blueprint
from localgoogle.vendors.zoom.state import ZoomState

__all__ = ["ZoomState", "create_zoom_app", "zoom_blueprint"]
