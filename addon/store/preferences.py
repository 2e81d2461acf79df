"""Each user's own settings (``UserPreferences``, key ``(UserPreferences, sub)``), set on the
settings page and read when a meeting is created for them.

* ``default_solution`` — the solution the user prefers (shown on their cards; Calendar's own
  picker decides what is picked, see the README).
* ``dial_in`` — False: meetings created for the user carry no dial-in numbers.
* ``recording`` — None keeps each solution's own setting; True/False asks the vendor to
  record or not (``MeetingRequest.options["recording"]``).

Nothing here is queried, so nothing is indexed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from addon.conference_data import without_dial_in
from addon.providers.base import Meeting, MeetingRequest
from addon.store.base import DatastoreBase

USER_PREFERENCES = "UserPreferences"


@dataclass(frozen=True)
class UserPreferences:
    user_id: str
    default_solution: str | None = None
    dial_in: bool = True
    recording: bool | None = None
    updated_at: datetime | None = None

    def with_(self, **changes: Any) -> UserPreferences:
        return replace(self, **changes)


def preferences_from_entity(user_id: str, entity: Any | None) -> UserPreferences:
    """The user's settings from their stored entity (the defaults when there is none)."""
    if entity is None:
        return UserPreferences(user_id)
    recording = entity.get("recording")
    return UserPreferences(
        user_id=user_id,
        default_solution=entity.get("default_solution"),
        dial_in=bool(entity.get("dial_in", True)),
        recording=recording if isinstance(recording, bool) else None,
        updated_at=entity.get("updated_at"),
    )


class PreferenceRecords(DatastoreBase):
    def _preferences_key(self, user_id: str) -> Any:
        return self._client.key(USER_PREFERENCES, user_id)

    def get_preferences(self, user_id: str) -> UserPreferences:
        """The user's settings (the defaults when they never saved any)."""
        entity = self._retrying(lambda: self._client.get(self._preferences_key(user_id)))
        return preferences_from_entity(user_id, entity)

    def put_preferences(self, prefs: UserPreferences) -> UserPreferences:
        from google.cloud import datastore

        prefs = prefs.with_(updated_at=self._clock())
        entity = datastore.Entity(
            self._preferences_key(prefs.user_id),
            exclude_from_indexes=("default_solution", "dial_in", "recording", "updated_at"),
        )
        entity.update(
            {
                "default_solution": prefs.default_solution,
                "dial_in": prefs.dial_in,
                "recording": prefs.recording,
                "updated_at": prefs.updated_at,
            }
        )
        self._retrying(lambda: self._client.put(entity))
        return prefs


def apply_preferences(request: MeetingRequest, prefs: UserPreferences) -> MeetingRequest:
    """The creation request with the user's recording choice (None: the solution's own),
    which the vendor reads from ``MeetingRequest.options["recording"]`` (a REST vendor gets
    it in the creation's ``options``; Jitsi's recording is fixed per solution by its own
    ``recording`` option and ignores it)."""
    if prefs.recording is None:
        return request
    return replace(request, options={**request.options, "recording": prefs.recording})


def shape_meeting(meeting: Meeting, prefs: UserPreferences) -> Meeting:
    """The meeting as the user wants it on their event: without dial-in when they said so."""
    return meeting if prefs.dial_in else without_dial_in(meeting)
