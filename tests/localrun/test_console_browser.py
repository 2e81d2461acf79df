"""The console in real headless Chromium, against the in-process local stack.

Each flow is what a person does: pick a solution and see the join link; move the event and
see one sync run and one provider update in the live log; delete it and see the meeting
deleted; copy an event and see the copy marked next to its original; break the vendor and
see when the retry is due, expire the token and see the 410; play the guest and see the
invitations. Screenshots land in ``artifacts/screenshots/``; with
``CONSOLE_README_SCREENSHOT=PATH`` the README's picture of the console is saved to PATH.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FloatRect, Locator, Page, expect

from tests.localrun.stack import ALICE, BOB, LocalStack
from tests.procs import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.datastore]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WAIT_MS = 15_000


@pytest.fixture
def page(browser: Browser, local_stack: LocalStack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    # Nothing the page loads may be missing (the favicon included): every 404 is kept.
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(f"{local_stack.console_url}?user={ALICE}")
    yield page
    context.close()
    assert missing == []


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


def overlaps(a: FloatRect, b: FloatRect) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def covered_buttons(page: Page, toast: Locator) -> list[str]:
    """The page's visible buttons the toast's box overlaps (their labels)."""
    box = toast.bounding_box()
    assert box is not None
    return [
        button.inner_text()
        for button in page.locator("button").all()
        if button.is_visible() and (b := button.bounding_box()) is not None and overlaps(box, b)
    ]


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
    # The copy comes right after its original and says so; the original names its copy.
    original, copy = cards.nth(0), cards.nth(1)
    expect(copy.get_by_test_id("copy-of")).to_contain_text("Copy of \u201cWeekly standup\u201d")
    assert copy.get_attribute("data-copy-of") == original.get_attribute("data-event-id")
    copy_id = copy.get_attribute("data-event-id") or ""
    expect(original.get_by_test_id("copied-to")).to_contain_text(copy_id[:10])

    # A conferencing outage: the change waits as pending, and is replayed after it.
    page.get_by_test_id("conferencing-outage").click()
    expect(page.get_by_test_id("active-faults")).to_contain_text("conferencing API down")
    first = cards.first
    first.get_by_test_id("retitle-input").fill("Weekly standup (new room)")
    first.get_by_test_id("retitle").click()
    local_stack.settle()
    expect(page.get_by_test_id("pending")).to_contain_text("1 change", timeout=WAIT_MS)
    # When the change is tried again: in so many seconds (or due now), at a time of day.
    expect(page.get_by_test_id("next-retry")).to_have_text(
        re.compile(r"next retry (in \d+ s|due now) \(at \d\d:\d\d:\d\d\)"), timeout=WAIT_MS
    )
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
    # The expired token shows as a 410 line of its own; the run replayed the waiting change.
    expect(log_entries(page, "calendar", "410").first).to_contain_text(
        "sync token expired (410) \u2192 full sync and reconcile", timeout=WAIT_MS
    )
    expect(log_entries(page, "sync").filter(has_text="replayed 1")).to_have_count(1)
    expect(page.get_by_test_id("next-retry")).to_have_count(0)
    shot(page, "07-recovered")


def readme_screenshot(page: Page) -> None:
    """The README's picture: alice's events with meetings, a copy, the side column."""
    target = os.environ.get("CONSOLE_README_SCREENSHOT")
    if not target:
        return
    page.set_viewport_size({"width": 1400, "height": 900})
    expect(page.get_by_test_id("toast")).to_have_count(0, timeout=WAIT_MS)  # they go by themselves
    # The events at the top of the window; the side column stays in view beside them.
    page.evaluate(
        "window.scrollTo(0, document.getElementById('events').offsetTop"
        " - document.querySelector('.topbar').offsetHeight - 12)"
    )
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_copy_pick_rules_toasts_and_the_guests_view(page: Page, local_stack: LocalStack) -> None:
    # Alice invites bob by default: the guest field names the other user.
    expect(page.get_by_test_id("create-guests")).to_have_value(BOB)
    page.get_by_test_id("create-solution").select_option("web-conference")
    card = create_event(page, "Design review")
    expect(card.get_by_test_id("join-link")).to_be_visible(timeout=WAIT_MS)
    local_stack.settle()

    # Only the solution the event does not have is offered; asking for the one it has anyway
    # is answered plainly and changes nothing.
    expect(card.get_by_test_id("pick-web-conference")).to_have_count(0)
    expect(card.get_by_test_id("pick-recorded-web-conference")).to_have_count(1)
    conference_id = card.get_by_test_id("conference").get_attribute("data-conference-id")
    creations = len([c for c in local_stack.conferencing.calls() if c["op"] == "create"])
    answer = page.request.post(
        f"{local_stack.ports.emulator_url}/console/actions/pick",
        form={"user": ALICE, "event_id": card.get_attribute("data-event-id") or "",
              "solution_id": "web-conference"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert answer.status == 400
    assert answer.json() == {"ok": False, "message": "The event already has Web conference: "
                             "nothing changed."}  # fmt: skip
    local_stack.settle()
    assert len([c for c in local_stack.conferencing.calls() if c["op"] == "create"]) == creations
    expect(card.get_by_test_id("conference")).to_have_attribute(
        "data-conference-id", conference_id or ""
    )

    # A copy, made as Calendar makes one, and shown as one. The answer's toast covers none
    # of the page's buttons, and a click dismisses it.
    card.get_by_test_id("copy").click()
    toast = page.get_by_test_id("toast").filter(has_text="Copied to a new event")
    expect(toast).to_be_visible()
    assert covered_buttons(page, toast) == []
    toast.click()
    expect(toast).to_have_count(0)
    local_stack.settle()
    cards = page.locator('[data-testid="event"][data-summary="Design review"]')
    expect(cards).to_have_count(2, timeout=WAIT_MS)
    expect(cards.nth(1).get_by_test_id("copy-badge")).to_be_visible()
    expect(cards.nth(1).get_by_test_id("copy-of")).to_contain_text(
        "Copy of \u201cDesign review\u201d"
    )
    expect(cards.nth(0).get_by_test_id("copied-to")).to_be_visible()
    expect(page.get_by_test_id("shared-warning")).to_have_count(0, timeout=WAIT_MS)

    # A later event with the other solution, for the README's picture.
    start = page.get_by_test_id("create-start").input_value()
    later = datetime.fromisoformat(start) + timedelta(days=1)
    page.get_by_test_id("create-start").fill(later.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_test_id("create-solution").select_option("recorded-web-conference")
    expect(create_event(page, "Customer call").get_by_test_id("join-link")).to_be_visible(
        timeout=WAIT_MS
    )
    local_stack.settle()
    expect(log_entries(page, "sync")).to_have_count(local_stack.sync_runs(), timeout=WAIT_MS)
    shot(page, "08-copy-marked")
    # Scrolled to the last event, the sync state and the log are still in view.
    page.locator('[data-testid="event"]').last.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0
    expect(page.get_by_test_id("sync-status")).to_be_in_viewport()
    expect(page.get_by_test_id("log")).to_be_in_viewport()
    readme_screenshot(page)

    # The icon is served where browsers look for it.
    icon = page.request.get(f"{local_stack.ports.emulator_url}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")

    # Bob: his calendar holds his copies of alice's events, as invitations from her.
    page.get_by_test_id("user-" + BOB).click()
    expect(page.get_by_test_id("user-" + BOB)).to_have_class("user-chip active")
    expect(page.get_by_test_id("create-guests")).to_have_value(ALICE)
    invitations = page.locator(f'[data-testid="event"][data-organizer="{ALICE}"]')
    expect(invitations).to_have_count(3, timeout=WAIT_MS)
    first = invitations.first
    expect(first.get_by_test_id("invitation")).to_contain_text(f"Invitation from {ALICE}")
    expect(first.get_by_test_id("organizer-only")).to_contain_text("Only the organizer")
    for organizer_only in ("move", "copy", "retitle", "guest", "pick-recorded-web-conference"):
        expect(first.get_by_test_id(organizer_only)).to_have_count(0)
    expect(first.get_by_test_id("join-link")).to_be_visible()
    expect(first.get_by_test_id("record")).to_contain_text(f"(in {ALICE}'s calendar): active")
    # The copy's marker is a shared property: bob's copy of the copy says it too.
    expect(invitations.nth(1).get_by_test_id("copy-of")).to_contain_text("Design review")

    # His log: his calendar and the events he sees, never alice's sync runs.
    expect(page.get_by_test_id("log-entry").first).to_be_visible(timeout=WAIT_MS)
    seen = set(invitations.evaluate_all("cards => cards.map(c => c.dataset.eventId)"))
    for entry in page.get_by_test_id("log-entry").all():
        calendar, event = entry.get_attribute("data-calendar"), entry.get_attribute("data-event")
        meeting = entry.get_attribute("data-meeting")
        assert calendar == BOB or event in seen or meeting, (calendar, event, meeting)
    expect(page.locator(f'[data-testid="log-entry"][data-calendar="{ALICE}"]').filter(
        has_text="sync")).to_have_count(0)  # fmt: skip
    shot(page, "09-bob-invitations")

    # Removing an invitation is his to do: it leaves his calendar, alice keeps her event.
    removed_id = first.get_attribute("data-event-id")
    removed = page.locator(f'[data-event-id="{removed_id}"]')
    removed.get_by_test_id("delete").click()
    expect(page.get_by_test_id("toast").first).to_contain_text("Invitation removed")
    expect(removed.get_by_test_id("event-deleted")).to_be_visible(timeout=WAIT_MS)
    hers = local_stack.calendar("GET", f"/calendars/{ALICE}/events/{removed_id}")
    assert hers["status"] == "confirmed"
    assert [a.get("responseStatus") for a in hers["attendees"]] == ["declined"]


def test_pick_through_the_apps_script_bridge(page: Page, local_stack: LocalStack) -> None:
    # The calendar's host mode: the HTTP add-on first, then the Apps Script bridge.
    expect(page.get_by_test_id("host-mode-current")).to_have_text("HTTP add-on")
    page.get_by_test_id("host-mode-bridge").click()
    expect(page.get_by_test_id("host-mode-current")).to_have_text(
        "Apps Script bridge", timeout=WAIT_MS
    )
    card = create_event(page, "Bridge review")
    card.get_by_test_id("pick-web-conference").click()
    # The pick runs a script execution (a Node worker) first: slower than a direct call.
    expect(page.get_by_test_id("toast").first).to_contain_text(
        "through the Apps Script bridge", timeout=WAIT_MS
    )
    expect(card.get_by_test_id("join-link")).to_be_visible(timeout=WAIT_MS)
    expect(card.get_by_test_id("meeting-state")).to_have_text("meeting live", timeout=WAIT_MS)
    # The script installed one trigger for alice's calendar, and the console says so.
    assert local_stack.script is not None
    assert [t["sourceId"] for t in local_stack.script.triggers(ALICE)] == [ALICE]
    expect(page.get_by_test_id("bridge-triggers")).to_contain_text("1 of 20", timeout=WAIT_MS)
    local_stack.settle()

    # A move fires the bridge's trigger; the backend syncs; the meeting follows.
    card.get_by_test_id("move").click()
    local_stack.settle()
    expect(card.get_by_test_id("meeting-updates")).to_have_text("1", timeout=WAIT_MS)
    script = local_stack.script

    def triggers_completed() -> bool:
        runs = [e for e in script.executions() if e["kind"] == "trigger"]
        return bool(runs) and all(r["status"] == "completed" for r in runs)

    # The sync the trigger asked for is done (the meeting moved); its execution's record may
    # be written a moment later on a loaded machine.
    wait_for(triggers_completed, WAIT_MS / 1000, "the bridge trigger executions completed")
    shot(page, "10-bridge-pick")
