"""The handover report's gap rules over an account's state, without storage: "recent" means
what the health model means by it, at the same boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from kam_domain.account_plans import AccountPlan
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import (
    BuyingRole,
    EngagementLevel,
    Envelope,
    InteractionKind,
    KamRole,
    PersonalData,
    ServiceProfile,
)
from kam_projections.handover import find_gaps
from kam_projections.handover.first_week import first_week
from kam_projections.handover.model import Gap, OpenWork, StakeholderEntry
from kam_projections.health_model import ASSESSMENT_STALE_DAYS, NO_CONTACT_DAYS
from kam_projections.sources import sources_from

TODAY = date(2027, 1, 15)
META = Envelope(actor="ann")


def account(assessed_days_ago: int | None = None) -> KeyAccount:
    acme = KeyAccount.register_account(
        name="Acme",
        industry="Steel",
        region="EMEA",
        service_profile=ServiceProfile.PREMIUM,
        meta=META,
    )
    if assessed_days_ago is not None:
        on = datetime.combine(TODAY - timedelta(days=assessed_days_ago), datetime.min.time(), UTC)
        acme.assess_relationship(
            engagement=EngagementLevel.ENGAGED,
            trust=4,
            satisfaction=4,
            partner_rating=8,
            notes=None,
            meta=Envelope(actor="ann", occurred_on=on),
        )
    return acme


def decision_maker(account_id: UUID, contacted_days_ago: int) -> Relationship:
    person = Relationship.identify_stakeholder(
        account_id=account_id,
        personal=PersonalData(name="Hedda Larsen"),
        title="CEO",
        buying_role=BuyingRole.DECISION_MAKER,
        influence=5,
        reports_to=None,
        meta=META,
    )
    person.log_interaction(
        kind=InteractionKind.MEETING,
        on=TODAY - timedelta(days=contacted_days_ago),
        summary="QBR",
        sentiment=1,
        meta=META,
    )
    return person


def gaps_of(
    acme: KeyAccount, *stakeholders: Relationship, plans: list[AccountPlan] | None = None
) -> list[Gap]:
    view: Any = SimpleNamespace(
        account=acme, sources=sources_from([]), stakeholders=list(stakeholders), plans=plans or []
    )
    return find_gaps(view, None, TODAY)


def gap_codes(acme: KeyAccount, *stakeholders: Relationship) -> list[str]:
    return [gap.code for gap in gaps_of(acme, *stakeholders)]


@pytest.mark.parametrize(
    ("days_ago", "stale"),
    [(0, False), (ASSESSMENT_STALE_DAYS, False), (ASSESSMENT_STALE_DAYS + 1, True), (None, True)],
)
def test_an_assessment_is_missing_once_the_health_model_counts_it_stale(
    days_ago: int | None, stale: bool
) -> None:
    assert ("no_recent_assessment" in gap_codes(account(days_ago))) is stale


@pytest.mark.parametrize(
    ("days_ago", "missing"), [(NO_CONTACT_DAYS, False), (NO_CONTACT_DAYS + 1, True)]
)
def test_contact_with_a_decision_maker_is_missing_after_the_health_models_no_contact_days(
    days_ago: int, missing: bool
) -> None:
    acme = account(assessed_days_ago=0)
    assert ("no_recent_contact" in gap_codes(acme, decision_maker(acme.id, days_ago))) is missing


def test_an_account_with_nothing_recorded_lists_its_gaps_in_a_fixed_order() -> None:
    assert gap_codes(account()) == [
        "no_decision_maker",
        "no_economic_buyer",
        "no_champion",
        "team_roles_uncovered",
        "no_revenue",
        "criteria_not_scored",
        "not_classified",
        "no_recent_assessment",
        "no_customer_feedback",
        "no_plan",
    ]


def test_the_kam_roles_nobody_on_the_team_holds_are_a_gap() -> None:
    # Given a team whose members hold four of the six roles between them
    acme = account()
    acme.add_team_member(
        member="ann", roles=[KamRole.RELATIONSHIP_LEADER, KamRole.INNOVATOR], meta=META
    )
    acme.add_team_member(
        member="sam", roles=[KamRole.TECHNICAL_EXPERT, KamRole.COLLABORATOR], meta=META
    )
    # Then the gap names the other two, in the roles' order
    (gap,) = [g for g in gaps_of(acme) if g.code == "team_roles_uncovered"]
    assert (
        gap.text
        == "Nobody on the account team is project manager, result generator: who covers them?"
    )
    assert acme.uncovered_roles() == [KamRole.PROJECT_MANAGER, KamRole.RESULT_GENERATOR]
    # And with all six held, there is no such gap
    acme.add_team_member(
        member="kai", roles=[KamRole.PROJECT_MANAGER, KamRole.RESULT_GENERATOR], meta=META
    )
    assert "team_roles_uncovered" not in gap_codes(acme)


@pytest.mark.parametrize(
    ("agreed", "said"),
    [
        (None, "Plan 2027 has not been shared with the customer."),
        (False, "Plan 2027 was shared with the customer but not agreed."),
        (True, None),
    ],
)
def test_the_plan_gap_says_what_its_sharing_records(agreed: bool | None, said: str | None) -> None:
    acme = account()
    plan = AccountPlan.draft_plan(account_id=acme.id, period="2027", title=None, meta=META)
    if agreed is not None:
        plan.share_plan(agreed=agreed, notes=None, meta=META)
    texts = [g.text for g in gaps_of(acme, plans=[plan]) if g.code == "plan_not_agreed"]
    assert texts == ([said] if said else [])


def person(
    name: str,
    role: str,
    *,
    disposition: str = "neutral",
    influence: int = 3,
    contact: date | None = None,
    left: bool = False,
) -> StakeholderEntry:
    return StakeholderEntry(
        stakeholder_id=UUID(int=len(name)),
        name=name,
        title=None,
        buying_role=role,
        influence=influence,
        disposition=disposition,
        relationship_owner="ben",
        last_contact_on=contact,
        interactions=0,
        left_on=TODAY if left else None,
        successor_id=None,
        successor_name=None,
        reassign=name == "Hedda",
    )


def test_the_first_week_meets_detractors_first_then_who_was_not_met_longest() -> None:
    people = [
        person("Hedda", "decision_maker", contact=TODAY - timedelta(days=10)),
        person("Tom", "champion", contact=None),
        person("Olaf", "economic_buyer", contact=TODAY - timedelta(days=40)),
        person("Gert", "blocker", disposition="detractor", influence=5, contact=TODAY),
        person("Ulla", "user", disposition="detractor", influence=2),  # not influential
        person("Priya", "champion", left=True),  # left the company
    ]
    gaps = [
        Gap(code="research_unanswered", text="r"),
        Gap(code="no_recent_contact", text="c"),
        Gap(code="handover_unacknowledged", text="h"),
        Gap(code="no_economic_buyer", text="e"),
    ]
    week = first_week(people, OpenWork(actions=[], commitments=[]), gaps, TODAY)
    assert [(p.name, p.why) for p in week.meet] == [
        ("Gert", "blocker, a detractor, contacted lately"),
        ("Tom", "champion, never contacted"),
        ("Olaf", "economic buyer, last contact 40 days ago"),
    ]
    assert [g.code for g in week.gaps] == [
        "handover_unacknowledged",
        "no_economic_buyer",
        "no_recent_contact",
    ]
    assert week.relationships_to_reassign == 1
