"""A fake Microsoft Graph (online meetings) with the Microsoft identity platform's v2.0 OAuth.

``state.GraphState`` holds tokens (``localgoogle.vendors.oauth``), online meetings, a call log
and faults; ``http.graph_blueprint(state)`` serves it (mountable under a prefix such as
``/_graph``).

OAuth: ``GET|POST /{tenant}/oauth2/v2.0/authorize`` (consent page with an ``account`` field,
Allow / Deny; 302 to ``redirect_uri?code&state``), ``POST /{tenant}/oauth2/v2.0/token``
(client secret in the form; ``authorization_code`` with PKCE, ``refresh_token``; errors
``{"error", "error_description", "error_codes"}``). No revocation endpoint (Microsoft has none
for an app's user tokens).

API (``Authorization: Bearer``; a bad token → 401 ``InvalidAuthenticationToken``):

``POST   /v1.0/me/onlineMeetings/createOrGet``  with ``externalId``: 201 created, or 200 with
                                               the meeting made earlier under that id
``GET    /v1.0/me/onlineMeetings/{id}``         the meeting
``PATCH  /v1.0/me/onlineMeetings/{id}``         subject, startDateTime, endDateTime,
                                               participants → 200 meeting
``DELETE /v1.0/me/onlineMeetings/{id}``         → 204; 404 ``NotFound`` when unknown

Meetings carry ``joinWebUrl`` and ``audioConferencing`` (``tollNumber``, ``tollFreeNumber``,
``conferenceId``, ``dialinUrl``). Errors ``{"error": {"code", "message"}}``; faults ``down``
(503) and ``ratelimit`` (429 ``TooManyRequests`` with ``Retry-After``).

Control (``/_control/…``) as the fake Zoom's: ``meetings``, ``calls``, ``stats``, ``reset``,
``faults``, ``expire-tokens``, ``revoke``.
"""

from localgoogle.vendors.graph.http import create_graph_app, graph_blueprint
from localgoogle.vendors.graph.state import GraphState

__all__ = ["GraphState", "create_graph_app", "graph_blueprint"]
