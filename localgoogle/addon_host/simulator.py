"""``HostSimulator``: Google Calendar as an HTTP add-on sees it.

It holds the installed deployment, the calendar subscriptions the add-on asked for, the call
log and the trigger worker. It reaches Calendar state only through ``HostCalendarAccess``
(``localgoogle.seams``) and the add-on only through ``calls.post_event_object``.

Words used here:

* *solution* — one ``conferenceSolution`` of the deployment (picked by the user by ``id``).
* *subscription* — (calendar id, user) recorded from a ``calendarSubscriptionActionMarkup``;
  every change in that calendar fires the deployment's calendarNotificationTrigger once per
  subscription, with that user's OAuth token.
* *call log* — the recent outbound calls, newest last, for tests and the local console.
"""

from __future__ import annotations

import datetime
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from localgoogle.addon_host.call_log import CallLog, now_iso
from localgoogle.addon_host.calls import (
    AuthParts,
    event_open_event_object,
    event_time_zone,
    homepage_event_object,
    notification_event_object,
    on_create_event_object,
    post_event_object,
    read_card_answer,
)
from localgoogle.addon_host.deployment import Deployment, parse_deployment
from localgoogle.addon_host.errors import (
    BadRequestError,
    NotInstalledError,
    UnknownSolutionError,
)
from localgoogle.addon_host.keys import (
    DEFAULT_OAUTH_CLIENT_ID,
    DEFAULT_SYSTEM_SERVICE_ACCOUNT,
    GOOGLE_ISSUER,
    TokenIssuer,
)
from localgoogle.addon_host.on_create import read_on_create_answer
from localgoogle.addon_host.triggers import Delivery, NotificationSettings, Pause, TriggerQueue
from localgoogle.seams import HostCalendarAccess


@dataclass(frozen=True)
class Subscription:
    calendar_id: str
    user: str
    created: str
    solution_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "calendarId": self.calendar_id,
            "user": self.user,
            "created": self.created,
            "solutionId": self.solution_id,
        }


class HostSimulator:
    """One simulated Calendar host for one installed add-on deployment."""

    def __init__(
        self,
        calendars: HostCalendarAccess,
        *,
        system_service_account: str = DEFAULT_SYSTEM_SERVICE_ACCOUNT,
        oauth_client_id: str = DEFAULT_OAUTH_CLIENT_ID,
        issuer: str = GOOGLE_ISSUER,
        call_timeout: float = 10.0,
    ) -> None:
        self.calendars = calendars
        self.system_service_account = system_service_account
        self.oauth_client_id = oauth_client_id
        self.call_timeout = call_timeout
        self.tokens = TokenIssuer(issuer=issuer)
        self._lock = threading.Lock()
        self._deployment: Deployment | None = None
        self._subscriptions: dict[tuple[str, str], Subscription] = {}
        self._calls = CallLog()
        self._settings = NotificationSettings()
        self._rng = random.Random()  # noqa: S311 - fault injection, not security
        self._queue = TriggerQueue(self._deliver)
        calendars.add_change_listener(self._on_change)

    # -- deployment -------------------------------------------------------------------------

    @property
    def deployment(self) -> Deployment | None:
        with self._lock:
            return self._deployment

    def install(self, body: object) -> Deployment:
        """Validate and install (or replace) the deployment; ``DeploymentError`` if invalid."""
        deployment = parse_deployment(body)
        with self._lock:
            self._deployment = deployment
        return deployment

    def uninstall(self) -> bool:
        """Remove the deployment and, as uninstalling an add-on does, its subscriptions."""
        with self._lock:
            had = self._deployment is not None
            self._deployment = None
            self._subscriptions.clear()
        self._queue.clear()
        return had

    def _require_deployment(self) -> Deployment:
        deployment = self.deployment
        if deployment is None:
            raise NotInstalledError("no add-on deployment is installed")
        return deployment

    # -- tokens -----------------------------------------------------------------------------

    def system_id_token(self, audience: str, **overrides: Any) -> str:
        """An ID token of the add-on's system service account for ``audience``."""
        overrides.setdefault("email", self.system_service_account)
        return self.tokens.mint(audience=audience, **overrides)

    def user_id_token(self, email: str, **overrides: Any) -> str:
        """A user's ID token; its audience (and ``azp``) is the add-on's OAuth client id."""
        overrides.setdefault("audience", self.oauth_client_id)
        overrides.setdefault("authorized_party", self.oauth_client_id)
        return self.tokens.mint(email=email, **overrides)

    def _auth(self, deployment: Deployment, url: str, user: str) -> AuthParts:
        system = self.system_id_token(url)
        wants_user_header = deployment.authorization_header == "USER_ID_TOKEN"
        user_token = (
            self.user_id_token(user)
            if deployment.shares_user_identity or wants_user_header
            else None
        )
        header = {"SYSTEM_ID_TOKEN": system, "USER_ID_TOKEN": user_token, "NONE": None}
        return AuthParts(
            user_oauth_token=self.calendars.host_user_token(user),
            system_id_token=system,
            user_id_token=user_token,
            authorized_scopes=deployment.oauth_scopes,
            header_token=header[deployment.authorization_header],
        )

    # -- onCreateFunction -------------------------------------------------------------------

    def pick_conference(
        self,
        calendar_id: str,
        event_id: str,
        solution_id: str,
        user: str,
        *,
        time_zone: str | None = None,
        locale: str = "en",
        platform: str = "WEB",
    ) -> dict[str, Any]:
        """The user picked ``solution_id`` on the event: call onCreateFunction, apply the answer.

        Returns ``{addonStatus, addonResponse, applied, conferenceData, subscribed, error,
        requestedScopes, eventMissing}``. ``conferenceData`` is the converted resource even
        when it could not be stored because the event does not exist (``eventMissing``).
        Raises ``AddonCallError`` (502) when the answer is unusable.
        """
        deployment = self._require_deployment()
        solution = deployment.solution(solution_id)
        if solution is None:
            known = ", ".join(s.id for s in deployment.solutions) or "none"
            raise UnknownSolutionError(
                f"conference solution {solution_id!r} is not in the deployment (known: {known})"
            )
        event = self.calendars.host_get_event(calendar_id, event_id)
        auth = self._auth(deployment, solution.on_create_function, user)
        body = on_create_event_object(
            deployment=deployment,
            auth=auth,
            calendar_id=calendar_id,
            event_id=event_id,
            event=event,
            organizer_email=self.calendars.host_calendar_owner(calendar_id) or user,
            time_zone_id=time_zone or event_time_zone(event) or "UTC",
            locale=locale,
            platform=platform,
            now=datetime.datetime.now(datetime.UTC),
        )
        answer = post_event_object(
            solution.on_create_function,
            body,
            bearer=auth.header_token,
            timeout=self.call_timeout,
        )
        entry = self._calls.log(
            "onCreate", answer, calendar_id=calendar_id, user=user, eventId=event_id
        )
        decision = read_on_create_answer(answer, solution)
        result: dict[str, Any] = {
            **decision.details,
            "applied": False,
            "conferenceData": None,
            "subscribed": False,
            "error": decision.error,
            "requestedScopes": decision.requested_scopes,
            "eventMissing": False,
        }
        if decision.requested_scopes is not None:
            self._calls.annotate(entry, requestedScopes=decision.requested_scopes)
            return result
        if decision.error is not None:
            self._calls.annotate(entry, conferenceError=decision.error)
        if decision.subscribe_to is not None:
            self.subscribe(decision.subscribe_to, user, solution_id=solution_id)
            result["subscribed"] = True
            self._calls.annotate(entry, subscribed=decision.subscribe_to)
        if decision.conference_data is not None:
            result["conferenceData"] = decision.conference_data
            try:
                self.calendars.host_set_conference_data(
                    calendar_id, event_id, decision.conference_data
                )
                result["applied"] = True
            except KeyError:
                result["eventMissing"] = True
        self._calls.annotate(entry, applied=result["applied"])
        return result

    # -- homepageTrigger --------------------------------------------------------------------

    def open_homepage(self, user: str, *, locale: str = "en") -> dict[str, Any]:
        """The user opened the add-on in Calendar's side panel: call the homepageTrigger and
        return ``{addonStatus, card}`` (the pushed card, or None when the answer has none)."""
        deployment = self._require_deployment()
        url = deployment.homepage_function
        if url is None:
            raise NotInstalledError("the deployment has no calendar.homepageTrigger")
        auth = self._auth(deployment, url, user)
        answer = post_event_object(
            url,
            homepage_event_object(auth=auth, locale=locale),
            bearer=auth.header_token,
            timeout=self.call_timeout,
        )
        self._calls.log("homepage", answer, calendar_id="", user=user)
        card = None
        body = answer.body if isinstance(answer.body, dict) else {}
        navigations = (body.get("action") or {}).get("navigations") or []
        if navigations and isinstance(navigations[0], dict):
            card = navigations[0].get("pushCard") or navigations[0].get("updateCard")
        return {"addonStatus": answer.status, "card": card}

    # -- eventOpenTrigger, card actions, createSettingsUrlFunction ---------------------------

    def open_event(
        self, calendar_id: str, event_id: str, user: str, *, locale: str = "en"
    ) -> dict[str, Any]:
        """The user opened the event with the add-on's side panel: call the eventOpenTrigger
        and return ``{addonStatus, card, notification}``."""
        deployment = self._require_deployment()
        url = deployment.event_open_function
        if url is None:
            raise NotInstalledError("the deployment has no calendar.eventOpenTrigger")
        return self._card_call("eventOpen", url, deployment, calendar_id, event_id, user, locale)

    def card_action(
        self,
        function: str,
        parameters: dict[str, str],
        user: str,
        *,
        calendar_id: str | None = None,
        event_id: str | None = None,
        locale: str = "en",
    ) -> dict[str, Any]:
        """The user clicked a card button whose ``onClick.action`` is ``function`` with
        ``parameters``: Google calls that URL (its own ID token, audience the URL) with the
        event object of the open event. Returns ``{addonStatus, card, notification}``."""
        deployment = self._require_deployment()
        origin = function.split("/", 3)[:3]
        if "/".join(origin) not in deployment.origins():
            raise BadRequestError(
                "the action's function is not an endpoint of the installed add-on"
            )
        return self._card_call(
            "cardAction", function, deployment, calendar_id, event_id, user, locale, parameters
        )

    def _card_call(
        self,
        kind: str,
        url: str,
        deployment: Deployment,
        calendar_id: str | None,
        event_id: str | None,
        user: str,
        locale: str,
        parameters: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        auth = self._auth(deployment, url, user)
        if calendar_id and event_id:
            event = self.calendars.host_get_event(calendar_id, event_id)
            body = event_open_event_object(
                deployment=deployment,
                auth=auth,
                calendar_id=calendar_id,
                event_id=event_id,
                event=event,
                locale=locale,
                parameters=parameters,
            )
        else:
            body = homepage_event_object(auth=auth, locale=locale)
            if parameters:
                body["commonEventObject"]["parameters"] = dict(parameters)
        answer = post_event_object(url, body, bearer=auth.header_token, timeout=self.call_timeout)
        self._calls.log(
            kind, answer, calendar_id=calendar_id or "", user=user, eventId=event_id or ""
        )
        return {
            "addonStatus": answer.status,
            **read_card_answer(answer.body),
            "answer": answer.body,
        }

    def settings_url(self, user: str, *, locale: str = "en") -> dict[str, Any]:
        """Calendar asks for the conference settings page (createSettingsUrlFunction):
        ``{addonStatus, settingsUrl}``."""
        deployment = self._require_deployment()
        url = deployment.settings_url_function
        if url is None:
            raise NotInstalledError("the deployment has no calendar.createSettingsUrlFunction")
        auth = self._auth(deployment, url, user)
        answer = post_event_object(
            url,
            homepage_event_object(auth=auth, locale=locale),
            bearer=auth.header_token,
            timeout=self.call_timeout,
        )
        self._calls.log("settingsUrl", answer, calendar_id="", user=user)
        body = answer.body if isinstance(answer.body, dict) else {}
        markup: Any = body
        for key in (
            "renderActions",
            "hostAppAction",
            "calendarAction",
            "createConferenceSettingUrlActionMarkup",
        ):
            markup = markup.get(key) if isinstance(markup, dict) else None
        settings_url = markup.get("settingsUrl") if isinstance(markup, dict) else None
        return {"addonStatus": answer.status, "settingsUrl": settings_url}

    # -- subscriptions and triggers ---------------------------------------------------------

    def subscribe(self, calendar_id: str, user: str, *, solution_id: str | None = None) -> None:
        with self._lock:
            key = (calendar_id, user)
            if key not in self._subscriptions:
                self._subscriptions[key] = Subscription(calendar_id, user, now_iso(), solution_id)

    def unsubscribe(self, calendar_id: str, user: str | None = None) -> int:
        """Remove the calendar's subscriptions (only ``user``'s if given); return how many."""
        with self._lock:
            keys = [
                key
                for key in self._subscriptions
                if key[0] == calendar_id and (user is None or key[1] == user)
            ]
            for key in keys:
                del self._subscriptions[key]
        return len(keys)

    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            return list(self._subscriptions.values())

    def notification_settings(self) -> NotificationSettings:
        with self._lock:
            return NotificationSettings(**vars(self._settings))

    def configure_notifications(self, settings: NotificationSettings) -> None:
        with self._lock:
            self._settings = settings
            # A seed restarts the draws so a test sees the same drops on every run.
            self._rng = random.Random(settings.seed)  # noqa: S311

    def _is_deletion(self, calendar_id: str, event_id: str) -> bool:
        event = self.calendars.host_get_event(calendar_id, event_id)
        return event is not None and event.get("status") == "cancelled"

    def _on_change(self, calendar_id: str, event_id: str) -> None:
        # Runs in the changer's thread: only decide and enqueue, never call out from here.
        with self._lock:
            notify_deletions = self._settings.notify_deletions
        # The event is read outside the host's lock (the Calendar state takes its own).
        if not notify_deletions and self._is_deletion(calendar_id, event_id):
            return
        with self._lock:
            deployment = self._deployment
            if deployment is None or deployment.notification_function is None:
                return
            url = deployment.notification_function
            users = [s.user for s in self._subscriptions.values() if s.calendar_id == calendar_id]
            settings = self._settings
            plans = [
                (
                    user,
                    self._rng.random() < settings.drop_rate,
                    self._rng.random() < settings.duplicate_rate,
                )
                for user in users
            ]
        due = time.monotonic() + settings.delay_seconds
        for user, dropped, duplicated in plans:
            if dropped:
                self._calls.record(
                    kind="notification",
                    url=url,
                    status=None,
                    calendarId=calendar_id,
                    user=user,
                    eventId=event_id,
                    outcome="dropped",
                )
                continue
            self._queue.submit(Delivery(calendar_id, user, url, event_id, due))
            if duplicated:
                self._queue.submit(Delivery(calendar_id, user, url, event_id, due, True))

    def _deliver(self, delivery: Delivery, pause: Pause) -> None:
        deployment = self.deployment
        if deployment is None:
            return
        settings = self.notification_settings()
        backoff = settings.retry_backoff_seconds
        for attempt in range(1, settings.max_attempts + 1):
            # Fresh tokens per attempt: a retry after a long backoff must not carry stale ones.
            auth = self._auth(deployment, delivery.url, delivery.user)
            answer = post_event_object(
                delivery.url,
                notification_event_object(auth=auth, calendar_id=delivery.calendar_id),
                bearer=auth.header_token,
                timeout=self.call_timeout,
            )
            self._calls.log(
                "notification",
                answer,
                calendar_id=delivery.calendar_id,
                user=delivery.user,
                eventId=delivery.event_id,
                attempt=attempt,
                duplicate=delivery.duplicate,
            )
            if not answer.retryable or attempt == settings.max_attempts:
                return
            if not pause(backoff):
                return
            backoff *= 2

    def pending_trigger_calls(self) -> int:
        return self._queue.pending()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued trigger call was made; False when ``timeout`` ran out."""
        return self._queue.flush(timeout)

    def calls(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Recent outbound calls, oldest first (at most ``limit``)."""
        return self._calls.entries(limit)

    # -- lifecycle --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget deployment, subscriptions, call log and fault settings; keep the keys."""
        self._queue.clear()
        self._calls.clear()
        with self._lock:
            self._deployment = None
            self._subscriptions.clear()
            self._settings = NotificationSettings()
            self._rng = random.Random()  # noqa: S311

    def close(self) -> None:
        """Stop the trigger worker (tests and app teardown)."""
        self._queue.close()
