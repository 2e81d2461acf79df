"""Offline sync clicked through in real headless Chromium, on the local stack in tasks mode
(as ``make run`` has it): the add-on's home card, our page, Google's consent page (the
emulator's), back to our page; then a deletion that fires no trigger reaches the vendor
through the push channel. Screenshots land in ``artifacts/screenshots/``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.localrun.stack import ALICE, LocalStack, running_local_stack
from tests.localrun.test_console_browser import WAIT_MS, create_event, shot

pytestmark = [pytest.mark.browser, pytest.mark.datastore]


@pytest.fixture
def tasks_stack(datastore) -> Iterator[LocalStack]:
    with running_local_stack(datastore, sync_mode="tasks") as stack:
        yield stack


@pytest.fixture
def console(browser: Browser, tasks_stack: LocalStack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    page = context.new_page()
    page.goto(f"{tasks_stack.console_url}?user={ALICE}")
    yield page
    context.close()


def test_turn_on_offline_sync_and_a_silent_deletion_still_reaches_the_vendor(
    console: Page, tasks_stack: LocalStack
) -> None:
    page = console
    page.get_by_test_id("create-solution").select_option("web-conference")
    card = create_event(page, "Board meeting")
    expect(card.get_by_test_id("join-link")).to_be_visible(timeout=WAIT_MS)
    tasks_stack.settle()
    expect(page.get_by_test_id("offline-consent")).to_contain_text(f"off for {ALICE}")
    expect(page.get_by_test_id("offline-channel")).to_contain_text("none")

    # The add-on's home card, as Calendar's side panel shows it.
    page.get_by_test_id("open-home").click()
    home = page.get_by_test_id("home-card")
    expect(home).to_contain_text("Off", timeout=WAIT_MS)
    link = home.get_by_test_id("home-card-link").first  # then "Your settings"
    expect(link).to_have_text("Turn on")

    # Our page, in a new tab; then Google's consent page; then back on our page.
    with page.context.expect_page() as opened:
        link.click()
    ours = opened.value
    ours.wait_for_load_state()
    expect(ours.locator("h1")).to_have_text("Offline sync is off")
    shot(ours, "10-offline-page")
    ours.locator("#turn-on").click()
    expect(ours.locator("#submit_approve_access")).to_be_visible(timeout=WAIT_MS)
    shot(ours, "11-google-consent")
    ours.locator("#submit_approve_access").click()
    expect(ours.locator("h1")).to_have_text("Offline sync is on", timeout=WAIT_MS)
    shot(ours, "12-offline-on")
    ours.close()

    tasks_stack.settle()
    expect(page.get_by_test_id("offline-consent")).to_contain_text(
        f"on for {ALICE}", timeout=WAIT_MS
    )
    expect(page.get_by_test_id("offline-channel")).to_contain_text("live", timeout=WAIT_MS)
    page.get_by_test_id("open-home").click()  # the side panel, opened again, says so too
    expect(home).to_contain_text("On", timeout=WAIT_MS)
    expect(home.get_by_test_id("home-card-link").first).to_have_text("Manage")

    # Deletions now fire no trigger, as Google documents the trigger: the push channel
    # brings the deletion, and the task reads Calendar with the stored consent.
    page.get_by_test_id("toggle-notify-deletions").click()
    expect(page.get_by_test_id("notify-deletions")).to_contain_text("fire no trigger")
    card.get_by_test_id("delete").click()
    tasks_stack.settle()
    expect(card.get_by_test_id("meeting")).to_have_attribute(
        "data-deleted", "true", timeout=WAIT_MS
    )
    expect(page.get_by_test_id("offline-access")).to_contain_text(f"offline consent of {ALICE}")
    shot(page, "13-deleted-through-push")
