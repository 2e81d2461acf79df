"""The envelopes an HTTP add-on answers with (developers.google.com/workspace/add-ons/guides/
alternate-runtimes; SPEC.md §3 "Responses"). Kept in one place so a shape can change here.

* ``push_card_response``   — a trigger's card: ``{"action": {"navigations": [{"pushCard"}]}}``.
* ``update_card_response`` — after a button: ``renderActions.action.navigations[updateCard]``,
  with an optional notification.
* ``notification_response`` — a toast only: ``renderActions.action.notification.text``.
* ``settings_url_response`` — createSettingsUrlFunction's answer:
  ``renderActions.hostAppAction.calendarAction.createConferenceSettingUrlActionMarkup``.
"""

from __future__ import annotations

from typing import Any


def push_card_response(card: dict[str, Any]) -> dict[str, Any]:
    """What an HTTP add-on answers to a homepage (or eventOpen) trigger."""
    return {"action": {"navigations": [{"pushCard": card}]}}


def update_card_response(card: dict[str, Any], notification: str | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"navigations": [{"updateCard": card}]}
    if notification:
        action["notification"] = {"text": notification}
    return {"renderActions": {"action": action}}


def notification_response(text: str) -> dict[str, Any]:
    return {"renderActions": {"action": {"notification": {"text": text}}}}


def settings_url_response(url: str) -> dict[str, Any]:
    return {
        "renderActions": {
            "hostAppAction": {
                "calendarAction": {"createConferenceSettingUrlActionMarkup": {"settingsUrl": url}}
            }
        }
    }
