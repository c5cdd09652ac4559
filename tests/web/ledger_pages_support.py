"""Helpers of the map, handover and audit page tests: the scripted two-year history in the
web app, small seeds, and how a page's org chart nests."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from kam_domain.commands import IdentifyStakeholder, RegisterAccount
from kam_domain.values import BuyingRole, Envelope, PersonalData
from kam_projections.freshness import wait_for_position
from tests.api.handover_scenario import Scenario, two_year_scenario

DORA = Envelope(actor="dora")


def scenario_in(client: TestClient) -> Scenario:
    """Northwind Foods' two years (tests/api/handover_scenario.py) in the app, projected."""
    state = client.app.state  # type: ignore[attr-defined]
    scenario = two_year_scenario(state.kam)
    assert wait_for_position(state.views, scenario.last_position, 30)
    return scenario


def handle(client: TestClient, command: Any, meta: Envelope = DORA) -> Any:
    """Runs a command in the app and waits until the read models have it."""
    state = client.app.state  # type: ignore[attr-defined]
    result = state.kam.handle(command, meta=meta)
    assert wait_for_position(state.views, result.position, 10)
    return result


def register(client: TestClient, name: str) -> UUID:
    result = handle(client, RegisterAccount(name=name, industry="Retail", region="EMEA"))
    return UUID(str(result.id))


def identify(
    client: TestClient,
    account: UUID,
    name: str,
    *,
    reports_to: UUID | None = None,
    role: BuyingRole = BuyingRole.INFLUENCER,
    influence: int = 3,
    title: str | None = None,
) -> UUID:
    command = IdentifyStakeholder.of(
        account,
        PersonalData(name=name),
        title=title,
        buying_role=role,
        influence=influence,
        reports_to=reports_to,
    )
    return UUID(str(handle(client, command).id))


class _Chart(HTMLParser):
    """Which card each card of an org chart sits under (its nearest enclosing card)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.under: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            self.stack.append(None)
            return
        found = dict(attrs).get("id") or ""
        if tag == "article" and found.startswith("stakeholder-") and self.stack:
            me = found.removeprefix("stakeholder-")
            self.stack[-1] = me
            above = [s for s in self.stack[:-1] if s is not None]
            self.under[me] = above[-1] if above else None

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self.stack:
            self.stack.pop()


def chart_of(html: str) -> dict[str, str | None]:
    """``{stakeholder id: id of the card it is drawn under, or None for a root}``."""
    parser = _Chart()
    parser.feed(html)
    return parser.under


def card_of(html: str, stakeholder: UUID) -> str:
    """The HTML of one stakeholder's card."""
    start = html.rindex("<article", 0, html.index(f'id="stakeholder-{stakeholder}"'))
    return html[start : html.index("</article>", start)]
