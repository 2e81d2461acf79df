"""What an onCreateFunction answer asks Calendar to do, checked before anything is done.

``read_on_create_answer`` turns the add-on's HTTP answer into an ``OnCreateDecision`` or
raises ``AddonCallError`` (502 from the control API) when the answer is unusable: every part
is validated before the host acts on any, so a bad answer changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localgoogle.addon_host.calls import (
    AddonAnswer,
    MarkupError,
    markup_to_conference_data,
    read_calendar_action,
    validate_markup_error,
)
from localgoogle.addon_host.deployment import ConferenceSolution
from localgoogle.addon_host.errors import AddonCallError


@dataclass(frozen=True)
class OnCreateDecision:
    details: dict[str, Any]  # {addonStatus, addonResponse}
    requested_scopes: Any = None  # a scope request answers nothing else
    subscribe_to: str | None = None  # calendarSubscriptionActionMarkup's calendar
    conference_data: dict[str, Any] | None = None  # to store on the event
    error: dict[str, Any] | None = None  # a ConferenceError to show the user


def read_on_create_answer(answer: AddonAnswer, solution: ConferenceSolution) -> OnCreateDecision:
    details = {"addonStatus": answer.status, "addonResponse": answer.body}
    if answer.status is None:
        raise AddonCallError(f"add-on did not answer: {answer.error}", details=details)
    if not answer.ok:
        raise AddonCallError(f"add-on answered HTTP {answer.status}", details=details)
    if not isinstance(answer.body, dict):
        reason = answer.error or "answer is not a JSON object"
        raise AddonCallError(f"add-on answer unusable: {reason}", details=details)
    try:
        action = read_calendar_action(answer.body)
    except ValueError as exc:
        raise AddonCallError(f"add-on answer unusable: {exc}", details=details) from exc
    if action.requested_scopes is not None:
        return OnCreateDecision(details, requested_scopes=action.requested_scopes)

    subscribe_to: str | None = None
    if action.subscription is not None:
        operation = action.subscription.get("operation")
        target = action.subscription.get("calendarId")
        if operation != "CREATE" or not isinstance(target, str) or not target:
            raise AddonCallError(
                "calendarSubscriptionActionMarkup needs operation CREATE and a calendarId",
                details=details,
            )
        subscribe_to = target
    markup = action.conference_markup
    if markup is not None and "error" in markup:
        problems = validate_markup_error(markup["error"])
        if problems:
            raise AddonCallError("; ".join(problems), details={**details, "problems": problems})
        return OnCreateDecision(details, subscribe_to=subscribe_to, error=markup["error"])
    conference_data: dict[str, Any] | None = None
    if markup is not None:
        try:
            conference_data = markup_to_conference_data(markup, solution)
        except MarkupError as exc:
            raise AddonCallError(
                f"invalid ConferenceDataMarkup: {exc}",
                details={**details, "problems": exc.problems},
            ) from exc
    return OnCreateDecision(details, subscribe_to=subscribe_to, conference_data=conference_data)
