"""The linking flow's steps, each called by one endpoint of ``addon.web.link`` (see
``addon.linking``): ``start_url``, ``opened``, ``begin_signin``, ``finish_signin``,
``finish_vendor``, ``unlink``. Every refusal is a ``LinkError`` raised before anything is
stored."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from addon.auth import AuthError, VerifiedCaller, VerifiedUser
from addon.linking import oauth
from addon.linking.common import LinkingBase
from addon.linking.errors import LinkError
from addon.linking.state import (
    LinkState,
    StateError,
    read_request,
    read_state,
    read_unlink,
    sign_request,
    sign_state,
    sign_unlink,
)
from addon.sealing import SealError
from addon.store.links import LinkFlow, VendorLink, link_context

log = logging.getLogger(__name__)

START_PATH = "/link/{solution}/start"
REQUEST_PATH = "/link/{solution}/new"
UNLINK_PATH = "/link/{solution}/unlink"
GOOGLE_CALLBACK_PATH = "/link/google/callback"
VENDOR_CALLBACK_PATH = "/link/callback"
# Calendar shows at most this much of an authenticationUrl (ConferenceError reference).
MAX_AUTHENTICATION_URL = 1300

_STATE_PROBLEMS = {
    "missingState": "This page needs the link Calendar showed you.",
    "badState": "This link is not valid. Pick the conference in Calendar again for a new one.",
    "stateExpired": "This link has expired. Pick the conference in Calendar again.",
    "wrongStep": "This link is not valid for this step. Pick the conference in Calendar again.",
}
_USED = "This link was used already or has expired. Pick the conference in Calendar again."


class LinkingFlow(LinkingBase):
    def start_url(self, user: VerifiedUser, solution_id: str) -> str:
        """Our start page for ``user`` linking ``solution_id`` (a new single-use flow)."""
        nonce = secrets.token_urlsafe(16)
        self._store().put_link_flow(
            LinkFlow(nonce, user.user_id, user.email, solution_id, "issued", self._clock())
        )
        state = sign_state(
            self._settings.secret_key, LinkState(nonce, user.user_id, solution_id, "issued")
        )
        path = START_PATH.format(solution=solution_id)
        url = self._settings.endpoint_url(path) + "?" + urlencode({"state": state})
        if len(url) > MAX_AUTHENTICATION_URL:
            # Solution ids and the base URL are short in any sane deployment; say so loudly.
            raise ValueError(f"authentication URL of {len(url)} characters (> 1300)")
        return url

    def request_url(self, user: VerifiedUser, solution_id: str) -> str:
        """A card's "Link account" button: opening it makes a flow and leads to the start page
        (nothing is written while the card is built)."""
        token = sign_request(self._settings.secret_key, user.user_id, user.email, solution_id)
        path = REQUEST_PATH.format(solution=solution_id)
        return self._settings.endpoint_url(path) + "?" + urlencode({"r": token})

    def start_from_request(self, token: str | None, solution_id: str) -> str:
        """The start page's URL for a card's request (a new single-use flow)."""
        try:
            user_id, email, requested = read_request(self._settings.secret_key, token)
        except StateError as exc:
            status = 403 if exc.reason == "stateExpired" else 400
            raise LinkError(exc.reason, _STATE_PROBLEMS[exc.reason], status) from None
        if requested != solution_id:
            raise LinkError("wrongSolution", "This link was made for another conference.")
        if self.spec(solution_id) is None:
            raise LinkError("notLinkable", "This conference needs no account.", 404)
        return self.start_url(VerifiedUser(user_id, email), solution_id)

    def unlink_url(self, user: VerifiedUser, solution_id: str) -> str:
        """The confirmation page of Unlink for ``user`` (its form carries the signed token)."""
        token = sign_unlink(self._settings.secret_key, user.user_id, solution_id)
        path = UNLINK_PATH.format(solution=solution_id)
        return self._settings.endpoint_url(path) + "?" + urlencode({"token": token})

    def unlink_target(self, token: str | None) -> str:
        """The solution an unlink token is good for (checked before the confirmation page)."""
        try:
            _, solution_id = read_unlink(self._settings.secret_key, token)
        except StateError as exc:
            status = 403 if exc.reason == "stateExpired" else 400
            raise LinkError(exc.reason, _STATE_PROBLEMS[exc.reason], status) from None
        return solution_id

    def _state(self, token: str | None, stage: str, solution_id: str | None = None) -> LinkState:
        try:
            state = read_state(self._settings.secret_key, token, stage)
        except StateError as exc:
            status = 403 if exc.reason == "stateExpired" else 400
            raise LinkError(exc.reason, _STATE_PROBLEMS[exc.reason], status) from None
        if solution_id is not None and state.solution_id != solution_id:
            raise LinkError("wrongSolution", "This link was made for another conference.")
        if self.spec(state.solution_id) is None:
            raise LinkError("notLinkable", "This conference needs no account.", 404)
        return state

    def opened(self, token: str | None, solution_id: str) -> LinkFlow:
        state = self._state(token, "issued", solution_id)
        flow = self._store().get_link_flow(state.nonce)
        if flow is None or flow.stage != "issued" or flow.user_id != state.user_id:
            raise LinkError("usedState", _USED, 410)
        return flow

    def begin_signin(self, token: str | None, solution_id: str) -> str:
        state = self._state(token, "issued", solution_id)
        if not self.signin_ready:
            raise LinkError("signInUnavailable", "Google sign-in is not set up here.", 503)
        flow = self._store().advance_link_flow(state.nonce, "issued", "google")
        if flow is None or flow.user_id != state.user_id:
            raise LinkError("usedState", _USED, 410)
        s = self._settings
        params = {
            "response_type": "code",
            "client_id": s.oauth_client_id or "",
            "redirect_uri": s.endpoint_url(GOOGLE_CALLBACK_PATH),
            "scope": "openid https://www.googleapis.com/auth/userinfo.email",
            "state": sign_state(s.secret_key, LinkState(flow.nonce, flow.user_id,
                                                        flow.solution_id, "google")),
            "login_hint": flow.email,
            "prompt": "select_account",
        }  # fmt: skip
        return s.oauth_auth_uri + "?" + urlencode(params)

    def finish_signin(self, token: str | None, code: str) -> str:
        """Google's redirect back: check who signed in; the vendor's authorization URL."""
        state = self._state(token, "google")
        spec = self.spec(state.solution_id)
        assert spec is not None  # _state checked it
        verifier, challenge = oauth.pkce_pair()
        sealed = self._sealer.seal(verifier, _verifier_context(state.nonce))
        store = self._store()
        flow = store.advance_link_flow(state.nonce, "google", "vendor", sealed)
        if flow is None or flow.user_id != state.user_id:
            raise LinkError("usedState", _USED, 410)
        try:
            who = self._signed_in(code)
        except LinkError:
            store.take_link_flow(flow.nonce, "vendor")
            raise
        if who.subject != flow.user_id:
            store.take_link_flow(flow.nonce, "vendor")
            log.warning("linking completed by another Google user: refused")
            raise LinkError(
                "wrongUser",
                f"You signed in as {who.email}, but this link was made for {flow.email}. "
                "Pick the conference in Calendar again, signed in with the same account.",
                403,
            )
        vendor_state = sign_state(
            self._settings.secret_key,
            LinkState(flow.nonce, flow.user_id, flow.solution_id, "vendor"),
        )
        return oauth.authorize_url(
            spec,
            redirect_uri=self._settings.endpoint_url(VENDOR_CALLBACK_PATH),
            state=vendor_state,
            code_challenge=challenge,
        )

    def _signed_in(self, code: str) -> VerifiedCaller:
        s = self._settings
        assert self._verifier is not None and s.oauth_client_id and s.oauth_client_secret
        try:
            tokens = oauth.google_code(
                self._http,
                token_uri=s.oauth_token_uri,
                client_id=s.oauth_client_id,
                client_secret=s.oauth_client_secret,
                code=code,
                redirect_uri=s.endpoint_url(GOOGLE_CALLBACK_PATH),
            )
        except oauth.TokenRefused:
            raise LinkError(
                "codeRefused", "Google did not accept this sign-in; start again."
            ) from None
        except oauth.TokenUnavailable:
            raise LinkError(
                "retryLater", "Google could not be reached; start again.", 503
            ) from None
        try:
            return self._verifier.verify(tokens.id_token)
        except AuthError:
            raise LinkError("badIdToken", "Google's answer could not be verified.") from None

    def finish_vendor(self, token: str | None, code: str) -> tuple[VendorLink, str]:
        state = self._state(token, "vendor")
        spec = self.spec(state.solution_id)
        assert spec is not None
        store = self._store()
        flow = store.take_link_flow(state.nonce, "vendor")
        if flow is None or flow.user_id != state.user_id or flow.code_verifier is None:
            raise LinkError("usedState", _USED, 410)
        try:
            verifier = self._sealer.open(flow.code_verifier, _verifier_context(flow.nonce))
        except SealError:  # the sealing keys changed under the flow
            raise LinkError("usedState", _USED, 410) from None
        try:
            tokens = oauth.exchange_code(
                self._http,
                spec,
                code=code,
                redirect_uri=self._settings.endpoint_url(VENDOR_CALLBACK_PATH),
                verifier=verifier,
            )
        except oauth.TokenRefused as exc:
            log.warning("vendor refused the linking code: %s", exc.error)
            raise LinkError("codeRefused", "The vendor did not accept this sign-in.") from None
        except oauth.TokenUnavailable:
            raise LinkError("retryLater", "The vendor could not be reached.", 503) from None
        link = store.put_link(self._new_link(flow, tokens))
        log.info("vendor account linked", extra={"json_fields": {"solution": flow.solution_id}})
        return link, sign_unlink(self._settings.secret_key, flow.user_id, flow.solution_id)

    def _new_link(self, flow: LinkFlow, tokens: oauth.Tokens) -> VendorLink:
        context = link_context(flow.solution_id, flow.user_id)
        return VendorLink(
            user_id=flow.user_id,
            solution_id=flow.solution_id,
            email=flow.email,
            access_token=self._sealer.seal(tokens.access_token, context),
            refresh_token=(
                self._sealer.seal(tokens.refresh_token, context) if tokens.refresh_token else None
            ),
            expires_at=self._expiry(tokens),
            vendor_user_id=tokens.vendor_user_id,
        )

    def unlink(self, token: str | None) -> tuple[str, bool]:
        """The unlink form: (solution id, whether a link was held)."""
        try:
            user_id, solution_id = read_unlink(self._settings.secret_key, token)
        except StateError as exc:
            status = 403 if exc.reason == "stateExpired" else 400
            raise LinkError(exc.reason, _STATE_PROBLEMS[exc.reason], status) from None
        spec = self.spec(solution_id)
        if spec is None:
            raise LinkError("notLinkable", "This conference needs no account.", 404)
        store = self._store()
        link = store.get_link(solution_id, user_id)
        if link is not None and link.refresh_token is not None:
            context = link_context(solution_id, user_id)
            try:
                oauth.revoke(self._http, spec, self._sealer.open(link.refresh_token, context))
            except SealError:
                log.warning("unlink: the stored token does not open (keys rotated); forgotten")
        held = store.delete_link(solution_id, user_id)
        return solution_id, held


def _verifier_context(nonce: str) -> str:
    return "vendor-link-verifier\x00" + nonce
