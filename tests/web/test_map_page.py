"""The relationship map page: the org chart from reports-to, each card's facts, departures,
erasure, the map as of a past day, loops, roles and escaping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from kam_api.presenters import stakeholder_public
from kam_api.schemas.stakeholders import StakeholderPublic
from kam_api.settings import Settings
from kam_api.web.routes.relationship_map import Person, org_chart
from kam_domain.commands import (
    ChangeDisposition,
    ErasePersonalData,
    IdentifyStakeholder,
    RecordDeparture,
)
from kam_domain.values import BuyingRole, Disposition, Envelope, PersonalData
from kam_projections.freshness import wait_for_position
from tests.api.handover_scenario import TODAY, Scenario
from tests.web.conftest import LiveServer, check_page, sign_in_browser, web_settings_for
from tests.web.ledger_pages_support import (
    card_of,
    chart_of,
    handle,
    identify,
    register,
    scenario_in,
)
from tests.web.support import load_demo_into

Client = Callable[[str], TestClient]


@pytest.fixture
def web_settings(database_url: str) -> Settings:
    return web_settings_for(database_url, today=TODAY)


@pytest.fixture
def northwind(web: TestClient) -> Scenario:
    return scenario_in(web)


def map_of(client: TestClient, account: UUID, **params: str) -> str:
    page = client.get(f"/app/accounts/{account}/map", params=params)
    assert page.status_code == 200, page.text
    return page.text


def test_the_chart_nests_people_under_whom_they_report_to(
    as_user: Client, northwind: Scenario
) -> None:
    html = map_of(as_user("mia"), northwind.account)
    chart = chart_of(html)
    hedda, priya, tom = map(
        str, (northwind.decision_maker, northwind.champion, northwind.successor)
    )
    assert chart == {hedda: None, priya: hedda, tom: hedda}
    assert 'aria-current="page">Relationship map' in html

    card = card_of(html, northwind.decision_maker)
    assert "Hedda Larsen" in card and "COO" in card
    assert "Decision maker" in card and "Influence 5/5" in card
    assert "Owner</dt><dd>ben" in card  # since Ann handed the account to him
    # Her last contact: the QBR of 20 Oct 2026, 87 days before the 15 Jan 2027 of the clock.
    assert "20 Oct 2026" in card and "(87 days ago)" in card


def test_a_departed_person_is_struck_through_with_a_link_to_the_successor(
    as_user: Client, northwind: Scenario
) -> None:
    html = map_of(as_user("dora"), northwind.account)
    priya = card_of(html, northwind.champion)
    assert "<s>Priya Nair</s>" in priya and "Left on 30 Jun 2026" in priya
    assert f'<a href="#stakeholder-{northwind.successor}">Tom Berg</a>' in priya
    assert "Supporter" in priya and "disp-supporter" in priya
    assert "<s>" not in card_of(html, northwind.successor)


def test_as_of_a_past_day_shows_the_map_as_it_stood(as_user: Client, northwind: Scenario) -> None:
    client = as_user("audrey")
    # 1 Feb 2025: Priya known (21 Jan) but not yet a supporter (1 Mar); Tom not yet known.
    then = map_of(client, northwind.account, as_of="2025-02-01")
    chart = chart_of(then)
    assert set(chart) == {str(northwind.decision_maker), str(northwind.champion)}
    priya = card_of(then, northwind.champion)
    assert "Neutral" in priya and "Supporter" not in priya and "Left on" not in priya
    assert "Owner</dt><dd>ann" in card_of(then, northwind.decision_maker)  # before the handover
    assert "as it was on <strong>1 Feb 2025</strong>" in then
    assert f'href="/app/accounts/{northwind.account}/map">back to today</a>' in then
    assert f"/app/accounts/{northwind.account}/plan?as_of=2025-02-01" in then  # tabs keep it
    # 20 Jan 2025: Hedda alone; before the account's first stakeholder: nobody.
    assert set(chart_of(map_of(client, northwind.account, as_of="2025-01-20"))) == {
        str(northwind.decision_maker)
    }
    empty = map_of(client, northwind.account, as_of="2025-01-10")  # registered, nobody met
    assert chart_of(empty) == {} and "No stakeholders were known on 10 Jan 2025." in empty
    before = client.get(f"/app/accounts/{northwind.account}/map", params={"as_of": "2025-01-01"})
    assert before.status_code == 400 and "Before the account existed" in before.text


def test_bad_and_future_as_of_days_are_readable_refusals(
    as_user: Client, northwind: Scenario
) -> None:
    client = as_user("dora")
    url = f"/app/accounts/{northwind.account}/map"
    future = client.get(url, params={"as_of": "2027-01-16"})
    assert future.status_code == 400 and "Day in the future" in future.text
    assert "text/html" in future.headers["content-type"]
    bad = client.get(url, params={"as_of": "last tuesday"})
    assert bad.status_code in (400, 422) and "text/html" in bad.headers["content-type"]
    assert client.get(url, params={"as_of": "2027-01-15"}).status_code == 200


def test_an_erased_person_shows_erased_now_and_as_of_before_the_erasure(
    web: TestClient, as_user: Client, northwind: Scenario
) -> None:
    handle(
        web,
        ErasePersonalData(stakeholder_id=northwind.champion),
        Envelope(actor="dora", reason="Erasure request"),
    )
    client = as_user("dora")
    for html in (
        map_of(client, northwind.account),
        map_of(client, northwind.account, as_of="2025-06-01"),
    ):
        card = card_of(html, northwind.champion)
        assert "Priya" not in html and "(erased)" in card and "Personal data erased" in card
        assert "Head of Operations" not in card  # her title is personal data too
        assert chart_of(html)[str(northwind.champion)] == str(northwind.decision_maker)


def test_people_whose_manager_is_unknown_are_roots_and_a_loop_renders() -> None:
    people = [
        _person(n, name, manager)
        for n, name, manager in [
            (10, "Ada", 11),
            (11, "Bo", 12),
            (12, "Cy", 10),  # Ada -> Bo -> Cy -> Ada
            (13, "Di", None),
            (14, "Ed", 99),  # a manager not on the map
            (15, "Fi", 12),  # under the loop
        ]
    ]
    roots = org_chart(people)
    assert [r.stakeholder.name for r in roots] == ["Di", "Ed", "Ada"]
    ada = roots[2]
    assert ada.loop_to is not None and ada.loop_to.name == "Bo"  # cut where first met

    def names(nodes: list[Person]) -> list[str]:
        return [n.stakeholder.name for n in nodes] + [
            name for n in nodes for name in names(n.children)
        ]

    assert sorted(names(roots)) == ["Ada", "Bo", "Cy", "Di", "Ed", "Fi"]  # each once
    (cy,) = ada.children
    assert cy.stakeholder.name == "Cy"
    assert sorted(c.stakeholder.name for c in cy.children) == ["Bo", "Fi"]


def _person(n: int, name: str, manager: int | None) -> StakeholderPublic:
    """A stakeholder's public view with only what the chart reads set."""
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return StakeholderPublic(
        id=UUID(int=n),
        version=1,
        account_id=UUID(int=1),
        name=name,
        email=None,
        phone=None,
        personal_notes=None,
        title=None,
        buying_role=BuyingRole.USER,
        influence=3,
        reports_to=UUID(int=manager) if manager is not None else None,
        disposition=Disposition.NEUTRAL,
        owner=None,
        last_interaction=None,
        last_interaction_on=None,
        interaction_count=0,
        commitments=[],
        open_commitments=0,
        left_on=None,
        successor_id=None,
        erased=False,
        created_on=moment,
        modified_on=moment,
    )


def test_roles_and_unknown_accounts(as_user: Client, web: TestClient, northwind: Scenario) -> None:
    url = f"/app/accounts/{northwind.account}/map"
    assert as_user("vic").get(url).status_code == 403
    for name in ("root", "dora", "mia", "audrey"):
        assert as_user(name).get(url).status_code == 200, name
    assert as_user("dora").get(f"/app/accounts/{UUID(int=5)}/map").status_code == 404
    signed_out = web.get(url)
    assert signed_out.status_code == 303 and "/sign-in" in signed_out.headers["location"]


def test_names_and_titles_render_as_text(web: TestClient, as_user: Client) -> None:
    evil = "<script>alert(1)</script>"
    account = register(web, evil)
    boss = identify(web, account, evil, title=evil, role=BuyingRole.DECISION_MAKER)
    report = identify(web, account, "Quinn", reports_to=boss)
    handle(
        web,
        ChangeDisposition(stakeholder_id=boss, disposition=Disposition.DETRACTOR),
        Envelope(actor="dora", reason="said no"),
    )
    handle(
        web,
        RecordDeparture(stakeholder_id=report, left_on=date(2027, 1, 2), successor_id=None),
    )
    html = map_of(as_user("dora"), account)
    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert chart_of(html) == {str(boss): None, str(report): str(boss)}
    assert "Detractor" in card_of(html, boss) and "Left on 2 Jan 2027" in card_of(html, report)


def test_a_public_view_of_a_stakeholder_is_what_the_map_shows(
    web: TestClient, northwind: Scenario
) -> None:
    kam = web.app.state.kam  # type: ignore[attr-defined]
    public = stakeholder_public(kam.get_stakeholder(northwind.successor))
    assert public.reports_to == northwind.decision_maker and public.left_on is None


class _Client:
    """What ``load_demo_into`` needs of a client: the app."""

    def __init__(self, live: LiveServer) -> None:
        self.app = live.app


def test_moving_the_date_before_a_handover_shows_the_map_as_it_was(
    page: Any, live: LiveServer
) -> None:
    # Given the demo portfolio, whose account was handed over on some day, and someone the
    # new manager met after taking it over (identified with that later date)
    load_demo_into(_Client(live), accounts=3)  # type: ignore[arg-type]
    views = live.app.state.views
    handover = views.query(
        "SELECT account_id, occurred_at FROM rm_timeline WHERE event_type = 'HandedOver' "
        "ORDER BY position LIMIT 1"
    )[0]
    account = UUID(handover["account_id"])
    handed_over_on = date.fromisoformat(handover["occurred_at"][:10])
    boss = views.query(  # someone known well before the handover
        "SELECT aggregate_id FROM rm_timeline WHERE account_id = :a AND event_type = "
        "'Identified' AND occurred_at < :on ORDER BY position LIMIT 1",
        {"a": str(account), "on": handed_over_on.isoformat()},
    )[0]["aggregate_id"]
    met = datetime.combine(handed_over_on + timedelta(days=10), time(10), UTC)
    command = IdentifyStakeholder.of(
        account,
        PersonalData(name="Nadia New"),
        title="Head of Quality",
        buying_role=BuyingRole.INFLUENCER,
        influence=2,
        reports_to=boss,
    )
    result = live.app.state.kam.handle(command, meta=Envelope(actor="dora", occurred_on=met))
    assert wait_for_position(views, result.position, 10)
    newcomer = f"#stakeholder-{result.id}"

    # When a director opens the map today, then moves the date to the day before the handover
    sign_in_browser(page, "dora")
    page.goto(f"/app/accounts/{account}/map")
    assert page.locator(newcomer).is_visible()
    assert page.locator(f"#stakeholder-{boss} ~ ul {newcomer}").count() == 1  # under the boss
    check_page(page, "map")
    before = handed_over_on - timedelta(days=1)
    page.fill("#as-of-date", before.isoformat())
    page.click("form.as-of button[type=submit]")
    page.wait_for_url(f"**/map?as_of={before.isoformat()}")

    # Then the map is the one of that day: the banner says so, the newcomer is not on it,
    # the people known then are; and "back to today" brings her back
    banner = page.locator(".as-of-banner").inner_text()
    assert f"{before.day} {before.strftime('%b %Y')}" in banner
    assert page.locator(newcomer).count() == 0
    assert page.locator(f"#stakeholder-{boss}").is_visible()
    assert page.input_value("#as-of-date") == before.isoformat()
    check_page(page, "map-as-of")
    page.click("text=back to today")
    page.wait_for_url(f"**/app/accounts/{account}/map")
    assert page.locator(newcomer).is_visible()
