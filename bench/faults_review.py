"""The fault campaign's cases from the adversarial review (issue 9), run by ``bench.faults``.

Each one plays what a user, an outsider or a failing dependency does to a subscribed calendar,
then recovers (faults lifted, one trigger, the calendar quiet) and checks the user-visible
invariants of ``tests.invariants`` on the vendor's side, plus "not stalled": the last run
stored a new sync token without an error.

* ``lifecycle``    conferences removed, re-added, switched between solutions, events deleted,
                   renamed and moved, in random order;
* ``readonly``     the subscriber of a team calendar downgraded to reader while the owner
                   copies conference events;
* ``invitation``   an outsider invites a subscribed user to events carrying forged conference
                   data (someone else's meeting, or a made-up owner);
* ``forbidden``    every write-back refused with a permanent 403 while copies are made; then
                   the operator retries the parked changes;
* ``slow``         vendor calls hanging longer than the lease, applied after the hang;
* ``jwt``          Jitsi join tokens bound to the event's time, moves whose write-back fails;
* ``unconfigured`` a solution removed from the configuration, then configured again.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from typing import Any

from addon.services import Services
from addon.settings import from_env
from bench.common import reset_datastore
from bench.faults import (
    CaseResult,
    Sizes,
    SyncStack,
    _delete_all,
    say,
    sync_stack,
    vendor_check,
)
from tests.procs import (
    RECORDED,
    SOLUTION,
    HarnessError,
    Trigger,
    create_conferences,
    install_deployment,
    solutions_json,
    wait_lease_expired,
    wait_quiet,
    wait_sync_done,
)

USER = "faults@example.com"
OWNER = "owner@example.com"
BOB = "bob@example.com"
MALLORY = "mallory@outside.example"


def _fresh(s: SyncStack) -> None:
    try:
        reset_datastore(s.datastore_host)
    except OSError:
        _delete_all(s.store)
    s.side.control("POST", "/_emulator/reset")
    s.side.conferencing.reset()
    s.side.tokens.clear()
    install_deployment(s.side, s.addon)


def _body(summary: str, day: int, hour: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": f"2030-05-{day:02d}T{hour:02d}:00:00Z"},
        "end": {"dateTime": f"2030-05-{day:02d}T{hour:02d}:30:00Z"},
        **extra,
    }


def _recover(
    s: SyncStack,
    result: CaseResult,
    label: str,
    trigger: Trigger,
    calendars: list[str],
    *,
    check_guests: bool = True,
) -> None:
    """Faults off, one trigger, quiet; then not stalled and the vendor-side invariants."""
    s.clear_faults()
    calendar_id = calendars[0]
    wait_lease_expired(s.store, calendar_id, timeout=60)
    before = s.store.get_calendar(calendar_id)
    generation = before.token_generation if before else 0
    since = datetime.now(UTC)
    s.added_requests += 1
    if trigger.fire() != 200:
        result.violations.append(f"{label}: recovery trigger answered {trigger.statuses}")
        return
    try:
        state = wait_quiet(s.store, calendar_id, since=since, timeout=120, refire=trigger.fire)
    except HarnessError as exc:
        result.violations.append(f"{label}: not quiet after one trigger: {exc}"[:400])
        return
    if state.last_result.get("error") or state.token_generation <= generation:
        result.violations.append(f"{label}: stalled: {state.last_result.get('error')}")
    vendor_check(s.side, s.store, calendars, result, label, check_guests=check_guests)


def _creates(s: SyncStack) -> int:
    return sum(1 for c in s.side.provider_calls("applied") if c["op"] == "create")


def case_lifecycle(host: str, project: str, sizes: Sizes, rng: random.Random) -> CaseResult:
    result = CaseResult(
        "lifecycle",
        injected=f"{sizes.lifecycle_trials} histories of {sizes.lifecycle_steps} steps: a "
        "conference removed, re-added, switched to the other solution, events deleted, renamed "
        "and moved, in random order, each step's triggers delivered",
        checked="vendor side: every live event with our conference has exactly one live "
        "meeting matching it, no orphan, no key applied twice; not stalled",
    )
    with sync_stack(host, project, workers=2, lease_seconds=30) as s:
        model = s.side.app.config["EMULATOR_STATE"]
        for trial in range(sizes.lifecycle_trials):
            _fresh(s)
            live = [e["id"] for e in create_conferences(s.side, USER, 4)]
            s.side.settle(30)
            history: list[str] = []
            for step in range(sizes.lifecycle_steps):
                if not live:
                    break
                event_id = rng.choice(live)
                op = rng.choice(["remove", "readd", "switch", "delete", "rename", "move"])
                if op == "remove":
                    model.events_patch(USER, USER, event_id, {"conferenceData": None}, 1)
                elif op == "readd":
                    s.side.pick(USER, event_id, USER, SOLUTION)
                elif op == "switch":
                    s.side.pick(USER, event_id, USER, rng.choice([SOLUTION, RECORDED]))
                elif op == "delete":
                    model.events_delete(USER, USER, event_id)
                    live.remove(event_id)
                elif op == "rename":
                    model.events_patch(USER, USER, event_id, {"summary": f"Step {step}"})
                else:
                    model.events_patch(USER, USER, event_id, _body(f"Moved {step}", 9 + step % 9))
                history.append(f"{op} {event_id[:6]}")
                result.faults += 1
                s.side.settle(30)
            before = len(result.violations)
            _recover(s, result, f"trial {trial}", Trigger(s.side, s.addon, USER, USER), [USER])
            if len(result.violations) > before:
                result.details.setdefault("failed_histories", []).append(history)
            s.account(result)
            result.trials += 1
            say(f"  lifecycle trial {trial}: violations so far {len(result.violations)}")
    return result


def case_readonly(host: str, project: str, sizes: Sizes, rng: random.Random) -> CaseResult:
    result = CaseResult(
        "readonly",
        injected=f"{sizes.readonly_trials} team calendars: the subscriber downgraded to reader, "
        f"then {sizes.readonly_rounds} rounds of the owner copying a conference event and "
        "renaming another",
        checked="no meeting made for a copy nobody may write (it is parked as needing "
        "attention), the other meetings follow their events, not stalled, no orphan",
    )
    with sync_stack(host, project, workers=2, lease_seconds=30) as s:
        model = s.side.app.config["EMULATOR_STATE"]
        for trial in range(sizes.readonly_trials):
            _fresh(s)
            s.side.user(OWNER)
            s.side.user(BOB)
            team = model.calendars_insert(OWNER, {"summary": f"Team {trial}"})["id"]
            model.share(team, BOB, "writer")
            events = []
            for i in range(3):
                event = model.events_insert(BOB, team, _body(f"Team meeting {i}", 1 + i))
                answer = s.side.pick(team, event["id"], BOB)
                if not answer.get("applied"):
                    raise HarnessError(f"conference not created: {answer}")
                events.append(event["id"])
            s.side.settle(30)
            model.share(team, BOB, "reader")
            for r in range(sizes.readonly_rounds):
                source = model.events_get(OWNER, team, rng.choice(events))
                body = {k: source[k] for k in ("summary", "start", "end", "conferenceData")}
                model.events_insert(OWNER, team, body, 1)
                model.events_patch(OWNER, team, rng.choice(events), {"summary": f"Round {r}"})
                result.faults += 1
                s.side.settle(30)
            _recover(s, result, f"trial {trial}", Trigger(s.side, s.addon, team, BOB), [team])
            if _creates(s) != len(events):
                result.violations.append(f"trial {trial}: {_creates(s)} meetings for 3 events")
            s.account(result)
            result.trials += 1
            say(f"  readonly trial {trial}: violations so far {len(result.violations)}")
    return result


def case_invitation(host: str, project: str, sizes: Sizes, rng: random.Random) -> CaseResult:
    result = CaseResult(
        "invitation",
        injected=f"{sizes.invitation_rounds} invitations from an outsider to a subscribed user, "
        "carrying forged add-on conference data: another user's meeting, or a made-up owner "
        "naming the subscriber's own event",
        checked="no vendor call for any of them; the subscriber's own meetings follow their "
        "events; not stalled",
    )
    with sync_stack(host, project, workers=2, lease_seconds=30) as s:
        model = s.side.app.config["EMULATOR_STATE"]
        _fresh(s)
        s.side.user(MALLORY)
        own = [e["id"] for e in create_conferences(s.side, BOB, 2)]
        victim = create_conferences(s.side, USER, 1)[0]["id"]
        s.side.settle(30)
        data = model.events_get(USER, USER, victim)["conferenceData"]
        bobs = {(model.events_get(BOB, BOB, e).get("conferenceData") or {}).get("conferenceId")
                for e in own}  # fmt: skip
        calls_before = len(s.side.provider_calls())
        for r in range(sizes.invitation_rounds):
            forged = json.loads(json.dumps(data))
            if r % 2:
                params = forged["parameters"]["addOnParameters"]["parameters"]
                params.update(ownerCalendarId=BOB, ownerEventId=rng.choice(own))
                forged["conferenceId"] = f"forged-{r}"
            body = _body("Totally legit", 10 + r, attendees=[{"email": BOB}, {"email": USER}])
            body["conferenceData"] = forged
            model.events_insert(MALLORY, MALLORY, body, 1)
            model.events_patch(BOB, BOB, rng.choice(own), {"summary": f"Bob's round {r}"})
            result.faults += 1
            s.side.settle(30)
        calls = s.side.provider_calls()[calls_before:]
        strays = [c for c in calls if c["op"] != "update" or c["meetingId"] not in bobs]
        if strays:
            result.violations.append(f"vendor calls made for invitations: {strays[:3]}")
        _recover(s, result, "bob", Trigger(s.side, s.addon, BOB, BOB), [BOB, USER])
        _recover(s, result, "victim", Trigger(s.side, s.addon, USER, USER), [USER, BOB])
        s.account(result)
        result.trials = sizes.invitation_rounds
    return result


def case_forbidden(host: str, project: str, sizes: Sizes, rng: random.Random) -> CaseResult:
    result = CaseResult(
        "forbidden",
        injected=f"every write-back refused with 403 forbidden for {sizes.forbidden_rounds} "
        "rounds, each copying a conference event and renaming another",
        checked="the rest of the calendar syncs (not stalled); refused copies are parked with "
        "the reason and leave no orphan; after the operator's retry of parked changes every "
        "copy has its own meeting",
    )
    with sync_stack(host, project, workers=2, lease_seconds=30) as s:
        model = s.side.app.config["EMULATOR_STATE"]
        _fresh(s)
        events = [e["id"] for e in create_conferences(s.side, USER, 3)]
        s.side.settle(30)
        rule = {"method": "events.patch", "status": 403, "reason": "forbidden"}
        s.side.control("POST", "/_emulator/faults", {"rules": [rule]})
        trigger = Trigger(s.side, s.addon, USER, USER)
        for r in range(sizes.forbidden_rounds):
            source = model.events_get(USER, USER, rng.choice(events))
            body = {k: source[k] for k in ("summary", "start", "end", "conferenceData")}
            since = datetime.now(UTC)
            model.events_insert(USER, USER, body, 1)
            model.events_patch(USER, USER, rng.choice(events), {"summary": f"Round {r}"})
            result.faults += 1
            s.side.settle(30)
            wait_sync_done(s.store, USER, since=since, timeout=60)
            for _ in range(3):  # a few more syncs under the refusal: the copies park
                since = datetime.now(UTC)
                trigger.fire()
                wait_sync_done(s.store, USER, since=since, timeout=60)
        # While the refusal lasts, the rest of the calendar must not wait for the copies.
        meetings = s.side.meetings()
        for event_id in events:
            event = model.events_get(USER, USER, event_id)
            meeting = meetings.get(event["conferenceData"]["conferenceId"]) or {}
            if meeting.get("title") != event.get("summary"):
                result.violations.append(f"stalled under the 403s: {event_id} not updated")
        _recover(s, result, "refused", trigger, [USER])
        parked = [p for p in s.store.list_pending(USER) if p.parked]
        result.details["parked_while_refused"] = len(parked)
        if any("403" not in (p.last_error or "") for p in parked):
            result.violations.append("a parked change does not say it was refused (403)")
        svc = Services.build(from_env(s.addon.settings_env()))
        run = svc.engine.sync(USER, svc.calendar_for_token(s.side.user(USER)), retry_parked=True)
        if run.status != "done":
            result.violations.append(f"operator retry: {run.status} {run.reports}")
        vendor_check(s.side, s.store, [USER], result, "after the operator's retry")
        if any(p.parked for p in s.store.list_pending(USER)):
            result.violations.append("changes still parked after the retry with the fault gone")
        s.account(result)
        result.trials = sizes.forbidden_rounds
    return result


def case_slow(host: str, project: str, sizes: Sizes, rng: random.Random) -> CaseResult:
    lease = 5
    hang = lease + 3
    result = CaseResult(
        "slow",
        injected=f"{sizes.slow_trials} trials: every vendor call hangs {hang} s (the lease is "
        f"{lease} s, the client gives up at 0.5 s, the vendor applies the call after the hang) "
        "while the event is edited twice and triggered",
        checked="after the hung calls landed: the meeting matches the latest version; no key "
        "applied twice; not stalled",
    )
    with sync_stack(host, project, workers=1, lease_seconds=lease) as s:
        model = s.side.app.config["EMULATOR_STATE"]
        for trial in range(sizes.slow_trials):
            _fresh(s)
            events = [e["id"] for e in create_conferences(s.side, USER, 2)]
            s.side.settle(30)
            s.side.conferencing.set_fault("hang", seconds=hang)
            target = rng.choice(events)
            since = datetime.now(UTC)
            model.events_patch(USER, USER, target, {"summary": f"Trial {trial} v1"})
            s.side.settle(30)
            time.sleep(rng.uniform(0.0, 2.0))
            model.events_patch(USER, USER, target, {"summary": f"Trial {trial} v2"})
            s.side.settle(30)
            wait_sync_done(s.store, USER, since=since, timeout=60)
            s.side.conferencing.set_fault(None)
            time.sleep(hang + 1.0)  # every hung call has landed at the vendor by now
            result.faults += 1
            _recover(s, result, f"trial {trial}", Trigger(s.side, s.addon, USER, USER), [USER])
            s.account(result)
            result.trials += 1
            say(f"  slow trial {trial}: violations so far {len(result.violations)}")
    return result


def _jitsi_solutions(emulator_url: str) -> str:
    solutions = json.loads(solutions_json(emulator_url))
    solutions[0] = {
        "id": SOLUTION,
        "name": "Web conference",
        "provider": "jitsi",
        "options": {"app_id": "acme", "app_secret": "s" * 32, "base_url": "https://meet.example"},
    }
    return json.dumps(solutions)


def case_jwt(host: str, project: str, sizes: Sizes, rng: random.Random) -> CaseResult:
    result = CaseResult(
        "jwt",
        injected=f"{sizes.jwt_rounds} moves of events whose Jitsi join token is bound to their "
        "time, each move's write-back failing (Calendar 503 past the client's retries)",
        checked="every event's join token is valid over its time once Calendar is back",
    )
    with sync_stack(host, project, workers=1, lease_seconds=30) as s:
        s.addon.env["ADDON_SOLUTIONS"] = _jitsi_solutions(s.side.url)
        s.addon.restart()
        model = s.side.app.config["EMULATOR_STATE"]
        _fresh(s)
        events = [e["id"] for e in create_conferences(s.side, USER, 3)]
        s.side.settle(30)
        for r in range(sizes.jwt_rounds):
            rule = {"method": "events.patch", "status": 503, "count": 6}
            s.side.control("POST", "/_emulator/faults", {"rules": [rule]})
            day = 10 + r
            since = datetime.now(UTC)
            model.events_patch(USER, USER, rng.choice(events), _body(f"Moved {r}", day, 8 + r))
            result.faults += 1
            s.side.settle(30)
            # The move's sync ran into the failing write-back before the fault is lifted.
            wait_sync_done(s.store, USER, since=since, timeout=60)
        _recover(s, result, "jwt", Trigger(s.side, s.addon, USER, USER), [USER])
        s.account(result)
        result.trials = sizes.jwt_rounds
    return result


def case_unconfigured(host: str, project: str, sizes: Sizes, rng: random.Random) -> CaseResult:
    result = CaseResult(
        "unconfigured",
        injected="one of the two solutions removed from ADDON_SOLUTIONS (service redeployed) "
        "while events of both change; then configured again",
        checked="no crash, the other solution's meetings follow their events, the removed "
        "one's changes are parked with the reason; once it is back they are applied by "
        "themselves; not stalled",
    )
    with sync_stack(host, project, workers=1, lease_seconds=30) as s:
        model = s.side.app.config["EMULATOR_STATE"]
        both = s.addon.env["ADDON_SOLUTIONS"]
        only = json.dumps(json.loads(both)[:1])
        for trial in range(sizes.unconfigured_trials):
            _fresh(s)
            kept = [e["id"] for e in create_conferences(s.side, USER, 2)]
            removed = []
            for i in range(2):
                event = model.events_insert(USER, USER, _body(f"Recorded {i}", 20 + i))
                s.side.pick(USER, event["id"], USER, RECORDED)
                removed.append(event["id"])
            s.side.settle(30)
            s.addon.env["ADDON_SOLUTIONS"] = only
            s.addon.restart()
            install_deployment(s.side, s.addon)
            for event_id in kept + removed:
                model.events_patch(USER, USER, event_id, {"summary": f"Trial {trial} renamed"})
            result.faults += 1
            _recover(
                s, result, f"trial {trial} removed", Trigger(s.side, s.addon, USER, USER), [USER]
            )
            parked = {p.event_id for p in s.store.list_pending(USER) if p.parked}
            if parked != set(removed):
                result.violations.append(f"trial {trial}: parked {parked}, expected {removed}")
            s.addon.env["ADDON_SOLUTIONS"] = both
            s.addon.restart()
            install_deployment(s.side, s.addon)
            model.events_patch(USER, USER, kept[0], {"colorId": "3"})  # any change: a trigger
            _recover(s, result, f"trial {trial} back", Trigger(s.side, s.addon, USER, USER), [USER])
            still = [p.event_id for p in s.store.list_pending(USER) if p.parked]
            if still:
                result.violations.append(f"trial {trial}: still parked once it is back: {still}")
            s.account(result)
            result.trials += 1
            say(f"  unconfigured trial {trial}: violations so far {len(result.violations)}")
    return result


REVIEW_CASES = {
    "lifecycle": case_lifecycle,
    "readonly": case_readonly,
    "invitation": case_invitation,
    "forbidden": case_forbidden,
    "slow": case_slow,
    "jwt": case_jwt,
    "unconfigured": case_unconfigured,
}
