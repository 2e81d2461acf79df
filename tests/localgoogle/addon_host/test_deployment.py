"""Installing the add-on: a gsuiteaddons v1 Deployment JSON, refused with a reason when invalid."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from localgoogle.addon_host.deployment import parse_deployment

from .support import Emulator, FakeAddon


def test_install_read_uninstall(emulator: Emulator, addon: FakeAddon) -> None:
    assert emulator.get("/_emulator/addon/deployment").status_code == 409
    deployment = addon.deployment()
    response = emulator.post("/_emulator/addon/deployment", deployment)
    assert response.status_code == 200
    assert emulator.get("/_emulator/addon/deployment").json() == deployment
    assert emulator.get("/_emulator/addon").json()["installed"] is True
    deleted = emulator.host.uninstall()
    assert deleted is True
    assert emulator.get("/_emulator/addon/deployment").status_code == 409


def test_parsed_defaults(addon: FakeAddon) -> None:
    deployment = parse_deployment(addon.deployment())
    assert deployment.authorization_header == "SYSTEM_ID_TOKEN"
    assert deployment.notification_function == f"{addon.base_url}/trigger"
    assert deployment.shares_user_identity and deployment.can_write_event
    (solution,) = deployment.solutions
    assert solution.on_create_function.endswith("/oncreate/ourMeeting")


Edit = Callable[[dict[str, Any]], None]


def _solution(d: dict[str, Any]) -> dict[str, Any]:
    solution: dict[str, Any] = d["addOns"]["calendar"]["conferenceSolution"][0]
    return solution


CASES: list[tuple[str, Edit, str]] = [
    ("no addOns", lambda d: d.pop("addOns"), "addOns must be a JSON object"),
    ("no name", lambda d: d["addOns"]["common"].pop("name"), "addOns.common.name is required"),
    ("no logo", lambda d: d["addOns"]["common"].pop("logoUrl"), "logoUrl is required"),
    (
        "no onCreateFunction",
        lambda d: _solution(d).pop("onCreateFunction"),
        "conferenceSolution[0].onCreateFunction is required",
    ),
    ("relative URL", lambda d: _solution(d).update(onCreateFunction="/x"), "full http(s) URL"),
    (
        "typo",
        lambda d: d["addOns"]["calendar"].update(conferenceSolutions=[]),
        "unknown field(s) conferenceSolutions",
    ),
    (
        "duplicate id",
        lambda d: d["addOns"]["calendar"]["conferenceSolution"].append(dict(_solution(d))),
        "used twice",
    ),
    (
        "bad header",
        lambda d: d["addOns"]["httpOptions"].update(authorizationHeader="BEARER"),
        "authorizationHeader must be one of",
    ),
    (
        "trigger without runFunction",
        lambda d: d["addOns"]["calendar"].update(calendarNotificationTrigger={}),
        "calendarNotificationTrigger.runFunction is required",
    ),
    ("scopes not a list", lambda d: d.update(oauthScopes="calendar"), "oauthScopes"),
]


@pytest.mark.parametrize(("edit", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_deployments_are_refused(
    emulator: Emulator, addon: FakeAddon, edit: Edit, reason: str
) -> None:
    deployment = copy.deepcopy(addon.deployment())
    edit(deployment)
    response = emulator.post("/_emulator/addon/deployment", deployment)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["reason"] == "invalidDeployment"
    assert reason in error["message"]
    assert emulator.host.deployment is None


def test_non_object_body_is_refused(emulator: Emulator) -> None:
    response = emulator.post("/_emulator/addon/deployment", ["not", "an", "object"])
    assert response.status_code == 400
    assert "deployment must be a JSON object" in response.json()["error"]["message"]
