"""The audit page (the event log, filtered and paged, and the ledger's status) and the event
page (who, when, what, its data with erasures applied, its leaf in the ledger)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kam_api.settings import Settings
from kam_api.web.routes import audit as audit_routes
from kam_domain.commands import ErasePersonalData, LogInteraction
from kam_domain.values import Envelope, InteractionKind
from kam_store.checkpoint import SigningKey
from tests.api.handover_scenario import TODAY, Scenario
from tests.web.conftest import LiveServer, check_page, sign_in_browser, web_settings_for
from tests.web.ledger_pages_support import handle, identify, register, scenario_in
from tests.web.support import load_demo_into

Client = Callable[[str], TestClient]
_ROW = re.compile(r'<td class="num"><a href="/app/events/(\d+)">')
EVIL = "<script>alert(1)</script>"


@pytest.fixture
def web_settings(database_url: str) -> Settings:
    key = SigningKey.generate("kam-ledger.dev/log").to_base64()
    return web_settings_for(database_url, today=TODAY, ledger_key=key)


@pytest.fixture
def northwind(web: TestClient) -> Scenario:
    return scenario_in(web)


def positions(html: str) -> list[int]:
    return [int(p) for p in _ROW.findall(html)]


def feed(client: TestClient, **params: Any) -> str:
    page = client.get("/app/audit", params=params)
    assert page.status_code == 200, page.text
    return page.text


def test_the_feed_lists_events_newest_first_and_pages(
    as_user: Client, web: TestClient, northwind: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_routes, "PAGE_SIZE", 20)
    dora = as_user("dora")
    first = feed(dora)
    assert positions(first)[0] == northwind.last_position and "Northwind Foods" in first
    assert "Newest events" not in first
    seen: list[int] = []
    html = first
    while True:
        shown = positions(html)
        assert 0 < len(shown) <= 20 and shown == sorted(shown, reverse=True)
        seen += shown
        older = re.search(r'href="/app/audit\?before=(\d+)" rel="next"', html)
        if older is None:
            break
        html = feed(dora, before=older.group(1))
        assert "Newest events" in html
    rows = web.app.state.views.query("SELECT position FROM rm_timeline")  # type: ignore[attr-defined]
    assert seen == sorted((int(r["position"]) for r in rows), reverse=True)
    assert len(seen) > 40  # three pages at least


def test_filters_narrow_the_feed(web: TestClient, as_user: Client, northwind: Scenario) -> None:
    other = register(web, "Other Co")
    identify(web, other, "Olga")
    audrey = as_user("audrey")
    everything = positions(feed(audrey))
    mine = positions(feed(audrey, account=str(other)))
    assert len(mine) == 2 and set(mine) < set(everything)  # registered, Olga identified
    theirs = feed(audrey, account=str(northwind.account), type="HandedOver")
    assert len(positions(theirs)) == 2 and "Other Co</a>" not in theirs
    by_ben = feed(audrey, actor="ben", account=str(northwind.account))
    assert positions(by_ben) and all("<td>ben</td>" in row for row in by_ben.split("<tr>")[2:])
    june = feed(audrey, **{"from": "2026-06-01", "to": "2026-06-30"})
    days = re.findall(r"<td>(\d{1,2} Jun 2026)</td>", june)
    assert len(days) == len(positions(june)) > 0
    assert 'value="2026-06-01"' in june and "Clear filters" in june
    nothing = feed(audrey, actor="nobody-at-all")
    assert positions(nothing) == [] and "No events match these filters." in nothing


def test_bad_filters_are_readable_refusals(as_user: Client) -> None:
    dora = as_user("dora")
    for params in (
        {"account": "not-an-id"},
        {"from": "yesterday"},
        {"from": "2026-02-01", "to": "2026-01-01"},
        {"actor": "<b>"},
    ):
        answer = dora.get("/app/audit", params=params)
        assert answer.status_code == 422, params
        assert "text/html" in answer.headers["content-type"] and "<b>" not in answer.text
    assert dora.get("/app/audit", params={"before": "-3"}).status_code in (400, 422)
    assert dora.get("/app/audit", params={"account": ""}).status_code == 200


def test_ledger_status_is_shown(web: TestClient, as_user: Client, northwind: Scenario) -> None:
    dora = as_user("dora")
    before = feed(dora)
    assert "Ledger verification" in before and "Verifies</span>" in before
    assert f"up to log position {northwind.last_position}" in before
    assert "OK</span> the last" in before and "none handed out yet" in before
    ledger = web.app.state.services.ledger  # type: ignore[attr-defined]
    checkpoint, _ = ledger.checkpoint()
    after = feed(dora)
    assert f"tree size {checkpoint.size}" in after
    assert "the signature verifies" in after and "kam verify" in after


def test_audit_roles(as_user: Client, web: TestClient) -> None:
    for name in ("mia", "vic"):
        assert as_user(name).get("/app/audit").status_code == 403, name
    for name in ("root", "dora", "audrey"):
        assert as_user(name).get("/app/audit").status_code == 200, name
    assert web.get("/app/audit").status_code == 303


def test_the_event_page(as_user: Client, web: TestClient, northwind: Scenario) -> None:
    kam = web.app.state.kam  # type: ignore[attr-defined]
    rows = web.app.state.views.query(  # type: ignore[attr-defined]
        "SELECT position FROM rm_timeline WHERE event_type = 'LeftCompany'"
    )
    position = int(rows[0]["position"])
    dora = as_user("dora")
    html = dora.get(f"/app/events/{position}").text
    assert f"Event {position}: " in html and "<dd>ben</dd>" in html
    assert "30 Jun 2026" in html  # when it happened: the day she left
    assert "Relationship.LeftCompany" in html
    assert f'<a href="/app/accounts/{northwind.account}">Northwind Foods</a>' in html
    assert "successor_id" in html and str(northwind.successor) in html
    leaf = re.search(r'Leaf hash</dt><dd><code class="hash">([^<]+)</code>', html)
    assert leaf is not None
    proof = dora.get(f"/app/events/{position}/inclusion-proof")
    assert proof.status_code == 200 and proof.json()["leaf_hash"] == leaf.group(1)
    assert proof.json()["position"] == position and proof.json()["proof"]

    mia = as_user("mia")  # a manager: the events of accounts, without the ledger
    answer = mia.get(f"/app/events/{position}")
    assert answer.status_code == 200 and "Leaf hash" not in answer.text
    assert mia.get(f"/app/events/{position}/inclusion-proof").status_code == 403
    assert as_user("vic").get(f"/app/events/{position}").status_code == 403
    assert as_user("audrey").get(f"/app/events/{position}").status_code == 200
    assert dora.get("/app/events/999999").status_code == 404
    assert dora.get("/app/events/0").status_code in (400, 422)

    index = next(
        n.id
        for n in kam.recorder.select_notifications(1, northwind.last_position)
        if "AccountName" in n.topic
    )
    assert dora.get(f"/app/events/{index}").status_code == 200
    assert mia.get(f"/app/events/{index}").status_code == 403


def test_an_erased_persons_data_reads_erased(
    as_user: Client, web: TestClient, northwind: Scenario
) -> None:
    rows = web.app.state.views.query(  # type: ignore[attr-defined]
        "SELECT position FROM rm_timeline WHERE aggregate_id = :a AND event_type = 'Identified'",
        {"a": str(northwind.champion)},
    )
    position = int(rows[0]["position"])
    dora = as_user("dora")
    assert "Priya Nair" in dora.get(f"/app/events/{position}").text
    handle(
        web,
        ErasePersonalData(stakeholder_id=northwind.champion),
        Envelope(actor="dora", reason="Erasure request"),
    )
    html = dora.get(f"/app/events/{position}").text
    assert "Priya" not in html and "(erased)" in html
    assert "Priya" not in feed(dora, account=str(northwind.account))


def test_free_text_renders_as_text(web: TestClient, as_user: Client) -> None:
    account = register(web, EVIL)
    person = identify(web, account, EVIL)
    result = handle(
        web,
        LogInteraction(
            stakeholder_id=person, kind=InteractionKind.CALL, on=TODAY, summary=EVIL, sentiment=0
        ),
        Envelope(actor="dora", reason=EVIL),
    )
    dora = as_user("dora")
    for html in (
        dora.get(f"/app/events/{result.position}").text,
        feed(dora, account=str(account)),
    ):
        assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


class _Client:
    """What ``load_demo_into`` needs of a client: the app."""

    def __init__(self, live: LiveServer) -> None:
        self.app = live.app


def test_the_audit_and_event_pages_in_a_browser(page: Any, live: LiveServer) -> None:
    load_demo_into(_Client(live), accounts=2)  # type: ignore[arg-type]
    sign_in_browser(page, "audrey")
    page.goto("/app/audit")
    assert page.locator("#ledger-heading").is_visible()
    check_page(page, "audit")
    page.select_option("#f-type", "Identified")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**/app/audit?*type=Identified*")
    types = page.locator("table.feed tbody td:nth-child(6)").all_inner_texts()
    assert types and set(types) == {"Identified"}
    page.locator("table.feed tbody a").first.click()
    page.wait_for_url("**/app/events/*")
    assert "Identified" in page.locator("main").inner_text()
    check_page(page, "event")
