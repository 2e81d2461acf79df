"""A small real conferencing server: the REST API ``addon.providers.rest`` speaks.

In memory and thread-safe; tests and local runs use it to count provider calls for real.
``state.ConferencingState`` holds the state (meetings, idempotency keys, the call log,
faults, latency); ``http.conferencing_blueprint(state)`` is the HTTP surface (mountable under a
prefix such as ``/_conferencing``); ``http.create_conferencing_app()`` serves it alone.

Vendor API (every mutating call records one entry in the call log):

``POST   /meetings``                   create → 201 meeting
``PATCH  /meetings/<id>``              update → 200 meeting; 404 if unknown or deleted; 409
                                       ``{"code": "staleVersion", "meeting"}`` when its
                                       ``eventVersion`` is older than the meeting's (logged
                                       as ``stale``: a late request changes nothing)
``POST   /meetings/<id>/occurrences``  record an occurrence change → 200 meeting; 404 likewise
``DELETE /meetings/<id>``              → 204; 404 if unknown or already deleted

An ``Idempotency-Key`` is applied once: a repeat (same key, same operation and meeting)
answers the stored result and is logged as ``duplicate``; the same key on another operation
is refused with 422. Only successful results are stored, so a failed call can be retried.
With ``api_key`` set, calls need ``X-Api-Key: <key>`` or ``Authorization: Bearer <key>``,
else 401 ``{"error", "authenticationUrl"}``.

Latency: every vendor API call (create, update, occurrence, delete; duplicates, faults and
refusals included) first waits the current latency, 0 s by default, like the round trip to a
remote API. The wait is outside the state's lock, so concurrent calls overlap as they would
against a real vendor (two calls at 10 ms take about 10 ms together, not 20). Set it with the
constructor's ``latency_seconds`` or ``POST /latency``; ``/reset`` sets it back to the
constructor's value.

Control API (not logged, never faulted or delayed):

``GET /calls``          ``{"calls": [{method, op, meetingId, idempotencyKey, outcome, status}]}``
                        with outcome ``applied|duplicate|fault|rejected|stale``
``GET /meetings``       ``{"meetings": [...]}`` including deleted ones (``deleted: true``)
``GET /meetings/<id>``  one meeting with its full state, or 404
``GET /stats``          ``{"latencySeconds", "inFlight", "peakInFlight", "calls"}``: the
                        current latency, the API calls being served now, the most served at
                        once since the last reset (or ``restore``), the calls logged
``POST /latency``       ``{"seconds": S}`` with 0 ≤ S ≤ 5 (a number): the latency of every
                        later API call; anything else is answered 400 ``{"error"}``
``POST /reset``         forget everything, clear faults and the latency set here, release
                        hanging requests
``POST /faults``        ``{"mode": "down"|"error500"|"hang"|"auth"|"refuse"|"none",
                        "seconds": N, "count": N}``: the next ``count`` API calls (all when
                        absent) answer 503 / 500 / hang ``seconds`` (≤ 30) and then proceed
                        normally / 401 with authenticationUrl / 400. ``DELETE /faults`` clears.

In Python only (benchmarks): ``snapshot()`` copies the meetings and applied keys;
``restore(snapshot)`` puts them back and empties the call log, so runs that change or delete
meetings can each start from identical vendor data.
"""

from localgoogle.vendors.rest.http import conferencing_blueprint, create_conferencing_app
from localgoogle.vendors.rest.state import (
    FAULT_MODES,
    ConferencingState,
    FaultMode,
    Outcome,
    Result,
    VendorSnapshot,
    latency_problem,
)

__all__ = [
    "FAULT_MODES",
    "ConferencingState",
    "FaultMode",
    "Outcome",
    "Result",
    "VendorSnapshot",
    "conferencing_blueprint",
    "create_conferencing_app",
    "latency_problem",
]
