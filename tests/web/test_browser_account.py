"""The account page in a real browser: open a demo account, move the as-of slider to before
its handover, see the previous manager; every tab passes axe-core (screenshots kept)."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from kam_domain.application import KamApplication
from kam_projections.portfolio_reads import PortfolioFilter, portfolio_rows
from tests.web.conftest import LiveServer, check_page, sign_in_browser
from tests.web.support import load_demo_into


def test_the_as_of_slider_shows_the_account_before_its_handover(
    page: Any, live: LiveServer
) -> None:
    load_demo_into(SimpleNamespace(app=live.app), accounts=4)  # type: ignore[arg-type]
    kam: KamApplication = live.app.state.kam
    today = live.app.state.settings.clock()
    rows = portfolio_rows(live.app.state.views, PortfolioFilter(), today=today).items
    handed = [
        (row["account_id"], history)
        for row in rows
        if len(history := kam.get_account(UUID(row["account_id"])).manager_history) > 1
    ]
    assert handed, "the demo hands at least one account over"
    account_id, history = handed[0]
    sign_in_browser(page, "dora")

    page.goto(f"/app/accounts/{account_id}")
    assert page.inner_text("[data-field=manager]") == history[-1].manager
    check_page(page, "account-overview")

    # The range follows the date and the date the range (account.js).
    registered = date.fromisoformat(page.get_attribute("form.as-of", "data-registered") or "")
    page.fill("#as-of-range", "3")
    assert page.input_value("#as-of-date") == (registered + timedelta(days=3)).isoformat()
    before = history[-1].since - timedelta(days=1)
    page.fill("#as-of-date", before.isoformat())
    page.dispatch_event("#as-of-date", "change")
    assert page.input_value("#as-of-range") == str((before - registered).days)
    page.click("form.as-of button[type=submit]")
    page.wait_for_url(f"**/app/accounts/{account_id}?as_of={before.isoformat()}")
    banner = page.locator(".as-of-banner").inner_text()
    assert f"as it was on {before:%-d %b %Y}" in banner
    assert page.inner_text("[data-field=manager]") == history[-2].manager
    check_page(page, "account-overview-as-of")

    page.click("nav.tabs >> text=Plan & actions")
    page.wait_for_url(f"**/plan?as_of={before.isoformat()}")
    check_page(page, "account-plan-as-of")
    page.goto(f"/app/accounts/{account_id}/plan")
    check_page(page, "account-plan")
    page.goto(f"/app/accounts/{account_id}/timeline")
    assert page.locator("table.timeline tbody tr").count() == 50
    check_page(page, "account-timeline")
    page.goto(f"/app/accounts/{account_id}?as_of={before.isoformat()}")
    page.click("text=what changed since then")
    page.wait_for_url(f"**/changes?from={before.isoformat()}*")
    assert page.locator("ul.changes li").count() > 0
    check_page(page, "account-changes")
