"""The sources read model: what each event is about, and the positions kept per subject."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest
from tests.support import open_views

from kam_domain.account_plans import AccountPlan
from kam_domain.application import KamApplication
from kam_domain.commands import MitigateRisk, RaiseRisk, RecordFeedback, RegisterAccount
from kam_domain.key_accounts import KeyAccount
from kam_domain.values import Envelope, ServiceProfile, ThreatLevel
from kam_projections.db import ViewDatabase
from kam_projections.projector import Projector
from kam_projections.sources import KEPT_POSITIONS, account_sources, subject_of

ANN = Envelope(actor="ann")


@pytest.fixture
def views(database_url: str) -> Iterator[ViewDatabase]:
    database = open_views(database_url)
    try:
        yield database
    finally:
        database.close()


def test_subjects_name_the_thing_an_event_is_about() -> None:
    action = uuid4()
    assert subject_of(AccountPlan.ActionRescheduled, {"action_id": action}) == f"action:{action}"
    assert subject_of(KeyAccount.RiskMitigated, {"risk_id": action}) == f"risk:{action}"
    assert subject_of(AccountPlan.ResearchQuestionAnswered, {"question_id": "needs-01"}) == (
        "research:needs-01"
    )
    assert subject_of(KeyAccount.FinancialsRecorded, {"period": "2026"}) == "financials:2026"
    assert subject_of(KeyAccount.TeamMemberRemoved, {"member": "sam"}) == "team:sam"
    assert subject_of(KeyAccount.CompetitorNoted, {"name": "Contoso"}) == "competitor:contoso"
    assert subject_of(KeyAccount.HandedOver, {}) == "manager"
    assert subject_of(KeyAccount.ManagerAssigned, {}) == "manager"
    assert subject_of(KeyAccount.Classified, {"tier": "key"}) == "Classified"


def test_a_subject_keeps_its_latest_positions_and_counts_them_all(
    app: KamApplication, views: ViewDatabase
) -> None:
    account = app.handle(
        RegisterAccount(
            name="Sourced",
            industry="Retail",
            region="EMEA",
            service_profile=ServiceProfile.STANDARD,
        ),
        meta=ANN,
    ).id
    risk = app.handle(
        RaiseRisk(
            account_id=account, title="Churn", severity=ThreatLevel.HIGH, revenue_at_risk=None
        ),
        meta=ANN,
    ).entity_id
    assert risk is not None
    positions = [
        app.handle(
            RecordFeedback(
                account_id=account, nps=n % 11, csat=None, respondent_id=None, comment=None
            ),
            meta=ANN,
        ).position
        for n in range(KEPT_POSITIONS + 10)
    ]
    mitigated = app.handle(
        MitigateRisk(account_id=account, risk_id=risk, mitigation="call"), meta=ANN
    ).position
    projector = Projector(app, views)
    projector.setup()
    projector.batch_size = 7  # rows carried across many batches
    projector.catch_up()
    sources = account_sources(views, account)
    assert sources.of(account, "FeedbackRecorded") == positions[-KEPT_POSITIONS:]
    assert sources.counts[(account, "FeedbackRecorded")] == KEPT_POSITIONS + 10
    assert sources.of(account, f"risk:{risk}")[-1] == mitigated
    assert len(sources.of(account, f"risk:{risk}")) == 2
    assert sources.versions[account] == app.get_account(account).version
    assert sources.types == {account: "KeyAccount"}
    assert account_sources(views, UUID(int=1)).positions == {}
