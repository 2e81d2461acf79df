"""A fake Webex: the Meetings REST API and the OAuth 2.0 server of Webex integrations, in
Webex's documented shapes (developer.webex.com: "Meetings", "Meeting Invitees",
"Integrations", "API Errors").

Meetings API (``Authorization: Bearer <access token>``; scopes ``meeting:schedules_read`` /
``meeting:schedules_write``, else 403):

``POST   /v1/meetings``              create: ``title, start, end, timezone, recurrence (RFC 2445
                                     rule), password?, agenda?, invitees[{email}],
                                     integrationTags[≤3, ≤64 chars]`` → 200 series with
                                     ``webLink, meetingNumber, password, sipAddress,
                                     telephony{accessCode, callInNumbers[{label, callInNumber,
                                     tollType}]}``; duration 10 min to 24 h; start not in the past
``GET    /v1/meetings``              ``meetingType=meetingSeries`` (default; series overlapping
                                     ``from``..``to``, optionally one ``integrationTag``) or
                                     ``scheduledMeeting`` (occurrences starting in ``from``..``to``,
                                     of ``meetingSeriesId``) → ``{items}``
``GET    /v1/meetings/<id>``         a series or an occurrence
``PUT    /v1/meetings/<id>``         the whole meeting: ``title``, ``password``, ``start``, ``end``
                                     required (400 without); an occurrence id moves that one
``DELETE /v1/meetings/<id>``         → 204; an occurrence id cancels that one; 404 when unknown
``GET    /v1/meetingInvitees``       ``?meetingId=`` → ``{items}``; ``POST`` ``{meetingId, email}``
                                     (409 when already invited); ``DELETE /v1/meetingInvitees/<id>``

Errors: ``{message, errors[{description}], trackingId}`` (also the ``TrackingID`` header);
401 for a missing, expired or revoked token; 429 with ``Retry-After`` from the ``ratelimit``
fault. OAuth: ``localgoogle.vendors.webex.oauth``. Control API (``/_control/…``): ``meetings``,
``clients`` (register ``{clientId, clientSecret, redirectUris}``), ``tokens`` (mint a pair for
``{email}``), ``expire`` (``{email}`` or ``{token}``: access tokens answer 401, refresh works),
``revoke`` (``{email}``: every token of the user, refresh answers ``invalid_grant``),
``stats`` (``{tokenCalls: {grant type: count}}``), and the faults, calls and reset of
``localgoogle.vendors.toolkit``.
"""

from localgoogle.vendors.webex.http import WebexState, create_webex_app, webex_blueprint
from localgoogle.vendors.webex.oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "WebexState",
    "create_webex_app",
    "webex_blueprint",
]
