"""Account linking pages (``addon.linking``): what a person sees in the browser.

* ``GET  /link/<solution>/start?state=S`` — the page Calendar's ``AUTHENTICATION`` error opens:
  who is linking what, and a Continue button (nothing is consumed by opening it).
* ``POST /link/<solution>/start`` (form ``state``) — the flow's first step: a 303 to Google
  Sign-In, which confirms the Google account.
* ``GET  /link/google/callback`` — Google's redirect (``code``/``state`` or ``error``): the
  signed-in account must be the one the link was made for; then a 303 to the vendor's
  authorization page (PKCE).
* ``GET  /link/callback`` — the vendor's redirect: the code exchanged, the tokens stored
  sealed; the page says to pick the conference again and offers Unlink.
* ``GET  /link/<solution>/new?r=R`` — a card's "Link account" button (a signed request naming
  the user, 30 minutes): makes the single-use flow and redirects (303) to the start page.
* ``GET  /link/<solution>/unlink?token=T`` — the Unlink confirmation page the cards and the
  settings page open (its form carries the token).
* ``POST /link/<solution>/unlink`` (form ``token``, a signed, user-bound, short-lived token only
  a confirmation page carries: CSRF protection) — revoke at the vendor, forget the link.

Errors are small HTML pages with a 4xx status and a machine reason (``data-reason``), never a
500, and nothing stored; the pages cannot be framed.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, redirect, request
from flask.typing import ResponseReturnValue

from addon.linking import LinkedAccounts, LinkError
from addon.store.errors import StoreError
from addon.web.pages import StepButton, step_page
from addon.web.requests import services

log = logging.getLogger(__name__)

bp = Blueprint("link", __name__, url_prefix="/link")

MAX_PARAM = 2048


def _page(
    status: int,
    title: str,
    *lines: str,
    reason: str = "ok",
    form: StepButton | None = None,
) -> Response:
    # "Continue" is redirected to Google Sign-In.
    auth_uri = services().settings.oauth_auth_uri
    return step_page(
        status, title, lines, main_id="link", reason=reason, button=form, redirects_to=auth_uri
    )


def _unlink_button(solution_id: str, token: str) -> StepButton:
    return StepButton(f"/link/{solution_id}/unlink", "token", token, "Unlink", "unlink", "off")


def _refused(exc: LinkError) -> Response:
    return _page(exc.status, "Account not linked", str(exc), reason=exc.reason)


def _accounts() -> LinkedAccounts:
    return services().links


def _name(solution_id: str) -> str:
    solution = services().settings.solution(solution_id)
    return solution.name if solution is not None else solution_id


def _param(value: str | None) -> str | None:
    return value if value and len(value) <= MAX_PARAM else None


@bp.get("/<solution_id>/start")
def start_page(solution_id: str) -> ResponseReturnValue:
    state = _param(request.args.get("state"))
    try:
        flow = _accounts().opened(state, solution_id)
    except LinkError as exc:
        return _refused(exc)
    except StoreError:
        return _page(503, "Try again", "Please try again in a moment.", reason="retryLater")
    name = _name(solution_id)
    return _page(
        200,
        f"Link your account for {name}",
        f"{name} makes meetings as your own account on the conferencing system.",
        f"Continue to confirm your Google account ({flow.email}), then sign in to the "
        "conferencing system and allow access. Then pick the conference in Calendar again.",
        reason="start",
        form=StepButton(f"/link/{solution_id}/start", "state", state or "", "Continue", "continue"),
    )


@bp.post("/<solution_id>/start")
def start(solution_id: str) -> ResponseReturnValue:
    try:
        url = _accounts().begin_signin(_param(request.form.get("state")), solution_id)
    except LinkError as exc:
        return _refused(exc)
    except StoreError:
        return _page(503, "Try again", "Please try again in a moment.", reason="retryLater")
    return redirect(url, code=303)


def _callback_problem() -> Response | None:
    error = request.args.get("error")
    if error:
        denied = error == "access_denied"
        return _page(
            403 if denied else 400,
            "Account not linked",
            "You did not allow access, so nothing changed." if denied
            else "The sign-in did not complete, so nothing changed.",
            reason="accessDenied" if denied else "signInFailed",
        )  # fmt: skip
    if not _param(request.args.get("state")) or not _param(request.args.get("code")):
        return _page(400, "Account not linked", "This address is incomplete.", reason="badCallback")
    return None


@bp.get("/google/callback")
def google_callback() -> ResponseReturnValue:
    problem = _callback_problem()
    if problem is not None:
        return problem
    try:
        url = _accounts().finish_signin(request.args["state"], request.args["code"])
    except LinkError as exc:
        return _refused(exc)
    except StoreError:
        return _page(503, "Try again", "Please try again in a moment.", reason="retryLater")
    return redirect(url, code=303)


@bp.get("/callback")
def vendor_callback() -> ResponseReturnValue:
    problem = _callback_problem()
    if problem is not None:
        return problem
    try:
        link, unlink_token = _accounts().finish_vendor(request.args["state"], request.args["code"])
    except LinkError as exc:
        return _refused(exc)
    except StoreError:
        return _page(503, "Try again", "Please try again in a moment.", reason="retryLater")
    name = _name(link.solution_id)
    return _page(
        200,
        "Account linked",
        f"Your account is linked to {name} for {link.email}.",
        f"Go back to Calendar and pick {name} again on your event. You can close this tab.",
        reason="linked",
        form=_unlink_button(link.solution_id, unlink_token),
    )


@bp.get("/<solution_id>/new")
def from_card(solution_id: str) -> ResponseReturnValue:
    try:
        url = _accounts().start_from_request(_param(request.args.get("r")), solution_id)
    except LinkError as exc:
        return _refused(exc)
    except StoreError:
        return _page(503, "Try again", "Please try again in a moment.", reason="retryLater")
    except ValueError:  # an address Calendar could not show: not from a card we made
        return _page(400, "Account not linked", "This link is not valid.", reason="badState")
    return redirect(url, code=303)


@bp.get("/<solution_id>/unlink")
def unlink_page(solution_id: str) -> ResponseReturnValue:
    token = _param(request.args.get("token"))
    try:
        target = _accounts().unlink_target(token)
    except LinkError as exc:
        return _refused(exc)
    if target != solution_id:
        return _page(400, "Account not unlinked", "This link was made for another conference.",
                     reason="wrongSolution")  # fmt: skip
    name = _name(solution_id)
    return _page(
        200,
        f"Unlink your account from {name}?",
        f"{name} will no longer make or change meetings as your account. Meetings it made stay;"
        " changes to them wait until you link again.",
        reason="confirmUnlink",
        form=_unlink_button(solution_id, token or ""),
    )


@bp.post("/<solution_id>/unlink")
def unlink(solution_id: str) -> ResponseReturnValue:
    try:
        linked_solution, held = _accounts().unlink(_param(request.form.get("token")))
    except LinkError as exc:
        return _refused(exc)
    except StoreError:
        return _page(503, "Try again", "Please try again in a moment.", reason="retryLater")
    if linked_solution != solution_id:
        return _page(400, "Account not unlinked", "This form was made for another conference.",
                     reason="wrongSolution")  # fmt: skip
    return _page(
        200,
        "Account unlinked",
        f"{_name(solution_id)} no longer holds access to your account."
        if held
        else "No account was linked.",
        "Meetings it made stay; changes to them wait until you link again.",
        reason="unlinked" if held else "wasUnlinked",
    )
