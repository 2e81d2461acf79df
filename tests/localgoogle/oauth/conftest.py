"""A fresh emulator app per test, served on a free port (the OAuth state, the Calendar and
the host's keys are all new), with alice and bob as its users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localgoogle.app import create_emulator_app
from localgoogle.server import serve

from .support import ALICE, BOB, Google


@pytest.fixture(autouse=True)
def _oauthlib_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses token URLs that are not https unless this documented switch is set;
    # the emulator speaks plain HTTP on loopback.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def emulator() -> Iterator[Google]:
    app = create_emulator_app()
    try:
        with serve(app) as base_url:
            served = Google(base_url, app)
            served.user(ALICE)
            served.user(BOB)
            yield served
    finally:
        app.extensions["cloud_tasks"].close()
        app.extensions["addon_host"].close()
