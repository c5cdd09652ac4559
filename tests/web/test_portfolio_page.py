"""The portfolio page: the table (filters, sort, pages), the matrix, the Pareto curve, tiers
against caps, managers' load, pending handovers and the CSV, for every role, on both backends;
and in a browser (a director filters by tier and opens an account)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from kam_api.settings import Settings
from kam_domain.commands import (
    AssignManager,
    ClassifyAccount,
    HandOver,
    RecordFinancials,
    RegisterAccount,
    ScoreCriteria,
)
from kam_domain.values import AccountKind, Envelope, SelectionCriteria, ServiceProfile, Tier
from kam_projections.freshness import wait_for_position
from tests.web.conftest import LiveServer, check_page, sign_in_browser, web_settings_for
from tests.web.support import load_demo_into

TODAY = date(2026, 11, 22)
EARLIER = datetime(2026, 11, 2, tzinfo=UTC)
DORA = Envelope(actor="dora", occurred_on=EARLIER)
WHY = Envelope(actor="dora", reason="agreed at the portfolio review", occurred_on=EARLIER)
ROW = re.compile(r'<tr data-account="([0-9a-f-]{36})">')
POINT = re.compile(r'<circle class="point band-\w+"[^>]*data-account="([0-9a-f-]{36})"')
XSS = "<script>alert(1)</script>"


@pytest.fixture
def web_settings(database_url: str) -> Settings:
    # Two strategic accounts at most, so a third is over the cap.
    return web_settings_for(database_url, today=TODAY, tier_cap_strategic=2)


def add_account(
    web: TestClient,
    name: str,
    revenue: int,
    *,
    tier: Tier | None = None,
    manager: str | None = None,
    score: int | None = 3,
) -> tuple[UUID, int]:
    """A registered account with a year's revenue, optionally classified, managed and scored
    (every criterion ``score``); (its id, the last position)."""
    kam = web.app.state.kam  # type: ignore[attr-defined]
    account = kam.handle(
        RegisterAccount(
            name=name, industry="Retail", region="EMEA", service_profile=ServiceProfile.STANDARD
        ),
        meta=DORA,
    ).id
    result = kam.handle(
        RecordFinancials(
            account_id=account,
            period="2026",
            revenue=Decimal(revenue),
            gross_margin=None,
            revenue_target=None,
            currency="EUR",
        ),
        meta=DORA,
    )
    if tier is not None:
        result = kam.handle(
            ClassifyAccount(
                account_id=account, tier=tier, kind=AccountKind.EXISTING, rationale="size"
            ),
            meta=WHY,
        )
    if manager is not None:
        result = kam.handle(AssignManager(account_id=account, manager=manager), meta=DORA)
    if score is not None:
        result = kam.handle(ScoreCriteria.of(account, SelectionCriteria(*([score] * 8))), meta=DORA)
    return account, result.position


def settle(web: TestClient, position: int) -> None:
    assert wait_for_position(web.app.state.views, position, 10)  # type: ignore[attr-defined]


def seed(web: TestClient) -> dict[str, UUID]:
    """Six accounts, 600 down to 100 EUR: three strategic (one over the cap of two), two key,
    one unclassified; mia manages three, max two; the smallest is not scored."""
    spec: list[tuple[str, int, Tier | None, str | None, int | None]] = [
        ("Alpha Foods", 600, Tier.STRATEGIC, "mia", 5),
        ("Bravo Metals", 500, Tier.STRATEGIC, "max", 5),
        ("Charlie Labs", 400, Tier.KEY, "mia", 1),
        ("Delta Freight", 300, Tier.KEY, "max", 1),
        ("Echo Energy", 200, Tier.STRATEGIC, "mia", 3),
        ("Foxtrot Farms", 100, None, None, None),
    ]
    ids, position = {}, 0
    for name, revenue, tier, manager, score in spec:
        ids[name], position = add_account(
            web, name, revenue, tier=tier, manager=manager, score=score
        )
    settle(web, position)
    return ids


def rows_of(html: str) -> list[str]:
    return ROW.findall(html)


def names_in_table(html: str, ids: dict[str, UUID]) -> list[str]:
    by_id = {str(v): k for k, v in ids.items()}
    return [by_id[r] for r in rows_of(html)]


def test_every_role_sees_the_portfolio_and_strangers_sign_in_first(
    web: TestClient, as_user: Any
) -> None:
    ids = seed(web)
    for name in ("root", "dora", "mia", "max", "audrey", "vic"):
        page = as_user(name).get("/app/portfolio")
        assert page.status_code == 200, (name, page.text)
        assert names_in_table(page.text, ids) == list(ids), name
        assert f'href="/app/accounts/{ids["Alpha Foods"]}"' in page.text
    stranger = web.get("/app/portfolio?tier=key")
    assert stranger.status_code == 303
    assert stranger.headers["location"] == "/sign-in?next=/app/portfolio%3Ftier%3Dkey"
    assert web.get("/app/portfolio.csv").status_code == 303


def test_filters_narrow_the_rows(web: TestClient, as_user: Any) -> None:
    ids = seed(web)
    dora = as_user("dora")
    strategic = dora.get("/app/portfolio?tier=strategic&manager=&band=&quadrant=")
    assert names_in_table(strategic.text, ids) == ["Alpha Foods", "Bravo Metals", "Echo Energy"]
    assert '<option value="strategic" selected>' in strategic.text
    by_max = dora.get("/app/portfolio?manager=max").text
    assert names_in_table(by_max, ids) == ["Bravo Metals", "Delta Freight"]
    both = dora.get("/app/portfolio?tier=strategic&manager=mia").text
    assert names_in_table(both, ids) == ["Alpha Foods", "Echo Energy"]
    named = dora.get("/app/portfolio?q=FREIGHT").text
    assert names_in_table(named, ids) == ["Delta Freight"]
    unscored = dora.get("/app/portfolio?quadrant=unscored").text
    assert names_in_table(unscored, ids) == ["Foxtrot Farms"]
    # Band: every row shown has the band asked for, and the bands together cover them all.
    seen: list[str] = []
    for band in ("green", "amber", "red"):
        html = dora.get(f"/app/portfolio?band={band}").text
        badges = re.findall(r'<span class="badge band-(\w+)">\d+ \w+</span>', html)
        assert set(badges) <= {band} and len(badges) == len(rows_of(html))
        seen += names_in_table(html, ids)
    assert sorted(seen) == sorted(ids)
    nothing = dora.get("/app/portfolio?tier=emerging").text
    assert rows_of(nothing) == [] and "No account matches these filters." in nothing


def test_sort_orders_and_the_next_page(
    web: TestClient, as_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed(web)
    dora = as_user("dora")
    by_revenue = names_in_table(dora.get("/app/portfolio").text, ids)
    assert by_revenue == list(ids)  # seeded from the largest revenue down
    by_name = names_in_table(dora.get("/app/portfolio?sort=name").text, ids)
    assert by_name == sorted(ids)
    by_health = dora.get("/app/portfolio?sort=health").text
    scores = [int(s) for s in re.findall(r'<span class="badge band-\w+">(\d+) ', by_health)]
    assert scores == sorted(scores) and len(scores) == len(ids)

    from kam_api.web.routes import portfolio

    monkeypatch.setattr(portfolio, "PAGE_SIZE", 4)
    first = dora.get("/app/portfolio?sort=name&tier=")
    assert names_in_table(first.text, ids) == sorted(ids)[:4]
    assert "First page" not in first.text
    next_url = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first.text)
    assert next_url is not None
    second = dora.get(next_url.group(1).replace("&amp;", "&"))
    assert names_in_table(second.text, ids) == sorted(ids)[4:]
    assert "Next page" not in second.text
    assert '<a href="/app/portfolio?sort=name">First page</a>' in second.text


def test_the_matrix_has_one_point_per_scored_account(web: TestClient, as_user: Any) -> None:
    ids = seed(web)
    html = as_user("dora").get("/app/portfolio").text
    points = POINT.findall(html)
    # Foxtrot Farms has no attractiveness: not on the matrix, said in words.
    assert sorted(points) == sorted(str(v) for k, v in ids.items() if k != "Foxtrot Farms")
    assert 'data-scored="5"' in html and "1 account(s) are not scored yet" in html
    for name, account in ids.items():
        if name != "Foxtrot Farms":
            assert f'<a href="/app/accounts/{account}" aria-label="{name}: attractiveness' in html
    # All fives: attractiveness 100, all ones: 0 (the plot's right and left edges).
    alpha = re.search(rf'cx="([\d.]+)" cy="[\d.]+" r="6" data-account="{ids["Alpha Foods"]}"', html)
    charlie = re.search(
        rf'cx="([\d.]+)" cy="[\d.]+" r="6" data-account="{ids["Charlie Labs"]}"', html
    )
    assert alpha and charlie and float(alpha.group(1)) > float(charlie.group(1))
    # A filter narrows the matrix too.
    filtered = as_user("dora").get("/app/portfolio?manager=max").text
    assert sorted(POINT.findall(filtered)) == sorted(
        [str(ids["Bravo Metals"]), str(ids["Delta Freight"])]
    )


def test_a_large_matrix_draws_the_largest_and_counts_the_rest(
    web: TestClient, as_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kam_api.web import portfolio_view

    ids = seed(web)
    monkeypatch.setattr(portfolio_view, "MATRIX_POINTS", 2)
    html = as_user("dora").get("/app/portfolio").text
    assert POINT.findall(html) == [str(ids["Alpha Foods"]), str(ids["Bravo Metals"])]
    assert "The 2 largest accounts by revenue are drawn as points" in html
    assert "the shaded squares count all 5 scored accounts" in html
    cells = [int(n) for n in re.findall(r'<rect class="cell"[^>]*><title>(\d+) account', html)]
    assert sum(cells) == 5


def test_pareto_marks_the_top_20_percent_and_tiers_meet_their_caps(
    web: TestClient, as_user: Any
) -> None:
    ids = seed(web)
    html = as_user("dora").get("/app/portfolio").text
    # Six accounts with revenue: the top 20 % is ceil(1.2) = 2 of them, 1,100 of 2,100 EUR.
    assert 'data-ranked="6" data-top20="2"' in html
    assert '<span class="top20-count">2</span> of 6 with revenue) hold 52 %' in html
    rows = html.split('<tr data-account="')[1:]
    flagged = [r[:36] for r in rows if 'title="In the top 20 % by revenue"' in r.split("</th>")[0]]
    assert flagged == [str(ids["Alpha Foods"]), str(ids["Bravo Metals"])]
    # Tiers against caps: three strategic of a cap of two is over it; key two of thirty.
    strategic = re.search(r'<tr data-tier="strategic">(.*?)</tr>', html, re.S)
    key = re.search(r'<tr data-tier="key">(.*?)</tr>', html, re.S)
    assert strategic and key
    assert re.findall(r'<td class="num">(\d+)</td>', strategic.group(1)) == ["3", "2"]
    assert "over cap" in strategic.group(1)
    assert re.findall(r'<td class="num">(\d+)</td>', key.group(1)) == ["2", "30"]
    assert "over cap" not in key.group(1)
    # Load per manager: mia three, max two, one without a manager.
    assert re.search(r'manager=mia">mia</a></th><td class="num">3</td>', html)
    assert re.search(r'manager=max">max</a></th><td class="num">2</td>', html)


def test_the_csv_holds_the_tables_rows(web: TestClient, as_user: Any) -> None:
    ids = seed(web)
    dora = as_user("dora")
    for query in ("", "tier=strategic", "manager=mia&sort=name", "q=a&quadrant=grow"):
        html = dora.get(f"/app/portfolio?{query}").text
        answer = dora.get(f"/app/portfolio.csv?{query}")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.headers["content-disposition"] == 'attachment; filename="portfolio.csv"'
        table = list(csv.DictReader(io.StringIO(answer.text)))
        assert [r["account_id"] for r in table] == rows_of(html), query
    assert (
        'href="/app/portfolio.csv?tier=strategic"' in dora.get("/app/portfolio?tier=strategic").text
    )
    assert len(ids) == 6


def test_account_names_are_text_in_the_table_and_the_matrix(web: TestClient, as_user: Any) -> None:
    account, position = add_account(web, XSS, 900, tier=Tier.KEY, manager="mia", score=4)
    settle(web, position)
    html = as_user("dora").get("/app/portfolio").text
    assert XSS not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f'<a href="/app/accounts/{account}">{escaped}</a>' in html
    assert f"<title>{escaped} — attractiveness" in html
    assert f'aria-label="{escaped}: attractiveness' in html


def test_bad_filters_and_cursors_are_told_not_failed(web: TestClient, as_user: Any) -> None:
    seed(web)
    dora = as_user("dora")
    for url, status in (
        ("/app/portfolio?tier=platinum", 422),
        ("/app/portfolio?sort=mood", 422),
        ("/app/portfolio?cursor=not-a-cursor", 400),
        ("/app/portfolio?q=" + "x" * 201, 422),
        ("/app/portfolio.csv?band=blue", 422),
        ("/app/portfolio?colour=red", 400),
    ):
        answer = dora.get(url)
        assert answer.status_code == status, (url, answer.text)
        assert answer.headers["content-type"].startswith("text/html"), url


def test_the_demo_portfolio(web: TestClient, as_user: Any) -> None:
    demo = load_demo_into(web, accounts=6)
    dora = as_user("dora")
    html = dora.get("/app/portfolio").text
    accounts = web.app.state.views.query(  # type: ignore[attr-defined]
        "SELECT account_id, name, pending_handover_to FROM rm_portfolio WHERE exited = 0"
    )
    assert sorted(rows_of(html)) == sorted(a["account_id"] for a in accounts)
    pending = [a for a in accounts if a["pending_handover_to"]]
    for account in pending:
        assert f'href="/app/accounts/{account["account_id"]}/handover"' in html
    if not pending:
        assert "No handover is waiting to be acknowledged." in html
    assert demo.last_position > 0


def test_a_pending_handover_is_listed(web: TestClient, as_user: Any) -> None:
    account, _ = add_account(web, "Golf Tools", 300, tier=Tier.KEY, manager="mia")
    result = web.app.state.kam.handle(  # type: ignore[attr-defined]
        HandOver(account_id=account, to="max", effective_on=TODAY, keep_on_team=False),
        meta=Envelope(actor="dora", reason="mia moves to the north region", occurred_on=EARLIER),
    )
    settle(web, result.position)
    html = as_user("vic").get("/app/portfolio").text
    assert (
        f'<li><a href="/app/accounts/{account}/handover">Golf Tools</a>: mia → max, '
        "since 22 Nov 2026</li>" in html
    )
    assert "mia → max" in html.split('id="accounts-heading"')[1]


# --- In a browser ------------------------------------------------------------------------


def test_a_director_filters_by_tier_and_opens_an_account(page: Any, live: LiveServer) -> None:
    kam = live.app.state.kam
    ids, position = {}, 0
    for name, revenue, tier in (
        ("Alpha Foods", 600, Tier.STRATEGIC),
        ("Bravo Metals", 500, Tier.KEY),
        ("Charlie Labs", 400, Tier.KEY),
        ("Delta Freight", 300, Tier.EMERGING),
    ):
        account = kam.handle(
            RegisterAccount(
                name=name, industry="Retail", region="EMEA", service_profile=ServiceProfile.PREMIUM
            ),
            meta=DORA,
        ).id
        kam.handle(
            RecordFinancials(
                account_id=account,
                period="2026",
                revenue=Decimal(revenue),
                gross_margin=None,
                revenue_target=None,
                currency="EUR",
            ),
            meta=DORA,
        )
        kam.handle(
            ClassifyAccount(
                account_id=account, tier=tier, kind=AccountKind.EXISTING, rationale="size"
            ),
            meta=WHY,
        )
        kam.handle(AssignManager(account_id=account, manager="mia"), meta=DORA)
        position = kam.handle(
            ScoreCriteria.of(account, SelectionCriteria(*([2 + revenue // 200] * 8))), meta=DORA
        ).position
        ids[name] = account
    assert wait_for_position(live.app.state.views, position, 10)

    sign_in_browser(page, "dora")
    page.wait_for_url("**/app/portfolio")
    assert page.locator("table.portfolio-table tbody tr").count() == 4
    assert page.locator("svg.matrix circle.point").count() == 4
    check_page(page, "portfolio")

    # Choosing a tier submits the filter form (data-autosubmit).
    with page.expect_navigation():
        page.select_option("#f-tier", "key")
    assert "tier=key" in page.url
    rows = page.locator("table.portfolio-table tbody tr th a")
    assert rows.all_inner_texts() == ["Bravo Metals", "Charlie Labs"]
    check_page(page, "portfolio-filtered")

    page.click("table.portfolio-table >> text=Charlie Labs")
    page.wait_for_url(f"**/app/accounts/{ids['Charlie Labs']}")
    assert page.url == f"{live.url}/app/accounts/{ids['Charlie Labs']}"
    assert "Charlie Labs" in page.locator("h1").inner_text()
    assert "mia" in page.locator("main").inner_text()  # its manager


def test_the_portfolio_on_a_phone(page: Any, live: LiveServer) -> None:
    load_demo_into(_LiveClient(live), accounts=6)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_browser(page, "dora")
    page.wait_for_url("**/app/portfolio")
    # The table scrolls inside its frame; the page itself does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("document.querySelector('.table-wrap').scrollWidth") > 390
    check_page(page, "portfolio-phone")


class _LiveClient:
    """What ``load_demo_into`` needs of a client (its ``app``), for the live server."""

    def __init__(self, live: LiveServer) -> None:
        self.app = live.app


def test_the_kept_parts_of_the_page_follow_every_new_event(web: TestClient, as_user: Any) -> None:
    """The summary, the charts and the table pages are kept between requests: a write that
    lands between two requests shows in the next one."""
    ids = seed(web)
    dora = as_user("dora")
    before = dora.get("/app/portfolio?tier=key").text
    assert names_in_table(before, ids) == ["Charlie Labs", "Delta Freight"]
    assert dora.get("/app/portfolio?tier=key").text == before  # kept: the same page
    kam = web.app.state.kam  # type: ignore[attr-defined]
    result = kam.handle(
        ClassifyAccount(
            account_id=ids["Foxtrot Farms"], tier=Tier.KEY, kind=AccountKind.EMERGING,
            rationale="growing fast",
        ),
        meta=WHY,
    )  # fmt: skip
    settle(web, result.position)
    after = dora.get("/app/portfolio?tier=key").text
    assert names_in_table(after, ids) == ["Charlie Labs", "Delta Freight", "Foxtrot Farms"]
    account, position = add_account(web, "Golf Gear", 50, tier=Tier.KEY, manager="mia")
    settle(web, position)
    ids["Golf Gear"] = account
    latest = dora.get("/app/portfolio?tier=key").text
    assert names_in_table(latest, ids)[-1] == "Golf Gear"
    assert len(POINT.findall(latest)) == len(POINT.findall(after)) + 1
