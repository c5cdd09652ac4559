"""The search page: accounts and people by name, people only for those who may read them (as
``GET /search``), links to the account and the person on its map, empty and too long queries
told in words; on both backends, and in a browser (axe, on a laptop and a phone)."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from kam_domain.commands import (
    ErasePersonalData,
    ExitAccount,
    IdentifyStakeholder,
    RegisterAccount,
)
from kam_domain.values import BuyingRole, Envelope, PersonalData, ServiceProfile
from kam_projections.freshness import wait_for_position
from tests.web.conftest import LiveServer, check_page, sign_in_browser

DORA = Envelope(actor="dora")
WHY = Envelope(actor="dora", reason="erasure request of the person")
XSS = "<script>alert(1)</script>"
HIT = re.compile(r'<li data-kind="(\w+)">')


def register(kam: Any, name: str) -> UUID:
    account: UUID = kam.handle(
        RegisterAccount(
            name=name, industry="Retail", region="EMEA", service_profile=ServiceProfile.STANDARD
        ),
        meta=DORA,
    ).id
    return account


def identify(kam: Any, account: UUID, name: str, title: str | None = None) -> Any:
    return kam.handle(
        IdentifyStakeholder.of(
            account,
            PersonalData(name=name),
            title=title,
            buying_role=BuyingRole.DECISION_MAKER,
            influence=4,
            reports_to=None,
        ),
        meta=DORA,
    )


def seed(kam: Any, views: Any) -> dict[str, UUID]:
    """Two accounts with a person each (one of them erased) and an exited account."""
    nordic = register(kam, "Nordic Timber")
    baltic = register(kam, "Baltic Shipping")
    gone = register(kam, "Nordic Gone")
    kam.handle(ExitAccount(account_id=gone), meta=WHY)
    astrid = identify(kam, baltic, "Astrid Nordqvist", "Head of Procurement").id
    erased = identify(kam, nordic, "Nora Nordby").id
    result = kam.handle(ErasePersonalData(stakeholder_id=erased), meta=WHY)
    assert wait_for_position(views, result.position, 10)
    return {"nordic": nordic, "baltic": baltic, "gone": gone, "astrid": astrid, "erased": erased}


@pytest.fixture
def ids(web: TestClient) -> dict[str, UUID]:
    state = web.app.state  # type: ignore[attr-defined]
    return seed(state.kam, state.views)


def test_accounts_and_people_by_name(web: TestClient, as_user: Any, ids: dict[str, UUID]) -> None:
    for name in ("root", "dora", "mia", "audrey"):
        page = as_user(name).get("/app/search?q=nord")
        assert page.status_code == 200, page.text
        # Astrid (by name), Nordic Timber; never the exited account or the erased person.
        assert HIT.findall(page.text) == ["stakeholder", "account"], name
        assert (
            f'<a href="/app/accounts/{ids["baltic"]}/map#stakeholder-{ids["astrid"]}">'
            "Astrid Nordqvist</a>, Head of Procurement" in page.text
        )
        assert f'<a href="/app/accounts/{ids["baltic"]}">Baltic Shipping</a>' in page.text
        assert f'<a href="/app/accounts/{ids["nordic"]}">Nordic Timber</a>' in page.text
        assert "Nordic Gone" not in page.text and "Nordby" not in page.text
    # A title matches too, case and accents ignored.
    by_title = as_user("dora").get("/app/search?q=PROCURÉMENT").text
    assert HIT.findall(by_title) == ["stakeholder"]


def test_viewers_find_accounts_only(web: TestClient, as_user: Any, ids: dict[str, UUID]) -> None:
    page = as_user("vic").get("/app/search?q=nord")
    assert page.status_code == 200
    assert HIT.findall(page.text) == ["account"]
    assert "Astrid" not in page.text
    assert "the viewer role does not see people" in page.text
    none = as_user("vic").get("/app/search?q=astrid").text
    assert HIT.findall(none) == [] and "Nothing found for “astrid”" in none


def test_empty_and_too_long_queries_are_told(web: TestClient, as_user: Any) -> None:
    dora = as_user("dora")
    for url in ("/app/search", "/app/search?q=", "/app/search?q=%20%20"):
        page = dora.get(url)
        assert page.status_code == 200
        assert "Type part of a name to search for." in page.text
    long = dora.get("/app/search?q=" + "x" * 201)
    assert long.status_code == 422
    assert "That search is too long: at most 200 characters, please." in long.text
    bad = dora.get("/app/search?q=nord&cursor=nonsense")
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
    stranger = web.get("/app/search?q=nord")
    assert stranger.status_code == 303
    assert stranger.headers["location"].startswith("/sign-in?next=/app/search")


def test_names_are_text(web: TestClient, as_user: Any) -> None:
    kam = web.app.state.kam  # type: ignore[attr-defined]
    account = register(kam, f"Acme {XSS}")
    person = identify(kam, account, f"Eve {XSS}", title=XSS)
    assert wait_for_position(web.app.state.views, person.position, 10)  # type: ignore[attr-defined]
    html = as_user("dora").get("/app/search?q=script").text
    assert XSS not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f">Eve {escaped}</a>, {escaped}" in html
    assert f">Acme {escaped}</a>" in html
    query = as_user("dora").get("/app/search", params={"q": XSS}).text
    assert XSS not in query and f'value="{escaped}"' in query


def test_results_come_a_page_at_a_time(
    web: TestClient, as_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kam = web.app.state.kam  # type: ignore[attr-defined]
    names = [f"Harbour {n}" for n in "ABCDE"]
    for name in names:
        register(kam, name)
    person = identify(kam, register(kam, "Inland"), "Harbour Master")
    assert wait_for_position(web.app.state.views, person.position, 10)  # type: ignore[attr-defined]
    from kam_api.web.routes import search

    monkeypatch.setattr(search, "PAGE_SIZE", 4)
    dora = as_user("dora")
    first = dora.get("/app/search?q=harbour").text
    found = re.findall(r">(Harbour [^<]+)</a>", first)
    assert found == names[:4]
    link = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first)
    assert link is not None
    second = dora.get(link.group(1).replace("&amp;", "&")).text
    assert re.findall(r">(Harbour [^<]+)</a>", second) == [names[4], "Harbour Master"]
    assert '<a href="/app/search?q=harbour">First page</a>' in second
    assert "Next page" not in second


def test_searching_in_a_browser(page: Any, live: LiveServer) -> None:
    ids = seed(live.app.state.kam, live.app.state.views)
    sign_in_browser(page, "dora")
    page.fill("#top-search", "nord")
    with page.expect_navigation():
        page.press("#top-search", "Enter")
    assert "/app/search?q=nord" in page.url
    assert page.locator("ul.hits li").count() == 2
    check_page(page, "search")
    page.goto("/app/search")
    check_page(page, "search-empty")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/app/search?q=nord")
    check_page(page, "search-phone")
    page.click(f'a[href="/app/accounts/{ids["nordic"]}"]')
    page.wait_for_url(f"**/app/accounts/{ids['nordic']}")
