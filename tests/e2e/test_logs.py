"""Logs are JSON lines Cloud Logging understands, and never carry a token or an event body."""

from __future__ import annotations

import io
import json
import logging

import pytest
import requests

from addon.logs import JsonFormatter
from tests.e2e.stack import Stack
from tests.e2e.test_sync import ALICE, new_conference, patch

pytestmark = pytest.mark.datastore


def test_no_secret_or_event_body_in_logs(stack: Stack) -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("addon")
    logger.addHandler(handler)
    try:
        event, _ = new_conference(stack, "Secret project Xylophone")
        patch(stack, event["id"], {"summary": "Secret project Zebra"})
        stack.conferencing.set_fault("down")
        patch(stack, event["id"], {"summary": "Secret project Quokka"})  # error paths log too
        stack.conferencing.set_fault(None)
        bad = stack.control(
            "POST", "/_emulator/addon/id-token", {"audience": "https://x", "untrusted": True}
        )
        requests.post(
            stack.addon_url + "/calendar/notification",
            json={"calendar": {"calendarId": ALICE}},
            headers={"Authorization": "Bearer " + bad["idToken"]},
            timeout=10,
        )
    finally:
        logger.removeHandler(handler)
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    assert any("sync finished" in line for line in lines)
    assert any("refused caller" in line for line in lines)
    for line in lines:
        entry = json.loads(line)
        assert entry["severity"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        assert isinstance(entry["message"], str)
    text = buffer.getvalue()
    secrets = [stack.user(ALICE), bad["idToken"], "Xylophone", "Zebra", "Quokka"]
    for secret in secrets:
        assert secret not in text, f"{secret[:12]}... leaked into the logs"
