"""The handover report's gap rules over an account's state, without storage: "recent" means
what the health model means by it, at the same boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import (
    BuyingRole,
    EngagementLevel,
    Envelope,
    InteractionKind,
    PersonalData,
    ServiceProfile,
)
from kam_projections.handover import find_gaps
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


def gap_codes(acme: KeyAccount, *stakeholders: Relationship) -> list[str]:
    view: Any = SimpleNamespace(
        account=acme, sources=sources_from([]), stakeholders=list(stakeholders), plans=[]
    )
    return [gap.code for gap in find_gaps(view, None, TODAY)]


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
        "no_revenue",
        "criteria_not_scored",
        "not_classified",
        "no_recent_assessment",
        "no_customer_feedback",
        "no_plan",
    ]
