"""The relationship map: an account's stakeholders as an org chart built from whom each reports
to, now or as it stood at the end of a past day (``?as_of=YYYY-MM-DD``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from kam_api.presenters import forgotten, stakeholder_public
from kam_api.schemas.stakeholders import StakeholderPublic
from kam_api.web.auth import PageStoreReader
from kam_api.web.routes.account import AccountAt, account_at, tabs_context
from kam_api.web.templating import pages_of
from kam_domain.application import KamApplication
from kam_domain.relationships import Relationship
from kam_projections.db import ViewDatabase
from kam_projections.owners import owned_by

router = APIRouter(include_in_schema=False)

#: A disposition's words and the sign shown beside its colour (never colour alone).
DISPOSITIONS = {
    "supporter": ("Supporter", "+"),
    "neutral": ("Neutral", "="),
    "detractor": ("Detractor", "\u2212"),
}


@dataclass
class Person:
    """One card of the chart and the people who report to them."""

    stakeholder: StakeholderPublic
    children: list[Person] = field(default_factory=list)
    #: The manager this person reports to when that is part of a loop (shown in words).
    loop_to: StakeholderPublic | None = None


def org_chart(people: list[StakeholderPublic]) -> list[Person]:
    """The people as trees by whom they report to. People whose manager is unknown (or not
    among ``people``) are roots; each person appears once, so a loop in reports-to (which the
    domain refuses, but a past state or a correction race must not hang the page) is cut
    where it is first met: its earliest-sorted member becomes a root marked as in a loop."""
    by_id = {p.id: p for p in people}
    reports: dict[UUID, list[StakeholderPublic]] = {}
    for p in people:
        if p.reports_to is not None and p.reports_to in by_id and p.reports_to != p.id:
            reports.setdefault(p.reports_to, []).append(p)

    def order(p: StakeholderPublic) -> tuple[int, str, str]:
        return (-p.influence, p.name.casefold(), str(p.id))

    seen: set[UUID] = set()

    def grow(top: Person) -> None:
        stack = [top]
        seen.add(top.stakeholder.id)
        while stack:
            node = stack.pop()
            for child in sorted(reports.get(node.stakeholder.id, []), key=order):
                if child.id in seen:
                    continue
                seen.add(child.id)
                person = Person(child)
                node.children.append(person)
                stack.append(person)

    roots: list[Person] = []
    for p in sorted(people, key=order):
        if p.reports_to is None or p.reports_to not in by_id or p.reports_to == p.id:
            roots.append(Person(p))
            grow(roots[-1])
    for p in sorted(people, key=order):  # whoever is left is on a loop (or under one)
        if p.id not in seen:
            manager = by_id.get(p.reports_to) if p.reports_to is not None else None
            roots.append(Person(p, loop_to=manager))
            grow(roots[-1])
    return roots


def stakeholders_on(
    kam: KamApplication, views: ViewDatabase, at: AccountAt
) -> list[StakeholderPublic]:
    """The account's stakeholders as the API presents them: now, or as they stood at the end
    of the as-of day (``at.versions``: those identified later absent). Someone erased since
    shows erased then too: an erasure reaches back over the whole history."""
    if at.as_of is None:
        return [
            stakeholder_public(kam.get_stakeholder(i))
            for i in owned_by(views, at.account.id, "Relationship")
        ]
    found = []
    for person_id, then in sorted(at.versions.items()):
        if then.aggregate_type != "Relationship" or then.version < 1:
            continue
        past = stakeholder_public(
            kam.load(Relationship, person_id, version=then.version, fresh=False)
        )
        if kam.get_stakeholder(person_id).erased:
            past = forgotten(past.model_copy(update={"erased": True}))
        found.append(past)
    return found


@router.get("/app/accounts/{account_id}/map", response_class=HTMLResponse)
def relationship_map(
    request: Request,
    account_id: UUID,
    user: PageStoreReader,
    as_of: Annotated[str | None, Query(description="Show the map as of this day")] = None,
) -> HTMLResponse:
    """The org chart of the account's stakeholders, coloured and labelled by disposition."""
    kam: KamApplication = request.app.state.kam
    views: ViewDatabase = request.app.state.views
    at = account_at(request, account_id, as_of)
    people = stakeholders_on(kam, views, at)
    on = at.day
    return pages_of(request).render(
        request,
        "account/map.html",
        {
            **tabs_context(at, "map", "Relationship map"),
            "roots": org_chart(people),
            "count": len(people),
            "names": {p.id: p.name for p in people},
            "on": on,
            "days_since": {
                p.id: (on - p.last_interaction_on).days
                for p in people
                if p.last_interaction_on is not None
            },
            "dispositions": DISPOSITIONS,
        },
    )
