"""What a sync run reports, and how a failure that stops a run is classified.

``SyncReport`` is stored as the calendar's ``last_result`` and in its run history;
``SyncRun`` is what one trigger got; ``stop_for`` decides whether a failure means "retry
later" (with a floor for quota) or "wait for a person" (``attention``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from addon.calendar.errors import CalendarError, Forbidden, NotFound, QuotaExceeded, Unauthorized
from addon.store.errors import StoreError
from addon.sync.execute import Executor

QUOTA_RETRY_SECONDS = 300.0
LEASE_LOST = "lease lost (another process took over); nothing more stored"


@dataclass
class SyncReport:
    """What one run did (stored as the calendar's ``last_result``, shown in logs)."""

    calendar_id: str
    mode: str = "incremental"
    pages: int = 0
    changes: int = 0
    replayed: int = 0
    reconciled: int = 0
    retired: int = 0
    # Record keys read for planning, and reads of the calendar's live ids (addon.sync.known).
    lookups: int = 0
    live_id_reads: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    provider_calls: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    failed: int = 0
    parked: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    superseded: int = 0
    write_backs: int = 0
    conflicts: int = 0
    token_stored: bool = False
    token_expired: bool = False
    # Which time slice of its listing this run was (1: it started the listing), and whether
    # the listing goes on in a continuation.
    slice: int = 1
    continues: bool = False
    error: str | None = None
    retry_in: float | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncRun:
    """The outcome of one sync call: ``busy`` (someone else syncs; marked dirty), ``done``,
    ``error``, or ``continue`` (its time slice ended; the cursor is stored), with the reports
    of the runs made under our lease."""

    calendar_id: str
    status: str
    reports: list[SyncReport] = field(default_factory=list)


@dataclass
class Stop:
    """Why a run stopped early: retry later (``retry``) or wait for a person (``attention``)."""

    error: str
    retry: float | None = None
    attention: str | None = None


def finish_report(report: SyncReport, executor: Executor, started: float) -> None:
    out = executor.outcome
    report.provider_calls = dict(out.provider_calls)
    report.pending, report.failed, report.parked = out.pending, out.failed, out.parked
    report.write_backs, report.conflicts = out.write_backs, out.conflicts
    report.skipped, report.superseded = dict(out.skipped), out.superseded
    report.retired = out.retired
    report.live_id_reads = executor.known.reads
    report.seconds = round(time.monotonic() - started, 3)


def stop_for(exc: Exception) -> Stop | None:
    """How a run-stopping failure is handled; None: not ours to handle (a bug: raise)."""
    error = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, Unauthorized):
        # The trigger's token expired or was revoked: retrying with it cannot help.
        why = "Calendar refused the user's token (401): syncing resumes with the next trigger"
        return Stop(error, attention=why)
    if isinstance(exc, Forbidden | NotFound):
        why = (
            f"the subscriber can no longer read this calendar ({exc.status} {exc.reason}): "
            "it resumes when access is back"
        )
        return Stop(error, attention=why)
    if isinstance(exc, QuotaExceeded):
        return Stop(error, retry=QUOTA_RETRY_SECONDS)
    if isinstance(exc, CalendarError | StoreError):
        return Stop(error, retry=0.0)
    return None
