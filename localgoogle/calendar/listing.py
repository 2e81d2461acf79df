"""events.list and events.instances: filtering, expansion and pagination, written once.

Snapshot semantics (why paging under concurrent writes neither skips nor duplicates):
a listing captures ``snap = calendar.seq`` on its first page and keeps it in every page
token. Full listings walk events in creation order (keyset position ``[ordinal, sub]``)
and show only events whose last change is ``<= snap``; anything created, changed or
deleted while the client pages has a higher seq, so it is left out of this listing and
returned by the next incremental sync, whose token is ``snap``. Incremental listings walk
the change log over ``(token_seq, snap]``. Page tokens carry the calendar, its token epoch
and the snapshot, HMAC-signed (``tokens.py``); bad or expired ones give 410.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localgoogle.calendar import exceptions as exc
from localgoogle.calendar import resources
from localgoogle.calendar.clock import rfc3339
from localgoogle.calendar.models import CalendarState
from localgoogle.calendar.records import HORIZON, CalendarData, EventRecord
from localgoogle.calendar.recurrence import expand

MAX_PAGE = 2500
# A page stops after scanning this many stored events even if it is not full: Google may
# return short or empty pages with a nextPageToken too, and it bounds one request's cost.
SCAN_LIMIT = 20_000
_DONE = 1 << 40


@dataclass
class ListParams:
    max_results: int = 250
    page_token: str | None = None
    sync_token: str | None = None
    show_deleted: bool | None = None
    single_events: bool = False
    time_min: datetime | None = None
    time_max: datetime | None = None
    updated_min: datetime | None = None
    order_by: str | None = None
    q: str | None = None
    i_cal_uid: str | None = None
    private_ext: list[str] = field(default_factory=list)
    shared_ext: list[str] = field(default_factory=list)


_REFUSED_WITH_SYNC: dict[str, Callable[[ListParams], bool]] = {
    "iCalUID": lambda p: p.i_cal_uid is not None,
    "orderBy": lambda p: p.order_by is not None,
    "privateExtendedProperty": lambda p: bool(p.private_ext),
    "q": lambda p: p.q is not None,
    "sharedExtendedProperty": lambda p: bool(p.shared_ext),
    "timeMin": lambda p: p.time_min is not None,
    "timeMax": lambda p: p.time_max is not None,
    "updatedMin": lambda p: p.updated_min is not None,
    "showDeleted": lambda p: p.show_deleted is False,
}


def tombstone(resource: dict[str, Any]) -> dict[str, Any]:
    """A cancelled event as incremental sync shows it: only the identifying fields."""
    out = {k: resource[k] for k in ("kind", "etag", "id") if k in resource}
    out["status"] = "cancelled"
    for key in ("recurringEventId", "originalStartTime"):
        if key in resource:
            out[key] = resource[key]
    return out


class _Lister:
    def __init__(self, state: CalendarState, cal: CalendarData, params: ListParams) -> None:
        self.state, self.cal, self.p = state, cal, params
        now = state.clock.now()
        self.window_start = params.time_min
        self.horizon_base = max(now, params.time_min or now)
        self.updated_min = rfc3339(params.updated_min) if params.updated_min else None

    def expand_series(self, rec: EventRecord, snap: int) -> Iterator[tuple[int, dict[str, Any]]]:
        res = rec.resource
        # Unbounded series stop at a horizon counted from now or from the series' start.
        window_end = self.p.time_max or max(self.horizon_base, rec.start_utc) + HORIZON
        occurrences = expand(
            res["start"], res["end"], res["recurrence"], default_tz=self.cal.time_zone,
            window_start=self.window_start, window_end=window_end,
        )  # fmt: skip
        for index, occ in enumerate(occurrences):
            exception = self.cal.events.get(f"{res['id']}_{occ.suffix}")
            if exception is not None and exception.seq <= snap:
                continue  # the exception is listed at its own position
            yield index, resources.instance_resource(res, occ)

    def matches(
        self, res: dict[str, Any], start: datetime, end: datetime, *, check_time: bool = True
    ) -> bool:
        p = self.p
        cancelled = res.get("status") == "cancelled"
        if cancelled and not p.show_deleted and self.updated_min is None:
            return False
        if check_time and p.time_min is not None and end <= p.time_min and start != end:
            return False
        if check_time and p.time_max is not None and start >= p.time_max:
            return False
        if self.updated_min is not None and res.get("updated", "") < self.updated_min:
            return False
        if p.i_cal_uid is not None and res.get("iCalUID") != p.i_cal_uid:
            return False
        if p.q is not None and not _text_match(res, p.q):
            return False
        ext = res.get("extendedProperties") or {}
        for scope, wanted in (("private", p.private_ext), ("shared", p.shared_ext)):
            props = ext.get(scope) or {}
            for item in wanted:
                key, _, value = item.partition("=")
                if props.get(key) != value:
                    return False
        return True

    def items_of(
        self, rec: EventRecord, snap: int
    ) -> Iterator[tuple[int, dict[str, Any], datetime]]:
        """(sub, resource, start) of one stored event as this listing shows it."""
        res = rec.resource
        cancelled = res.get("status") == "cancelled"
        if "recurrence" in res and not cancelled:
            if self.p.single_events:
                for sub, inst in self.expand_series(rec, snap):
                    begin, end = resources.bounds(self.cal, inst)
                    if self.matches(inst, begin, end):
                        yield sub, inst, begin
                return
            if self.p.time_min is not None or self.p.time_max is not None:
                if next(self.expand_series(rec, -1), None) is None:
                    return
                if self.matches(res, rec.start_utc, rec.end_utc, check_time=False):
                    yield -1, res, rec.start_utc
                return
        if self.matches(res, rec.start_utc, rec.end_utc):
            yield -1, tombstone(res) if cancelled else res, rec.start_utc


def _text_match(res: dict[str, Any], q: str) -> bool:
    hay = [res.get("summary", ""), res.get("description", ""), res.get("location", "")]
    for person in [res.get("organizer") or {}, *(res.get("attendees") or [])]:
        hay += [person.get("email", ""), person.get("displayName", "")]
    text = " ".join(h for h in hay if isinstance(h, str)).lower()
    return all(term in text for term in q.lower().split())


def _envelope(
    state: CalendarState, cal: CalendarData, user: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "calendar#events", "etag": f'"p{cal.seq:015x}"', "summary": cal.summary,
        "updated": cal.updated, "timeZone": cal.time_zone,
        "accessRole": state.role_of(cal, user) or "reader", "defaultReminders": [],
        "items": items,
    }  # fmt: skip
    if cal.description:
        out["description"] = cal.description
    return out


def _decode(state: CalendarState, cal: CalendarData, token: str, kind: str) -> list[Any]:
    payload = state.tokens.decode(token)
    if (
        payload is None
        or len(payload) < 3
        or payload[0] != kind
        or payload[1] != cal.id
        or payload[2] != cal.epoch
    ):
        raise exc.full_sync_required()
    return payload


def list_events(state: CalendarState, user: str, calendar_id: str, p: ListParams) -> dict[str, Any]:
    if not 1 <= p.max_results <= MAX_PAGE:
        raise exc.bad_request("Invalid value for maxResults: must be between 1 and 2500.")
    if p.order_by == "startTime" and not p.single_events:
        raise exc.bad_request("The requested ordering is not available for the particular query.")
    with state.lock:
        cal = state.access(user, calendar_id)
        incremental = p.sync_token is not None
        if p.page_token is not None:
            raw = state.tokens.decode(p.page_token)
            incremental = bool(raw) and raw is not None and raw[0] == "i"
        if incremental:
            refused = [name for name, test in _REFUSED_WITH_SYNC.items() if test(p)]
            if refused:
                raise exc.bad_request(
                    f"The following parameters cannot be used with syncToken: {', '.join(refused)}."
                )
            return _incremental(state, cal, user, p)
        return _full(state, cal, user, p)


def _incremental(
    state: CalendarState, cal: CalendarData, user: str, p: ListParams
) -> dict[str, Any]:
    if p.page_token is not None:
        _, _, _epoch, token_seq, snap, index, sub = _decode(state, cal, p.page_token, "i")[:7]
    else:
        assert p.sync_token is not None
        _, _, _epoch, token_seq = _decode(state, cal, p.sync_token, "s")[:4]
        snap, sub = cal.seq, 0
        index = bisect.bisect_right(cal.log_seqs, token_seq)
    if token_seq > cal.seq:
        raise exc.full_sync_required()
    lister = _Lister(state, cal, p)
    items: list[dict[str, Any]] = []
    end = bisect.bisect_right(cal.log_seqs, snap)
    while index < end and len(items) < p.max_results:
        rec = cal.events[cal.log_ids[index]]
        if rec.seq != cal.log_seqs[index]:  # superseded by a later change
            index, sub = index + 1, 0
            continue
        res = rec.resource
        if res.get("status") == "cancelled":
            rendered = [tombstone(res)]
        elif p.single_events and "recurrence" in res:
            rendered = [inst for _, inst in lister.expand_series(rec, snap)]
        else:
            rendered = [res]
        room = p.max_results - len(items)
        items.extend(rendered[sub : sub + room])
        if sub + room < len(rendered):
            sub += room
            break
        index, sub = index + 1, 0
    out = _envelope(state, cal, user, items)
    if index >= end:
        out["nextSyncToken"] = state.tokens.encode(["s", cal.id, cal.epoch, snap])
    else:
        out["nextPageToken"] = state.tokens.encode(
            ["i", cal.id, cal.epoch, token_seq, snap, index, sub]
        )
    return out


def _full(state: CalendarState, cal: CalendarData, user: str, p: ListParams) -> dict[str, Any]:
    if p.page_token is not None:
        payload = _decode(state, cal, p.page_token, "f")
        snap, order_by, single, last_key = payload[3], payload[4] or None, payload[5], payload[6]
        p.order_by, p.single_events = order_by, bool(single)
    else:
        snap, last_key = cal.seq, None
    lister = _Lister(state, cal, p)
    if p.order_by is None:
        items, next_key = _page_by_ordinal(lister, snap, last_key)
    else:
        items, next_key = _page_sorted(lister, snap, last_key)
    out = _envelope(state, cal, user, items)
    if next_key is None:
        out["nextSyncToken"] = state.tokens.encode(["s", cal.id, cal.epoch, snap])
    else:
        out["nextPageToken"] = state.tokens.encode(
            ["f", cal.id, cal.epoch, snap, p.order_by or "", int(p.single_events), next_key]
        )
    return out


def _page_by_ordinal(
    lister: _Lister, snap: int, last_key: list[int] | None
) -> tuple[list[dict[str, Any]], list[int] | None]:
    cal, limit = lister.cal, lister.p.max_results
    ordinal, last_sub = last_key if last_key else (0, -2)
    items: list[dict[str, Any]] = []
    scanned = 0
    while ordinal < len(cal.order):
        rec = cal.events[cal.order[ordinal]]
        scanned += 1
        if rec.seq <= snap:
            for sub, res, _start in lister.items_of(rec, snap):
                if sub <= last_sub:
                    continue
                if len(items) == limit:
                    return items, [ordinal, last_sub]
                items.append(res)
                last_sub = sub
        ordinal, last_sub = ordinal + 1, -2
        if scanned >= SCAN_LIMIT and ordinal < len(cal.order):
            return items, [ordinal, -2]
        if len(items) == limit and ordinal < len(cal.order):
            return items, [ordinal, -2]
    return items, None


def _page_sorted(
    lister: _Lister, snap: int, last_key: list[Any] | None
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    cal = lister.cal
    keyed: list[tuple[list[Any], dict[str, Any]]] = []
    for ordinal, event_id in enumerate(cal.order):
        rec = cal.events[event_id]
        if rec.seq > snap:
            continue
        for sub, res, start in lister.items_of(rec, snap):
            if lister.p.order_by == "updated":
                primary: Any = res.get("updated", "")
            else:
                primary = int(start.timestamp() * 1_000_000)
            keyed.append(([primary, ordinal, sub], res))
    keyed.sort(key=lambda kr: kr[0])
    keys = [k for k, _ in keyed]
    begin = bisect.bisect_right(keys, last_key) if last_key else 0
    page = keyed[begin : begin + lister.p.max_results]
    more = begin + len(page) < len(keyed)
    return [r for _, r in page], (page[-1][0] if more and page else None)


def list_instances(
    state: CalendarState, user: str, calendar_id: str, event_id: str, p: ListParams
) -> dict[str, Any]:
    if not 1 <= p.max_results <= MAX_PAGE:
        raise exc.bad_request("Invalid value for maxResults: must be between 1 and 2500.")
    with state.lock:
        cal = state.access(user, calendar_id)
        rec = cal.events.get(event_id)
        if rec is None:
            raise exc.not_found()
        if rec.resource.get("status") == "cancelled":
            raise exc.deleted()
        offset = 0
        if p.page_token is not None:
            payload = _decode(state, cal, p.page_token, "n")
            if payload[3] != event_id:
                raise exc.full_sync_required()
            offset = payload[4]
        lister = _Lister(state, cal, p)
        items: list[dict[str, Any]] = []
        if "recurrence" not in rec.resource:
            all_items = [rec.resource]
        else:
            all_items = []
            for _, inst in lister.expand_series(rec, -1):
                exception = cal.events.get(inst["id"])
                if exception is None:
                    all_items.append(inst)
                elif exception.resource.get("status") != "cancelled":
                    all_items.append(exception.resource)
                elif p.show_deleted:
                    all_items.append(tombstone(exception.resource))
        items = all_items[offset : offset + p.max_results]
        out = _envelope(state, cal, user, items)
        if offset + len(items) < len(all_items):
            out["nextPageToken"] = state.tokens.encode(
                ["n", cal.id, cal.epoch, event_id, offset + len(items)]
            )
        return out
