"""Signing in with Google on the add-on's pages, clicked through as a browser would: our page
-> /signin/start -> Google's (the emulator's) account page -> our callback -> our page."""

from __future__ import annotations

from urllib.parse import urljoin

import requests

from tests.localgoogle.oauth.support import ALLOW, ConsentForm


def follow_to_google(session: requests.Session, url: str) -> tuple[requests.Response, str]:
    """GET ``url`` following our own redirects; stops at Google's sign-in page (its URL)."""
    response = session.get(url, allow_redirects=False, timeout=10)
    while response.status_code in (302, 303):
        target = urljoin(response.url, response.headers["Location"])
        if "/o/oauth2/" in target:
            return response, target
        response = session.get(target, allow_redirects=False, timeout=10)
    return response, ""


def sign_in(session: requests.Session, url: str, account: str) -> requests.Response:
    """Open ``url``; sign in at Google as ``account`` when asked; the page finally shown."""
    response, google = follow_to_google(session, url)
    if not google:
        return response
    page = requests.get(google, timeout=10)
    assert page.status_code == 200, page.text
    answer = ConsentForm.parse(page.text).submit(page.url, button=ALLOW, account=account)
    assert answer.status_code == 302, answer.text
    back = session.get(answer.headers["Location"], allow_redirects=False, timeout=10)
    while back.status_code in (302, 303):
        back = session.get(
            urljoin(back.url, back.headers["Location"]), allow_redirects=False, timeout=10
        )
    return back
