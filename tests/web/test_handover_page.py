"""The handover view: the report's document inside the app, its sources opening the events'
pages, print and downloads, roles and escaping."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import escape
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from kam_api.settings import Settings
from kam_domain.commands import LogInteraction
from kam_domain.values import InteractionKind
from tests.api.handover_scenario import TODAY, Scenario
from tests.web.conftest import LiveServer, check_page, sign_in_browser, web_settings_for
from tests.web.ledger_pages_support import handle, identify, register, scenario_in
from tests.web.support import load_demo_into

Client = Callable[[str], TestClient]
SECTIONS = [
    "First week",
    "1. Account snapshot",
    "2. Ownership timeline and account team",
    "3. Stakeholder map",
    "4. Relationship health",
    "5. Plan: objectives and pipeline",
    "6. Open actions and commitments",
    "7. Recent interactions and key decisions",
    "8. Risks, competitors and customer feedback",
    "9. Gaps to confirm",
]
_SOURCE = re.compile(r'<a href="/app/events/(\d+)" title="([^"]*)">')


@pytest.fixture
def web_settings(database_url: str) -> Settings:
    return web_settings_for(database_url, today=TODAY)


@pytest.fixture
def northwind(web: TestClient) -> Scenario:
    return scenario_in(web)


def test_the_view_has_the_reports_sections_and_its_sources_open_events(
    as_user: Client, northwind: Scenario
) -> None:
    dora = as_user("dora")
    page = dora.get(f"/app/accounts/{northwind.account}/handover")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>Handover report: Northwind Foods</h1>" in html
    for heading in SECTIONS:
        assert f"<h2>{escape(heading)}</h2>" in html, heading
    assert 'aria-current="page">Handover' in html
    assert "Priya Nair" in html and "Tom Berg" in html and "<svg" in html
    assert "/history?position=" not in html  # every source is rewritten to the app
    sources = {int(p) for p, _ in _SOURCE.findall(html)}
    assert len(sources) >= 10 and max(sources) <= northwind.last_position
    for position in sorted(sources):
        event = dora.get(f"/app/events/{position}")
        assert event.status_code == 200, (position, event.text)
        assert f"Event {position}:" in event.text
    # No inline script (the CSP allows none): only scripts with a src.
    assert not re.findall(r"<script(?![^>]*\bsrc=)", html)
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_print_and_downloads(as_user: Client, northwind: Scenario) -> None:
    mia = as_user("mia")
    base = f"/app/accounts/{northwind.account}/handover"
    html = mia.get(base).text
    assert 'id="print-report" data-print hidden>Print</button>' in html
    assert '<script src="/static/handover.js" defer></script>' in html
    for ext in ("md", "html", "json"):
        assert f'href="{base}.{ext}" download' in html
    markdown = mia.get(f"{base}.md")
    assert markdown.status_code == 200 and markdown.text.startswith(
        "# Handover report: Northwind Foods"
    )
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "attachment" in markdown.headers["content-disposition"]
    page = mia.get(f"{base}.html")
    assert page.headers["content-type"].startswith("text/html") and "<svg" in page.text
    body = json.loads(mia.get(f"{base}.json").text)
    assert body["outgoing_manager"] == "ben" and body["account_id"] == str(northwind.account)
    assert mia.get(f"{base}.pdf").status_code == 404
    assert mia.get("/static/handover.js").status_code == 200


def test_roles(as_user: Client, web: TestClient, northwind: Scenario) -> None:
    url = f"/app/accounts/{northwind.account}/handover"
    assert as_user("vic").get(url).status_code == 403
    assert as_user("vic").get(url + ".md").status_code == 403
    assert as_user("audrey").get(url).status_code == 200
    assert as_user("dora").get(f"/app/accounts/{UUID(int=3)}/handover").status_code == 404
    assert web.get(url).status_code == 303


def test_user_text_renders_as_text(web: TestClient, as_user: Client) -> None:
    evil = "<script>alert(1)</script>"
    account = register(web, evil)
    person = identify(web, account, evil, title=evil)
    handle(
        web,
        LogInteraction(
            stakeholder_id=person,
            kind=InteractionKind.CALL,
            on=TODAY,
            summary=evil,
            sentiment=1,
        ),
    )
    html = as_user("dora").get(f"/app/accounts/{account}/handover").text
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_handover_view_in_a_browser(page: Any, live: LiveServer) -> None:
    summary = load_demo_into(_Client(live), accounts=3)
    account = _handed_over_account(live)
    sign_in_browser(page, "dora")
    page.goto(f"/app/accounts/{account}/handover")
    assert page.locator("#print-report").is_visible()  # the script showed it
    check_page(page, "handover")
    link = page.locator('a[href^="/app/events/"]').first
    link.click()
    page.wait_for_url("**/app/events/*")
    assert page.locator("h1").inner_text().startswith("Event ")
    assert summary.last_position > 0


class _Client:
    """What ``load_demo_into`` needs of a client: the app."""

    def __init__(self, live: LiveServer) -> None:
        self.app = live.app


def _handed_over_account(live: LiveServer) -> str:
    rows = live.app.state.views.query(
        "SELECT account_id FROM rm_timeline WHERE event_type = 'HandedOver' ORDER BY position"
    )
    assert rows, "the demo has handovers"
    return str(rows[0]["account_id"])
