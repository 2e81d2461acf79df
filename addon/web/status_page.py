"""The operators' status page: ``GET /status`` (HTML) and ``GET /status.json``.

What it shows (``Store.overview``, every query cheap: keys-only counts, bounded lists on
built-in indexes): calendars subscribed and due, calendars retrying work (with their retry
count) or waiting for their user, parked changes with their reasons, the oldest pending
change, the queue (Cloud Tasks ``GetQueue`` stats when the API tells them; the local emulator
does not, and then only what this process created is shown), push channels expiring first,
and the latest sync runs' errors grouped by kind.

Who may see it (nobody named: 404):

* **Identity-Aware Proxy** (``ADDON_STATUS_IAP_AUDIENCE``): the ``x-goog-iap-jwt-assertion``
  header IAP adds is verified (ES256, IAP's keys at ``ADDON_STATUS_IAP_CERTS_URL``, issuer
  ``https://cloud.google.com/iap``, that audience). A request without it falls through to
  sign-in; a header that does not verify is refused (403), never ignored.
* **Google Sign-In** (``addon.web.signin``): the signed-in account must be listed in
  ``ADDON_STATUS_ADMINS`` or belong to the Workspace domain ``ADDON_STATUS_DOMAIN`` (the ID
  token's ``hd`` claim, which only Workspace accounts carry). The same allow-list applies to
  IAP's identities when it is set.

Everyone else: 403 (a page, or JSON for ``/status.json``); anonymous JSON callers get 401.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import google.auth.transport.requests
from flask import Blueprint, Response, jsonify, redirect, request
from flask.typing import ResponseReturnValue
from google.oauth2 import id_token

from addon.services import Services
from addon.settings.model import IAP_ISSUER
from addon.store.errors import StoreError
from addon.web.pages import fragment, page
from addon.web.requests import services
from addon.web.signin import sign_in_available, signed_in, start_url

log = logging.getLogger(__name__)

bp = Blueprint("status_page", __name__)

IAP_HEADER = "x-goog-iap-jwt-assertion"


class _Refused(Exception):
    def __init__(self, status: int, reason: str, text: str) -> None:
        super().__init__(text)
        self.status, self.reason, self.text = status, reason, text


def _allowed(svc: Services, email: str, domain: str | None) -> bool:
    s = svc.settings
    return email.lower() in s.status_admins or (
        s.status_domain is not None and domain == s.status_domain
    )


def _iap_viewer(svc: Services, assertion: str) -> str:
    s = svc.settings
    try:
        claims = id_token.verify_token(
            assertion,
            google.auth.transport.requests.Request(),
            audience=s.status_iap_audience,
            certs_url=s.status_iap_certs_url,
        )
    except Exception as exc:  # any failure to verify is a refusal, never a pass
        log.warning("IAP assertion refused: %s", type(exc).__name__)
        raise _Refused(
            403, "badIapAssertion", "The Identity-Aware Proxy header is not valid."
        ) from None
    email = claims.get("email")
    if claims.get("iss") != IAP_ISSUER or not isinstance(email, str):
        raise _Refused(403, "badIapAssertion", "The Identity-Aware Proxy header is not valid.")
    email = email.removeprefix("accounts.google.com:").lower()
    if (s.status_admins or s.status_domain) and not _allowed(svc, email, claims.get("hd")):
        raise _Refused(403, "notAnAdmin", f"{email} may not see this page.")
    return email


def viewer(svc: Services) -> str:
    """Who is looking (an e-mail), or ``_Refused``."""
    s = svc.settings
    if not s.status_page:
        raise _Refused(404, "notOffered", "No status page is offered here.")
    assertion = request.headers.get(IAP_HEADER)
    if assertion is not None:
        if s.status_iap_audience is None:
            raise _Refused(403, "iapNotConfigured", "Identity-Aware Proxy is not configured here.")
        return _iap_viewer(svc, assertion)
    if not (s.status_admins or s.status_domain) or not sign_in_available(svc):
        raise _Refused(403, "iapRequired", "This page is only served through Identity-Aware Proxy.")
    person = signed_in()
    if person is None:
        raise _Refused(401, "signInRequired", "Sign in with Google to see this page.")
    if not _allowed(svc, person.email, person.hosted_domain):
        raise _Refused(403, "notAnAdmin", f"{person.email} may not see this page.")
    return person.email


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _error_kind(error: str) -> str:
    return error.split(":", 1)[0].split("(", 1)[0].strip() or "error"


def gather(svc: Services) -> dict[str, Any]:
    o = svc.store.overview()
    errors = [r for r in o.runs if r.get("error")]
    queue = svc.queue
    stats = queue.stats() if svc.settings.sync_mode == "tasks" else None
    return {
        "generatedAt": datetime.now(UTC).isoformat(),
        "calendars": {"subscribed": o.subscribed, "due": o.due, "atLeast": o.capped},
        "retrying": [
            {
                "calendarId": c.calendar_id,
                "retryCount": c.retry_count,
                "retryAt": _iso(c.retry_at),
                "lastError": (c.last_result or {}).get("error"),
            }
            for c in o.retrying
        ],
        "waitingForUser": [{"calendarId": c.calendar_id, "reason": c.attention} for c in o.waiting],
        "parked": [
            {
                "calendarId": p.calendar_id,
                "eventId": p.event_id,
                "action": p.action,
                "reason": p.reason,
                "since": _iso(p.since),
            }
            for p in o.parked
        ],
        "oldestPending": (
            {
                "calendarId": o.oldest_pending.calendar_id,
                "eventId": o.oldest_pending.event_id,
                "action": o.oldest_pending.action,
                "reason": o.oldest_pending.reason,
                "since": _iso(o.oldest_pending.since),
            }
            if o.oldest_pending
            else None
        ),
        "queue": {
            "name": svc.settings.tasks_queue if svc.settings.sync_mode == "tasks" else None,
            "mode": svc.settings.sync_mode,
            "stats": stats,
            "statsSource": "Cloud Tasks GetQueue" if stats else "unavailable",
            "createdByThisProcess": queue.counts.created,
            "coalescedByThisProcess": queue.counts.coalesced,
        },
        "channels": [
            {
                "channelId": c["channel_id"],
                "calendarId": c["calendar_id"],
                "status": c["status"],
                "expiresAt": _iso(c["expires_at"]),
            }
            for c in o.channels
        ],
        "errorsByKind": dict(Counter(_error_kind(str(r["error"])) for r in errors)),
        "recentErrors": [
            {"calendarId": r["calendar_id"], "at": _iso(r["at"]), "error": str(r["error"])[:300]}
            for r in errors[:20]
        ],
        "runsRead": len(o.runs),
    }


HTML = """
<p class="muted">Signed in as {{ who }} · {{ d.generatedAt }} ·
<a href="/status.json">JSON</a></p>
<div class="tiles">
<div class="tile" data-testid="subscribed"><div class="num">{{ d.calendars.subscribed }}</div>calendars subscribed</div>
<div class="tile" data-testid="due"><div class="num">{{ d.calendars.due }}</div>due for work</div>
<div class="tile"><div class="num">{{ d.parked|length }}</div>parked changes</div>
<div class="tile"><div class="num">{{ d.queue.stats.tasks if d.queue.stats else "?" }}</div>tasks in the queue</div>
</div>
<h2>Parked (need a person)</h2>
{% if d.parked %}<table id="parked"><tr><th>calendar</th><th>event</th><th>what</th><th>reason</th><th>since</th></tr>
{% for p in d.parked %}<tr><td>{{ p.calendarId }}</td><td>{{ p.eventId }}</td><td>{{ p.action }}</td>
<td class="bad">{{ p.reason }}</td><td>{{ p.since or "" }}</td></tr>{% endfor %}</table>
{% else %}<p class="ok">None.</p>{% endif %}
<h2>Oldest pending change</h2>
{% if d.oldestPending %}<p>{{ d.oldestPending.calendarId }} / {{ d.oldestPending.eventId }}:
{{ d.oldestPending.action }} since {{ d.oldestPending.since }} ({{ d.oldestPending.reason }})</p>
{% else %}<p class="ok">None.</p>{% endif %}
<h2>Retrying and waiting</h2>
{% if d.retrying or d.waitingForUser %}<table>
{% for c in d.retrying %}<tr><td>{{ c.calendarId }}</td><td>retry {{ c.retryCount }} at {{ c.retryAt }}</td><td>{{ c.lastError or "" }}</td></tr>{% endfor %}
{% for c in d.waitingForUser %}<tr><td>{{ c.calendarId }}</td><td>waits for its user</td><td class="bad">{{ c.reason }}</td></tr>{% endfor %}
</table>{% else %}<p class="ok">None.</p>{% endif %}
<h2>Queue</h2>
<p>{% if d.queue.name %}{{ d.queue.name }} · {% endif %}mode {{ d.queue.mode }} ·
{% if d.queue.stats %}{{ d.queue.stats.tasks }} task(s), oldest {{ d.queue.stats.oldestTask or "none" }},
{{ d.queue.stats.executedLastMinute }} run in the last minute, {{ d.queue.stats.concurrentDispatches }} in flight
{% else %}depth unknown (Cloud Tasks did not report stats){% endif %} ·
this process created {{ d.queue.createdByThisProcess }}, coalesced {{ d.queue.coalescedByThisProcess }}</p>
<h2>Push channels expiring first</h2>
{% if d.channels %}<table>{% for c in d.channels %}<tr><td>{{ c.calendarId }}</td><td>{{ c.status }}</td><td>{{ c.expiresAt }}</td></tr>{% endfor %}</table>
{% else %}<p class="muted">No channels.</p>{% endif %}
<h2>Recent errors by kind</h2>
{% if d.errorsByKind %}<table id="errors">{% for k, n in d.errorsByKind.items() %}<tr><td>{{ k }}</td><td>{{ n }}</td></tr>{% endfor %}</table>
{% else %}<p class="ok">No errors in the last {{ d.runsRead }} runs.</p>{% endif %}
"""  # noqa: E501


def _refusal(exc: _Refused, as_json: bool) -> ResponseReturnValue:
    if as_json:
        response = jsonify(
            {"error": {"code": exc.status, "reason": exc.reason, "message": exc.text}}
        )
        response.status_code = exc.status
        response.headers["Cache-Control"] = "no-store"
        return response
    if exc.status == 401:
        return redirect(start_url("/status"), code=303)
    return page(exc.status, "Status", fragment("<p>{{ t }}</p>", t=exc.text), reason=exc.reason)


@bp.get("/status")
def status_html() -> ResponseReturnValue:
    svc = services()
    try:
        who = viewer(svc)
        data = gather(svc)
    except _Refused as exc:
        return _refusal(exc, as_json=False)
    except StoreError:
        return page(503, "Status", "<p>Datastore did not answer; reload.</p>", reason="retryLater")
    return page(200, "Add-on status", fragment(HTML, d=data, who=who), wide=True)


@bp.get("/status.json")
def status_json() -> ResponseReturnValue:
    svc = services()
    try:
        who = viewer(svc)
        data = gather(svc)
    except _Refused as exc:
        return _refusal(exc, as_json=True)
    except StoreError:
        return _refusal(_Refused(503, "retryLater", "Datastore did not answer."), as_json=True)
    response: Response = jsonify({**data, "viewer": who})
    response.headers["Cache-Control"] = "no-store"
    return response
