"""Helpers of the web tests: signing a TestClient in, reading a page's CSRF token and forms."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

#: Every web test user's password is this prefix and their name.
PASSWORD_PREFIX = "correct-horse-"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def password_of(name: str) -> str:
    return PASSWORD_PREFIX + name


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on the page."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def signed_in(client: TestClient, name: str) -> TestClient:
    """A new client of the same (started) app, signed in as ``name``."""
    browser = TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)
    form = browser.get("/sign-in")
    assert form.status_code == 200, form.text
    answer = browser.post(
        "/sign-in",
        data={
            "username": name,
            "password": password_of(name),
            "csrf_token": csrf_of(form.text),
            "next": "/app",
        },
    )
    assert answer.status_code == 303, answer.text
    return browser


def post_form(browser: TestClient, page_url: str, action: str, fields: dict[str, Any]) -> Any:
    """Opens ``page_url`` (for its CSRF token) and posts ``fields`` to ``action``."""
    page = browser.get(page_url)
    assert page.status_code == 200, page.text
    return browser.post(action, data={"csrf_token": csrf_of(page.text), **fields})


def load_demo_into(client: TestClient, *, accounts: int = 6, seed: int = 7) -> Any:
    """Loads the demo portfolio (its users get passwords like the tests' users) into the
    started app, as of the settings' today, and waits until the read models have it.
    Returns the demo's summary (``kam_api.demo.DemoSummary``)."""
    from kam_api.auth import Role, UserStore
    from kam_api.demo import load_demo
    from kam_api.demo.words import DIRECTOR, MANAGERS, SPECIALISTS
    from kam_projections.freshness import wait_for_position

    state = client.app.state  # type: ignore[attr-defined]
    users: UserStore = state.users
    people = {DIRECTOR: Role.DIRECTOR} | dict.fromkeys((*MANAGERS, *SPECIALISTS), Role.MANAGER)
    for name, role in people.items():
        if users.get(name) is None:
            users.add(name, role)
            users.set_password(name, password_of(name), actor="test")
    summary = load_demo(state.kam, accounts=accounts, seed=seed, today=state.settings.clock())
    assert wait_for_position(state.views, summary.last_position, 60)
    return summary
