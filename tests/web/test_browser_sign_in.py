"""The sign-in page in a real browser: accessible (axe), refuses a wrong password in words,
and signs in with the right one."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import LiveServer, check_page
from tests.web.support import password_of


def test_signing_in_in_a_browser(page: Any, live: LiveServer) -> None:
    page.goto("/app")
    assert "/sign-in" in page.url
    check_page(page, "sign-in")

    page.fill("#username", "dora")
    page.fill("#password", "not her password")
    page.click("button[type=submit]")
    assert (
        page.locator(".refusal").inner_text().strip() == "The user name or password is not right."
    )
    assert page.input_value("#username") == "dora"
    check_page(page, "sign-in-refused")

    page.fill("#password", password_of("dora"))
    page.click("button[type=submit]")
    page.wait_for_url("**/app/portfolio")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["kam_session"]["httpOnly"] and cookies["kam_session"]["sameSite"] == "Lax"
