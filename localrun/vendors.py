"""The fake vendors the local stack offers next to the generic REST server, one entry each.

``LOCAL_VENDORS`` is the extension point: a vendor whose fake lives in ``localgoogle.vendors``
adds one ``LocalVendor`` (its provider name, the solution the stack offers, where its fake is
mounted on the emulator, how to build the fake and the provider options that point at it).
``mount_vendors(app)`` mounts every fake on the emulator app (state on
``app.extensions["vendors"][provider]``); ``vendor_solutions(emulator_url)`` are the solutions
``localrun.config.local_solutions`` adds, so the console's pickers offer them.

Zoom, Teams and Webex act as each user's linked account: the first pick answers AUTHENTICATION
and the console shows the linking page's link (``addon.web.link``); the fakes' consent pages
take any account name. Daily (an API key) and BigBlueButton (a shared secret; the event carries
the add-on's own ``/join/<id>`` link) need no linking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask

from localgoogle.vendors.bbb import BbbState, bbb_blueprint
from localgoogle.vendors.daily import DailyState, daily_blueprint
from localgoogle.vendors.graph import GraphState, graph_blueprint
from localgoogle.vendors.webex import WebexState, webex_blueprint
from localgoogle.vendors.zoom import ZoomState, zoom_blueprint

LOGO_URL = "https://www.gstatic.com/images/branding/product/2x/calendar_48dp.png"


@dataclass(frozen=True)
class LocalVendor:
    provider: str
    solution_id: str
    name: str
    prefix: str
    make_state: Callable[[], Any]
    blueprint: Callable[[Any], Blueprint]
    options: Callable[[str], dict[str, Any]]  # the fake's base URL -> provider options


LOCAL_VENDORS: tuple[LocalVendor, ...] = (
    LocalVendor(
        "zoom", "zoom-meeting", "Zoom", "/_zoom", ZoomState, zoom_blueprint,
        lambda base: {"client_id": "zoom-client-id", "client_secret": "zoom-client-secret",
                      "api_base_url": base + "/v2", "oauth_base_url": base},
    ),
    LocalVendor(
        "teams", "teams-meeting", "Microsoft Teams", "/_graph", GraphState, graph_blueprint,
        lambda base: {"client_id": "graph-client-id", "client_secret": "graph-client-secret",
                      "login_base_url": base, "graph_base_url": base + "/v1.0"},
    ),
    LocalVendor(
        "webex", "webex-meeting", "Webex Meetings", "/_webex", WebexState, webex_blueprint,
        lambda base: {"client_id": "webex-client-id", "client_secret": "webex-client-secret",
                      "base_url": base + "/v1"},
    ),
    LocalVendor(
        "daily", "daily-room", "Daily", "/_daily", DailyState, daily_blueprint,
        lambda base: {"api_key": "daily-test-key", "base_url": base + "/v1"},
    ),
    LocalVendor(
        "bbb", "bbb-meeting", "BigBlueButton", "/_bbb", BbbState, bbb_blueprint,
        lambda base: {"base_url": base + "/bigbluebutton/api",
                      "secret": "bbb-test-secret-0123456789"},
    ),
)  # fmt: skip


def vendor_solutions(emulator_url: str) -> list[dict[str, object]]:
    return [
        {
            "id": v.solution_id,
            "name": v.name,
            "logoUrl": LOGO_URL,
            "provider": v.provider,
            "options": v.options(emulator_url + v.prefix),
        }
        for v in LOCAL_VENDORS
    ]


def mount_vendors(app: Flask) -> dict[str, Any]:
    """Every fake vendor on ``app`` at its prefix; their states by provider name."""
    states: dict[str, Any] = {}
    for vendor in LOCAL_VENDORS:
        state = vendor.make_state()
        app.register_blueprint(vendor.blueprint(state), url_prefix=vendor.prefix)
        states[vendor.provider] = state
    app.extensions["vendors"] = states
    return states
