"""My work and the Update tab in a real browser: a manager logs an interaction and completes
an action through the forms; a refused form and a stale form are shown with their reasons;
a viewer cannot reach a form. Each page passes axe (check_page)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kam_api.auth import UserStore
from tests.api.conftest import COLLEAGUES, USERS
from tests.web.conftest import LiveServer, check_page, sign_in_browser, web_settings_for
from tests.web.support import password_of
from tests.web.work_seed import TODAY, Seeded, history, log_head, seed_account


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    """The app over real HTTP on SQLite with the users, on the tests' fixed day."""
    settings = web_settings_for(f"sqlite:///{tmp_path / 'kam.db'}", today=TODAY)
    with LiveServer(settings) as server:
        users: UserStore = server.app.state.users
        for name, role in USERS.items():
            users.add(name, role)
            users.set_password(name, password_of(name), actor="test")
        for name in COLLEAGUES:
            users.add(name, USERS["mia"])
        yield server


def _seed(live: LiveServer) -> Seeded:
    return seed_account(live)  # type: ignore[arg-type]


def _update(seeded: Seeded) -> str:
    return f"/app/accounts/{seeded.account_id}/update"


def test_a_manager_logs_an_interaction_and_completes_an_action(page: Any, live: LiveServer) -> None:
    seeded = _seed(live)
    sign_in_browser(page, "mia")
    page.goto("/app/my-work")
    assert page.locator("#h-overdue").inner_text().startswith("Overdue actions (1)")
    assert "Run the retrofit workshop" in page.locator("main").inner_text()
    check_page(page, "my-work")

    before = log_head(live)  # type: ignore[arg-type]
    page.goto(_update(seeded))
    check_page(page, "update")
    page.select_option("#interaction-stakeholder_id", str(seeded.stakeholder_id))
    page.select_option("#interaction-kind", "call")
    page.fill("#interaction-on", "2026-03-09")
    page.fill("#interaction-summary", "Walked through the renewal terms")
    page.select_option("#interaction-sentiment", "1")
    page.click("#h-interaction ~ form button[type=submit]")
    page.wait_for_url("**/update?done=interaction")
    assert page.locator(".notice").inner_text() == "Interaction logged."

    page.select_option("#complete-action", f"{seeded.plan_id}:{seeded.overdue_id}")
    page.fill("#complete-outcome", "Scope agreed; quote due in May")
    page.click("#h-complete ~ form button[type=submit]")
    page.wait_for_url("**/update?done=complete")
    assert page.locator(".notice").inner_text() == "Action completed."

    written = [e for e in history(live, seeded.account_id) if e["position"] > before]  # type: ignore[arg-type]
    assert [(e["event_type"], e["actor"]) for e in written] == [
        ("InteractionLogged", "mia"),
        ("ActionCompleted", "mia"),
    ]
    page.goto("/app/my-work")
    assert "Run the retrofit workshop" not in page.locator("main").inner_text()

    # Both show in the account's timeline, by mia.
    page.goto(f"/app/accounts/{seeded.account_id}/timeline")
    rows = page.locator("table.timeline tbody tr").all_inner_texts()
    for kind in ("InteractionLogged", "ActionCompleted"):
        shown = [row.split("\t") for row in rows if f"\t{kind}\t" in row]
        assert shown and shown[-1][4] == "mia", (kind, rows)
    assert "Walked through the renewal terms" in page.locator("table.timeline").inner_text()
    check_page(page, "timeline-after-forms")


def test_a_refused_form_in_the_browser(page: Any, live: LiveServer) -> None:
    seeded = _seed(live)
    sign_in_browser(page, "mia")
    page.goto(_update(seeded))
    before = log_head(live)  # type: ignore[arg-type]
    page.select_option("#interaction-stakeholder_id", str(seeded.stakeholder_id))
    page.fill("#interaction-on", "2030-01-01")  # beyond today: refused by the command
    page.fill("#interaction-summary", "A meeting in the future")
    page.click("#h-interaction ~ form button[type=submit]")
    refusal = page.locator(".refusal")
    assert "Please check on:" in refusal.inner_text()
    assert page.input_value("#interaction-summary") == "A meeting in the future"
    assert page.input_value("#interaction-on") == "2030-01-01"
    # work.js gives the refusal the focus once the page is loaded.
    page.locator("[data-refused]:focus").wait_for()  # no eval: the page's CSP forbids it
    assert log_head(live) == before  # type: ignore[arg-type]
    check_page(page, "update-refused")


def test_a_stale_form_is_refused_in_the_browser(page: Any, browser: Any, live: LiveServer) -> None:
    seeded = _seed(live)
    sign_in_browser(page, "mia")
    page.goto(_update(seeded))
    # dora, in another browser, logs a call with the same person first.
    other = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live.url)
    try:
        dora = other.new_page()
        sign_in_browser(dora, "dora")
        dora.goto(_update(seeded))
        dora.select_option("#interaction-stakeholder_id", str(seeded.stakeholder_id))
        dora.fill("#interaction-summary", "Dora called about the renewal")
        dora.click("#h-interaction ~ form button[type=submit]")
        dora.wait_for_url("**/update?done=interaction")
    finally:
        other.close()
    before = log_head(live)  # type: ignore[arg-type]
    page.select_option("#interaction-stakeholder_id", str(seeded.stakeholder_id))
    page.fill("#interaction-summary", "Mia's notes of the same day")
    page.click("#h-interaction ~ form button[type=submit]")
    refusal = page.locator(".refusal")
    text = refusal.inner_text()
    assert text.startswith(
        "Someone changed this account since you opened the page; nothing was saved. "
        "Here is what changed:"
    )
    assert "dora" in text and "Dora called about the renewal" in text
    assert page.input_value("#interaction-summary") == "Mia's notes of the same day"
    assert log_head(live) == before  # type: ignore[arg-type]
    check_page(page, "update-stale")


def test_a_viewer_cannot_reach_a_form(page: Any, live: LiveServer) -> None:
    seeded = _seed(live)
    sign_in_browser(page, "vic")
    answer = page.goto(_update(seeded))
    assert answer.status == 403
    assert page.locator("h1").inner_text() == "Not allowed"
    assert page.locator(f'form[action^="{_update(seeded)}"]').count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    before = log_head(live)  # type: ignore[arg-type]
    posted = page.request.post(
        f"{_update(seeded)}/feedback", form={"csrf_token": token, "nps": "2"}
    )
    assert posted.status == 403
    assert log_head(live) == before  # type: ignore[arg-type]
    assert page.goto("/app/my-work").status == 403


def test_a_refused_inline_form_on_my_work_stays_open(page: Any, live: LiveServer) -> None:
    seeded = _seed(live)
    sign_in_browser(page, "mia")
    page.goto("/app/my-work")
    before = log_head(live)  # type: ignore[arg-type]
    form = f"reschedule-{seeded.overdue_id}"
    page.click(f"details:has(#{form}-due_on) summary")
    page.fill(f"#{form}-due_on", "1980-01-01")
    page.fill(f"#{form}-reason", "Typo in the year")
    page.click(f"details:has(#{form}-due_on) button[type=submit]")
    refusal = page.locator(".refusal")
    assert "1980-01-01" in refusal.inner_text()
    assert page.locator(f"details:has(#{form}-due_on)").get_attribute("open") is not None
    assert page.input_value(f"#{form}-reason") == "Typo in the year"
    # work.js gives the refusal the focus once the page is loaded.
    page.locator("[data-refused]:focus").wait_for()  # no eval: the page's CSP forbids it
    assert log_head(live) == before  # type: ignore[arg-type]
    check_page(page, "my-work-refused")
