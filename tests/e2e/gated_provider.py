"""A real provider for one test: the REST provider, except that an update whose title is the
gate's ``hold`` title waits, before it is sent, until the test opens the gate.

It plays a sync that stalls mid-call (a long GC pause, a frozen VM) for longer than its lease:
another process takes the lease over meanwhile, and the stalled call lands afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from addon.providers.base import Meeting, MeetingRequest
from addon.providers.registry import register
from addon.providers.rest import RestProvider

GATES: dict[str, threading.Event] = {}
ENTERED: dict[str, threading.Event] = {}


@register("gated")
class GatedProvider(RestProvider):
    name = "gated"

    def __init__(self, options: Mapping[str, Any], **kwargs: Any) -> None:
        self.hold = str(options["hold"])
        GATES.setdefault(self.hold, threading.Event())
        ENTERED.setdefault(self.hold, threading.Event())
        rest = {k: v for k, v in options.items() if k != "hold"}
        super().__init__(rest, **kwargs)

    def update(self, meeting: Meeting, request: MeetingRequest, *, idempotency_key: str) -> Meeting:
        if request.summary == self.hold:
            ENTERED[self.hold].set()
            assert GATES[self.hold].wait(60), "the test never opened the gate"
        return super().update(meeting, request, idempotency_key=idempotency_key)
