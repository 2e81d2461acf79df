"""The add-on's side panel, the settings page and the status page, clicked through in real
headless Chromium on the local stack in tasks mode (as ``make run`` has it).

The console shows the event's eventOpen card beside it (a plain rendering of the Card v1
JSON); its buttons are clicked through the add-on host emulator, as Google calls them.
"Sync now" answers with a notification; "New join link" changes the event's join link, the
old meeting is deleted at the vendor and the new one is live. The card's Settings link opens
the settings page (Google Sign-In at the emulator), and the status page shows its admin
(alice) the counts. Screenshots land in ``artifacts/screenshots/``; with
``CARDS_README_SCREENSHOTS=DIR`` the README's pictures are saved into DIR."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

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


def readme_shot(page: Page, name: str, element: Locator | None = None) -> None:
    target = os.environ.get("CARDS_README_SCREENSHOTS")
    if not target:
        return
    path = Path(target) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    if element is not None:
        element.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)


def google_sign_in(page: Page, account: str) -> None:
    """The emulator's Google account page: pick ``account`` and continue."""
    expect(page.locator("#submit_approve_access")).to_be_visible(timeout=WAIT_MS)
    choice = page.locator(f'input[type="radio"][value="{account}"]')
    if choice.count():
        choice.check()
    page.locator("#submit_approve_access").click()


def panel_button(panel: Locator, label: str) -> Locator:
    return panel.get_by_test_id("panel-button").filter(has_text=label)


def test_the_side_panel_buttons_the_settings_page_and_the_status_page(
    console: Page, tasks_stack: LocalStack
) -> None:
    page = console
    page.get_by_test_id("create-solution").select_option("web-conference")
    card = create_event(page, "Quarterly review")
    join = card.get_by_test_id("join-link")
    expect(join).to_be_visible(timeout=WAIT_MS)
    tasks_stack.settle()
    old_url = join.get_attribute("href")
    old_id = card.get_by_test_id("conference").get_attribute("data-conference-id")

    # Calendar opens the event with the add-on: its card beside the event.
    card.get_by_test_id("open-event").click()
    panel = card.get_by_test_id("addon-panel")
    expect(panel).to_contain_text("Meeting live", timeout=WAIT_MS)
    expect(panel).to_contain_text(old_url or "")
    expect(panel).to_contain_text("Last sync")

    # "Sync now": a notification, as Calendar would show it.
    panel_button(panel, "Sync now").click()
    expect(page.get_by_test_id("toast").first).to_contain_text("ync", timeout=WAIT_MS)
    expect(panel.get_by_test_id("panel-notification")).to_contain_text("Sync", timeout=WAIT_MS)
    tasks_stack.settle()
    shot(page, "30-side-panel-sync-now")

    # "New join link": the event's join link changes; the vendor deleted the old meeting.
    panel_button(panel, "New join link").click()
    expect(panel.get_by_test_id("panel-notification")).to_contain_text(
        "New join link ready", timeout=WAIT_MS
    )
    expect(join).not_to_have_attribute("href", old_url or "", timeout=WAIT_MS)
    new_id = card.get_by_test_id("conference").get_attribute("data-conference-id")
    assert new_id and new_id != old_id
    meetings = {m["id"]: m for m in tasks_stack.conferencing.meetings()}
    assert meetings[old_id or ""]["deleted"] is True
    assert meetings[new_id]["deleted"] is False
    expect(panel).to_contain_text(join.get_attribute("href") or "")
    tasks_stack.settle()
    expect(card.get_by_test_id("meeting")).to_have_attribute("data-deleted", "false")
    shot(page, "31-side-panel-new-join-link")
    readme_shot(page, "console-cards", card)

    # The card's Settings link: Google Sign-In, then the user's defaults.
    with page.context.expect_page() as opened:
        panel.get_by_test_id("panel-link").filter(has_text="Settings").click()
    settings = opened.value
    settings.wait_for_load_state()
    google_sign_in(settings, ALICE)
    expect(settings.locator("h1")).to_have_text("Your conference settings", timeout=WAIT_MS)
    settings.locator("#dial_in").select_option("off")
    settings.locator("#save").click()
    expect(settings.locator("#saved")).to_be_visible(timeout=WAIT_MS)
    shot(settings, "32-settings-page")
    readme_shot(settings, "settings-page")
    settings.close()

    # The operators' status page: alice is its admin here.
    status = page.context.new_page()
    status.goto(tasks_stack.ports.backend_url + "/status")
    expect(status.locator("h1")).to_have_text("Add-on status", timeout=WAIT_MS)
    expect(status.get_by_test_id("subscribed")).to_contain_text("1")
    shot(status, "33-status-page")
    readme_shot(status, "status-page")
    status.close()
