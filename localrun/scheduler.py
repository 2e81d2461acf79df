"""The local stack's stand-in for Cloud Scheduler: it calls the add-on's sweep
(``POST /tasks/sweep``) every few seconds, with an OIDC token the emulator signs for that URL
as the scheduler's invoker account, as the ``gcloud scheduler jobs create http`` job of the
deployment guide does on Google. A failed call is said once, not every time."""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from addon.tasks.queue import SWEEP_PATH


class SweepScheduler:
    def __init__(
        self,
        emulator_url: str,
        backend_url: str,
        invoker: str,
        every_seconds: float,
        say: Callable[[str], None],
    ) -> None:
        self._emulator = emulator_url
        self._url = backend_url + SWEEP_PATH
        self._invoker = invoker
        self._every = every_seconds
        self._say = say
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweep-scheduler", daemon=True)
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sweep_once(self) -> int | None:
        """One call; the answer's status (None: no answer)."""
        try:
            minted = requests.post(
                self._emulator + "/_emulator/addon/id-token",
                json={"audience": self._url, "email": self._invoker},
                timeout=5,
            )
            minted.raise_for_status()
            token = minted.json()["idToken"]
            answer = requests.post(
                self._url, headers={"Authorization": f"Bearer {token}"}, json={}, timeout=30
            )
        except (requests.RequestException, ValueError, KeyError):
            return None
        return answer.status_code

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            status = self.sweep_once()
            if status != 200 and not self._failing:
                answered = status or "nothing"
                self._say(f"the sweep answered {answered}; trying again every {self._every:g} s")
            elif status == 200 and self._failing:
                self._say("the sweep answers again")
            self._failing = status != 200
