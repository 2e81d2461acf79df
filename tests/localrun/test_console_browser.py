"""The console in real headless Chromium, against the in-process local stack.

Each flow is what a person does: pick a solution and see the join link; move the event and
see one sync run and one provider update in the live log; delete it and see the meeting
deleted. Screenshots land in ``artifacts/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.localrun.stack import ALICE, LocalStack

pytestmark = [pytest.mark.browser, pytest.mark.datastore]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make browser`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, local_stack: LocalStack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.goto(f"{local_stack.console_url}?user={ALICE}")
    yield page
    context.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_entries(page: Page, source: str, op: str | None = None) -> Locator:
    selector = f'[data-testid="log-entry"][data-source="{source}"]'
    if op is not None:
        selector += f'[data-op="{op}"]'
    return page.locator(selector)


def create_event(page: Page, title: str) -> Locator:
    page.get_by_test_id("create-title").fill(title)
    page.get_by_test_id("create-submit").click()
    card = page.locator(f'[data-testid="event"][data-summary="{title}"]')
    expect(card).to_have_count(1, timeout=WAIT_MS)
    return card


def test_pick_move_delete(page: Page, local_stack: LocalStack) -> None:
    expect(page.get_by_test_id("user-" + ALICE)).to_have_class("user-chip active")
    card = create_event(page, "Design review")
    expect(card.get_by_test_id("no-conference")).to_be_visible()
    shot(page, "01-event-created")

    # Pick a solution: the add-on creates the meeting and Calendar shows the join link.
    card.get_by_test_id("pick-web-conference").click()
    join = card.get_by_test_id("join-link")
    expect(join).to_be_visible(timeout=WAIT_MS)
    assert (join.get_attribute("href") or "").startswith(local_stack.ports.emulator_url)
    expect(card.get_by_test_id("meeting-state")).to_have_text("meeting live")
    expect(page.get_by_test_id("subscribed")).to_contain_text("yes", timeout=WAIT_MS)
    local_stack.settle()
    # The conference data write Calendar made fires a trigger; wait for its sync to show.
    expect(log_entries(page, "sync").first).to_be_visible(timeout=WAIT_MS)
    shot(page, "02-conference-picked")

    # The page refreshes every 2 s: wait until it shows every run the add-on recorded
    # (initial full sync, then the run for Calendar's own conference write) before counting.
    syncs_before = local_stack.sync_runs()
    expect(log_entries(page, "sync")).to_have_count(syncs_before, timeout=WAIT_MS)
    updates_before = log_entries(page, "provider", "update").count()

    # Move it: one trigger, one sync run, one update of the meeting.
    card.get_by_test_id("move").click()
    local_stack.settle()
    expect(log_entries(page, "sync")).to_have_count(syncs_before + 1, timeout=WAIT_MS)
    expect(log_entries(page, "provider", "update")).to_have_count(updates_before + 1)
    newest_sync = log_entries(page, "sync").first
    expect(newest_sync).to_contain_text("1 list call(s)")
    expect(newest_sync).to_contain_text("update\u00d71")
    expect(card.get_by_test_id("meeting-updates")).to_have_text("1", timeout=WAIT_MS)
    shot(page, "03-event-moved")

    # The join link opens the meeting's page on the (fake) conferencing server.
    meeting_page = page.context.new_page()
    meeting_page.goto(join.get_attribute("href") or "")
    expect(meeting_page.get_by_test_id("meeting-room")).to_have_attribute("data-deleted", "false")
    expect(meeting_page.locator("h1")).to_have_text("Design review")
    shot(meeting_page, "04-meeting-page")
    meeting_page.close()

    # Delete it: the sync deletes the meeting.
    card.get_by_test_id("delete").click()
    local_stack.settle()
    expect(card.get_by_test_id("event-deleted")).to_be_visible(timeout=WAIT_MS)
    expect(card.get_by_test_id("meeting")).to_have_attribute(
        "data-deleted", "true", timeout=WAIT_MS
    )
    expect(card.get_by_test_id("meeting-state")).to_have_text("meeting deleted")
    expect(log_entries(page, "provider", "delete")).to_have_count(1)
    shot(page, "05-event-deleted")


def test_weekly_series_copy_and_faults(page: Page, local_stack: LocalStack) -> None:
    page.get_by_test_id("create-weekly").check()
    page.get_by_test_id("create-solution").select_option("recorded-web-conference")
    card = create_event(page, "Weekly standup")
    expect(card.get_by_test_id("join-link")).to_be_visible(timeout=WAIT_MS)
    local_stack.settle()
    instances = card.get_by_test_id("instance")
    expect(instances).to_have_count(6, timeout=WAIT_MS)

    # Cancel the second occurrence: the meeting records it.
    instances.nth(1).get_by_test_id("occurrence-cancel").click()
    local_stack.settle()
    expect(instances.nth(1)).to_have_attribute("data-status", "cancelled", timeout=WAIT_MS)
    expect(card.get_by_test_id("meeting-occurrences")).to_contain_text("cancelled", timeout=WAIT_MS)

    # A copy carries the conference; the add-on gives it a meeting of its own.
    card.get_by_test_id("copy").click()
    local_stack.settle()
    cards = page.locator('[data-testid="event"][data-summary="Weekly standup"]')
    expect(cards).to_have_count(2, timeout=WAIT_MS)
    ids = lambda: {  # noqa: E731
        c.get_attribute("data-conference-id") for c in cards.get_by_test_id("conference").all()
    }
    expect(page.get_by_test_id("shared-warning")).to_have_count(0, timeout=WAIT_MS)
    assert len(ids()) == 2

    # A conferencing outage: the change waits as pending, and is replayed after it.
    page.get_by_test_id("conferencing-outage").click()
    expect(page.get_by_test_id("active-faults")).to_contain_text("conferencing API down")
    first = cards.first
    first.get_by_test_id("retitle-input").fill("Weekly standup (new room)")
    first.get_by_test_id("retitle").click()
    local_stack.settle()
    expect(page.get_by_test_id("pending")).to_contain_text("1 change", timeout=WAIT_MS)
    shot(page, "06-outage-pending")
    page.get_by_test_id("conferencing-restore").click()
    page.get_by_test_id("expire-sync-token").click()
    renamed = page.locator('[data-testid="event"][data-summary="Weekly standup (new room)"]')
    renamed.get_by_test_id("guest-input").fill("carol@example.com")
    renamed.get_by_test_id("guest").click()
    local_stack.settle()
    expect(page.get_by_test_id("pending")).to_contain_text("0 changes", timeout=WAIT_MS)
    expect(renamed.get_by_test_id("meeting-attendees")).to_contain_text(
        "carol@example.com", timeout=WAIT_MS
    )
    expect(renamed.get_by_test_id("meeting-title")).to_have_text("Weekly standup (new room)")
    expect(log_entries(page, "sync", "full").first).to_be_visible(timeout=WAIT_MS)
    shot(page, "07-recovered")
