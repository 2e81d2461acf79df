"""The user's own offline-sync page, and Google's OAuth redirect back to it.

* ``GET  /offline?u=LINK``      — the page: is offline sync on, for which calendars; a button to
  turn it on (or off). ``LINK`` is the signed, short-lived link the add-on's home card shows.
* ``POST /offline/start``        — (form ``u``) starts Google's consent, a 303 to Google.
* ``GET  /offline/callback``     — Google's redirect (``code`` and ``state``, or ``error``):
  the consent is checked against the user who started it, stored, and the user's calendars get
  a push channel and a catch-up sync.
* ``POST /offline/revoke``       — (form ``u``) turns it off: channels stopped while the grant
  still works, the grant revoked at Google and dropped.

These are pages a person sees in a browser, so errors are small HTML pages with the right
status and a machine reason (``data-reason``), never a 500; they cannot be framed.
"""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, Response, redirect, request
from flask.typing import ResponseReturnValue

from addon.auth import VerifiedUser
from addon.channels.lifecycle import stop_channel
from addon.credentials.common import TokenServiceUnavailable
from addon.credentials.links import LinkError, read_link_token
from addon.credentials.offline import ConsentError, OfflineConsent
from addon.services import Services
from addon.store.errors import StoreError
from addon.tasks import names
from addon.tasks.body import ChannelTaskBody, TaskBody
from addon.tasks.queue import QueueUnavailable
from addon.web.pages import StepButton, step_page
from addon.web.requests import services

log = logging.getLogger(__name__)

bp = Blueprint("offline", __name__, url_prefix="/offline")


def _page(
    status: int,
    title: str,
    *lines: str,
    reason: str = "ok",
    form: StepButton | None = None,
) -> Response:
    # "Turn on" is redirected to Google's authorization page.
    auth_uri = services().settings.oauth_auth_uri
    return step_page(
        status, title, lines, main_id="offline", reason=reason, button=form, redirects_to=auth_uri
    )


def _form(action: str, link: str | None, button: str, id_: str, cls: str = "") -> StepButton:
    return StepButton(action, "u", link or "", button, id_, cls)


class _Refused(Exception):
    """The page to answer instead (not offered here, a bad link): raised, answered as is."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


@bp.errorhandler(_Refused)
def _refused(exc: _Refused) -> Response:
    return exc.response


def _offered() -> tuple[Services, OfflineConsent]:
    svc = services()
    consent = svc.access.offline
    if consent is None:
        raise _Refused(_not_offered())
    return svc, consent


def _linked(svc: Services, token: str | None) -> VerifiedUser:
    try:
        return read_link_token(svc.settings.secret_key, token)
    except LinkError as exc:
        raise _Refused(_bad_link(exc)) from None


_LINK_PROBLEMS = {
    "missingLink": "This page needs the link from the add-on in Calendar.",
    "linkExpired": "This link has expired. Open the add-on in Calendar again for a new one.",
    "badLink": "This link is not valid. Open the add-on in Calendar again for a new one.",
}


def _bad_link(exc: LinkError) -> Response:
    return _page(400 if exc.reason != "linkExpired" else 403, "Link not valid",
                 _LINK_PROBLEMS[exc.reason], reason=exc.reason)  # fmt: skip


def _not_offered() -> Response:
    return _page(
        404,
        "Offline sync is not offered",
        "This installation keeps meetings in sync when you edit events in Calendar.",
        reason="notOffered",
    )


@bp.get("")
def page() -> ResponseReturnValue:
    svc, _consent = _offered()
    link = request.args.get("u")
    user = _linked(svc, link)
    grant = svc.store.get_grant(user.user_id)
    calendars = svc.store.calendars_of_user(user.user_id)
    count = f"{len(calendars)} calendar(s) with our meetings are synced as {user.email}."
    if grant is not None and grant.usable:
        return _page(
            200,
            "Offline sync is on",
            f"Meetings follow {user.email}'s calendars even when you are away from Calendar.",
            count,
            form=_form("/offline/revoke", link, "Turn off", "turn-off", "off"),
        )
    lines = [f"Meetings follow {user.email}'s calendars only when you edit them in Calendar."]
    if grant is not None and grant.reason:
        lines.append(f"Your earlier consent no longer works: {grant.reason}.")
    lines.append(count)
    lines.append(
        "Turn it on to let this add-on read and update your calendar's events while you "
        "are away (you can turn it off here or in your Google Account at any time)."
    )
    return _page(
        200,
        "Offline sync is off",
        *lines,
        form=_form("/offline/start", link, "Turn on", "turn-on"),
    )


@bp.post("/start")
def start() -> ResponseReturnValue:
    svc, consent = _offered()
    user = _linked(svc, request.form.get("u"))
    try:
        url = consent.start(user.user_id, user.email)
    except StoreError:
        return _page(503, "Try again", "Please try again in a moment.", reason="retryLater")
    return redirect(url, code=303)


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    svc, consent = _offered()
    state, code, error = (request.args.get(k) for k in ("state", "code", "error"))
    if error:
        if state:
            svc.store.take_consent_flow(state)  # used up either way
        return _page(
            403 if error == "access_denied" else 400,
            "Offline sync stays off",
            "You did not allow access, so nothing changed."
            if error == "access_denied"
            else "Google did not complete the sign-in, so nothing changed.",
            reason="accessDenied" if error == "access_denied" else "consentFailed",
        )
    if not state or not code or len(state) > 200 or len(code) > 2048:
        return _page(400, "Link not valid", "This address is incomplete.", reason="badCallback")
    try:
        done = consent.finish(state, code)
    except ConsentError as exc:
        return _page(403 if exc.reason == "wrongUser" else 400, "Offline sync stays off",
                     str(exc), reason=exc.reason)  # fmt: skip
    except (TokenServiceUnavailable, StoreError):
        return _page(503, "Try again", "Google could not be reached; start again in a moment.",
                     reason="retryLater")  # fmt: skip
    calendars = _catch_up(svc, done.user_id, done.flow_id)
    return _page(
        200,
        "Offline sync is on",
        f"Meetings now follow {done.email}'s calendars even when you are away from Calendar.",
        f"{calendars} calendar(s) are being brought up to date. You can close this tab.",
    )


@bp.post("/revoke")
def revoke() -> ResponseReturnValue:
    svc, consent = _offered()
    user = _linked(svc, request.form.get("u"))
    stopped = 0
    for state in svc.store.get_calendars(svc.store.calendars_of_user(user.user_id)):
        if state.channel_id is None:
            continue
        try:
            # While the grant still works: a channel stopped now sends nothing more.
            stop_channel(svc, state.calendar_id, state.channel_id)
            stopped += 1
        except Exception as exc:  # the user asked to turn it off: never fail that
            log.warning("stopping a channel on revocation failed: %s", type(exc).__name__)
    held = consent.revoke(user.user_id)
    return _page(
        200,
        "Offline sync is off",
        "The add-on no longer holds access to your calendar while you are away."
        if held
        else "Offline sync was already off.",
        f"Push channels stopped: {stopped}.",
        reason="revoked" if held else "wasOff",
    )


def _catch_up(svc: Services, user_id: str, consent_id: str) -> int:
    """After consent: each of the user's calendars gets a push channel and a sync (its work
    left behind, if any, runs now with the new credentials). Task ids name the consent, so a
    second consent soon after the first still gets its own."""
    calendars = svc.store.calendars_of_user(user_id)
    once = hashlib.sha256(consent_id.encode()).hexdigest()[:16]
    for state in svc.store.get_calendars(calendars):
        prefix = names.calendar_hash(state.calendar_id)
        try:
            if svc.settings.push_channels and state.channel_id is None:
                body = ChannelTaskBody(state.calendar_id, "open")
                svc.queue.enqueue(f"{prefix}-gc{once}", body)
            svc.queue.enqueue(f"{prefix}-gs{once}", TaskBody(state.calendar_id, "check"))
        except (QueueUnavailable, StoreError) as exc:
            # The periodic check still comes; the consent itself is stored.
            log.warning("catch-up after consent not enqueued: %s", type(exc).__name__)
    return len(calendars)
