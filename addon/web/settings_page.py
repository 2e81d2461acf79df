"""The user's settings page: the URL Calendar opens from createSettingsUrlFunction.

* ``GET  /settings?s=LINK`` — ``LINK`` is the signed, short-lived value the add-on put in the
  settings URL (``addon.credentials.signed``): it names the Google user (``sub``) Calendar
  identified. The person must also sign in with Google here (``addon.web.signin``) **as that
  user**: no session -> off to Google's sign-in and back; signed in as someone else -> 403.
  The page shows the defaults: solution, dial-in shown or not, recording for solutions that
  record, and the vendor accounts (the linking hook).
* ``POST /settings``        — (form ``s``, ``csrf``, ``default_solution``, ``dial_in``,
  ``recording``) saves them (``UserPreferences``). The CSRF token is bound to the session's
  signed-in user and nonce; every field is checked before anything is written. A refusal is
  a page with a 4xx and its reason (``data-reason``), or JSON ``{"error": ...}`` for a caller
  that asks for JSON; nothing is changed.

Saved settings are used when meetings are created for the user (``addon.conferences``).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from addon.auth import VerifiedUser
from addon.credentials.links import LinkError
from addon.credentials.signed import read_settings_token
from addon.panel import account_actions
from addon.services import Services
from addon.store.errors import StoreError
from addon.store.preferences import UserPreferences
from addon.web.pages import fragment, page
from addon.web.requests import services
from addon.web.signin import SESSION_SECONDS, Person, sign_in_available, signed_in, start_url

bp = Blueprint("settings_page", __name__, url_prefix="/settings")

_CSRF_SALT = "settings-csrf"
DIAL_IN = {"on": True, "off": False}
RECORDING = {"default": None, "on": True, "off": False}

FORM = """
<p class="muted">Signed in as <b>{{ email }}</b>. These defaults apply to the meetings this
add-on creates for you from now on.</p>
<form method="post" action="/settings" id="settings-form">
<input type="hidden" name="s" value="{{ link }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label for="default_solution">Default conference solution</label>
<select name="default_solution" id="default_solution">
<option value=""{% if not prefs.default_solution %} selected{% endif %}>No preference</option>
{% for s in solutions %}<option value="{{ s.id }}"{% if prefs.default_solution == s.id %}
 selected{% endif %}>{{ s.name }}</option>{% endfor %}
</select>
<label for="dial_in">Dial-in numbers on the event</label>
<select name="dial_in" id="dial_in">
<option value="on"{% if prefs.dial_in %} selected{% endif %}>Show dial-in</option>
<option value="off"{% if not prefs.dial_in %} selected{% endif %}>Leave dial-in out</option>
</select>
<label for="recording">Recording{% if recorded %} (set up to record: {{ recorded|join(", ") }}){% endif %}</label>
<select name="recording" id="recording">
<option value="default"{% if prefs.recording is none %} selected{% endif %}>As the solution is set up</option>
<option value="on"{% if prefs.recording == true %} selected{% endif %}>Record</option>
<option value="off"{% if prefs.recording == false %} selected{% endif %}>Do not record</option>
</select>
{% if accounts %}<h2>Vendor accounts</h2><table>
{% for a in accounts %}<tr><td>{{ a.vendor }}</td><td>{{ a.state }}</td><td>{% if a.button and a.button.open_url %}
<a class="btn" href="{{ a.button.open_url }}">{{ a.button.label }}</a>{% endif %}</td></tr>{% endfor %}
</table>{% endif %}
<p><button type="submit" id="save">Save</button></p>
</form>
{% if saved %}<p class="ok" id="saved">Saved.</p>{% endif %}
"""  # noqa: E501

_LINK_PROBLEMS = {
    "missingLink": (400, "This page needs the link from Calendar's conference settings."),
    "linkExpired": (403, "This link has expired. Open the settings from Calendar again."),
    "badLink": (403, "This link is not valid. Open the settings from Calendar again."),
}


def _csrf(secret: str, person: Person) -> str:
    return URLSafeTimedSerializer(secret, salt=_CSRF_SALT).dumps([person.user_id, person.nonce])


def _csrf_ok(secret: str, person: Person, token: str | None) -> bool:
    if not token or len(token) > 1024:
        return False
    try:
        value = URLSafeTimedSerializer(secret, salt=_CSRF_SALT).loads(
            token, max_age=SESSION_SECONDS
        )
    except BadSignature:
        return False
    return bool(value == [person.user_id, person.nonce])


def _refuse(status: int, reason: str, text: str) -> Response:
    if request.accept_mimetypes.best == "application/json":
        response = jsonify({"error": {"code": status, "reason": reason, "message": text}})
        response.status_code = status
        return response
    return page(
        status,
        "Settings not saved" if request.method == "POST" else "Settings",
        fragment("<p>{{ t }}</p>", t=text),
        reason=reason,
    )


def _who(svc: Services, link: str | None) -> tuple[VerifiedUser, Person] | Response:
    """The user the link names and the signed-in person, who must be that user."""
    if not sign_in_available(svc):
        return _refuse(404, "notOffered", "Settings need Google Sign-In, not set up here.")
    try:
        user = read_settings_token(svc.settings.secret_key, link)
    except LinkError as exc:
        status, text = _LINK_PROBLEMS[exc.reason]
        return _refuse(status, exc.reason, text)
    person = signed_in()
    if person is None:
        if request.method == "GET":
            return redirect(start_url(request.full_path, user.email), code=303)
        return _refuse(401, "signInRequired", "Sign in with Google first, then save again.")
    if person.user_id != user.user_id:
        return _refuse(
            403,
            "wrongUser",
            f"You are signed in as {person.email}, but this link was made for {user.email}. "
            "Sign in with that account.",
        )
    return user, person


def _form(
    svc: Services,
    user: VerifiedUser,
    person: Person,
    link: str,
    prefs: UserPreferences,
    saved: bool,
) -> Response:
    solutions = svc.settings.solutions
    recorded = [s.name for s in solutions if s.options.get("recording")]
    body = fragment(
        FORM,
        email=person.email,
        link=link,
        csrf=_csrf(svc.settings.secret_key, person),
        solutions=solutions,
        prefs=prefs,
        recorded=recorded,
        accounts=account_actions(svc, user, [s.id for s in solutions]),
        saved=saved,
    )
    return page(200, "Your conference settings", body, reason="saved" if saved else "ok")


@bp.get("")
def show() -> ResponseReturnValue:
    svc = services()
    link = request.args.get("s")
    who = _who(svc, link)
    if isinstance(who, Response):
        return who
    user, person = who
    try:
        prefs = svc.store.get_preferences(user.user_id)
    except StoreError:
        return _refuse(503, "retryLater", "Please try again in a moment.")
    return _form(svc, user, person, link or "", prefs, saved=False)


@bp.post("")
def save() -> ResponseReturnValue:
    svc = services()
    link = request.form.get("s")
    who = _who(svc, link)
    if isinstance(who, Response):
        return who
    user, person = who
    if not _csrf_ok(svc.settings.secret_key, person, request.form.get("csrf")):
        return _refuse(403, "badCsrf", "This form is stale; reload the page and save again.")
    default = request.form.get("default_solution", "")
    dial_in = request.form.get("dial_in", "")
    recording = request.form.get("recording", "default")
    if default and svc.settings.solution(default) is None:
        return _refuse(400, "unknownSolution", f"There is no conference solution {default[:80]!r}.")
    if dial_in not in DIAL_IN:
        return _refuse(400, "badDialIn", "dial_in must be 'on' or 'off'.")
    if recording not in RECORDING:
        return _refuse(400, "badRecording", "recording must be 'default', 'on' or 'off'.")
    prefs = UserPreferences(
        user_id=user.user_id,
        default_solution=default or None,
        dial_in=DIAL_IN[dial_in],
        recording=RECORDING[recording],
    )
    try:
        prefs = svc.store.put_preferences(prefs)
    except StoreError:
        return _refuse(503, "retryLater", "Nothing was saved; please try again in a moment.")
    if request.accept_mimetypes.best == "application/json":
        return jsonify(
            {
                "saved": True,
                "dialIn": prefs.dial_in,
                "recording": prefs.recording,
                "defaultSolution": prefs.default_solution,
            }
        )
    return _form(svc, user, person, link or "", prefs, saved=True)
