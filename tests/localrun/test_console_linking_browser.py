"""Account linking clicked through in real headless Chromium on the local stack (issue 16):
pick Zoom on an event → the add-on answers AUTHENTICATION and the console shows the link →
our start page → Continue → Google's consent page (the emulator's) → the fake Zoom's consent
page → our "Account linked" page → pick Zoom again: the event gets the Zoom meeting, which the
console shows as the fake Zoom holds it; delete the event: the console shows it deleted.
Screenshots land in ``artifacts/screenshots/``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.localrun.stack import ALICE, LocalStack
from tests.localrun.test_console_browser import WAIT_MS, create_event, shot

pytestmark = [pytest.mark.browser, pytest.mark.datastore]


@pytest.fixture
def console(browser: Browser, local_stack: LocalStack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    page = context.new_page()
    page.goto(f"{local_stack.console_url}?user={ALICE}")
    yield page
    context.close()


def test_link_a_zoom_account_and_pick_zoom_again(console: Page, local_stack: LocalStack) -> None:
    page = console
    page.get_by_test_id("create-solution").select_option("")
    card = create_event(page, "Vendor review")
    card.get_by_test_id("pick-zoom-meeting").click()
    prompt = page.get_by_test_id("link-prompt")
    expect(prompt).to_contain_text("Zoom", timeout=WAIT_MS)
    shot(page, "20-link-prompt")

    with page.context.expect_page() as opened:
        page.get_by_test_id("link-account").click()
    ours = opened.value
    ours.wait_for_load_state()
    expect(ours.locator("h1")).to_have_text("Link your account for Zoom")
    shot(ours, "21-link-start")
    ours.locator("#continue").click()
    expect(ours.locator("#submit_approve_access")).to_be_visible(timeout=WAIT_MS)
    shot(ours, "22-google-sign-in")
    ours.locator("#submit_approve_access").click()
    expect(ours.locator("#vendor-consent")).to_be_visible(timeout=WAIT_MS)
    shot(ours, "23-zoom-consent")
    ours.locator("#allow").click()
    expect(ours.locator("h1")).to_have_text("Account linked", timeout=WAIT_MS)
    expect(ours.locator("#unlink")).to_be_visible()
    shot(ours, "24-linked")
    ours.close()

    page.reload()
    card = page.locator('[data-testid="event"][data-summary="Vendor review"]')
    card.get_by_test_id("pick-zoom-meeting").click()
    expect(page.get_by_test_id("toast").first).to_contain_text(
        "Zoom added to the event", timeout=WAIT_MS
    )
    expect(page.get_by_test_id("link-prompt")).to_have_count(0)
    zoom = local_stack.emulator_app.extensions["vendors"]["zoom"]
    (meeting,) = zoom.meetings()
    assert meeting["topic"] == "Vendor review"
    # The board reads the fake Zoom, not the generic REST fake.
    expect(card.get_by_test_id("meeting-vendor")).to_have_text("On Zoom", timeout=WAIT_MS)
    expect(card.get_by_test_id("meeting-title")).to_have_text("Vendor review")
    expect(card.get_by_test_id("meeting-state")).to_have_text("meeting live")
    shot(page, "25-zoom-picked")

    # Delete the event: the sync deletes the Zoom meeting (the fake forgets it; its call log
    # tells the console it was deleted).
    card.get_by_test_id("delete").click()
    local_stack.settle()
    expect(card.get_by_test_id("event-deleted")).to_be_visible(timeout=WAIT_MS)
    expect(card.get_by_test_id("meeting")).to_have_attribute(
        "data-deleted", "true", timeout=WAIT_MS
    )
    expect(card.get_by_test_id("meeting-state")).to_have_text("meeting deleted")
    expect(card.get_by_test_id("meeting-vendor")).to_have_text("On Zoom")
    assert zoom.meetings() == []
    shot(page, "26-zoom-meeting-deleted")
