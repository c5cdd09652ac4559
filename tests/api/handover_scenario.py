"""A scripted two-year account history with two manager changes, for handover-report tests.

Northwind Foods, January 2025 to January 2027: Ann manages it, hands it to Ben in September
2025 (she moves to EMEA); Ben hands it to Cleo in December 2026 (he leaves the company), and
Cleo has not acknowledged yet. The champion, Priya Nair, left in June 2026 and Tom Berg took
over her role. Ben still owns two open actions, an open commitment to the decision maker, and
the 2026 plan has research answered in three of eight categories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from uuid import UUID

from kam_domain.application import KamApplication
from kam_domain.commands import (
    AcknowledgeHandover,
    AddAction,
    AddTeamMember,
    AdvanceOpportunity,
    AdvanceStage,
    AnswerResearchQuestion,
    AssessRelationship,
    AssignManager,
    AssignRelationshipOwner,
    ChangeDisposition,
    ClassifyAccount,
    CompleteAction,
    DraftPlan,
    HandOver,
    IdentifyOpportunity,
    IdentifyStakeholder,
    LogInteraction,
    MakeCommitment,
    NoteCompetitor,
    RaiseRisk,
    RecordDeparture,
    RecordFeedback,
    RecordFinancials,
    RecordProgress,
    RegisterAccount,
    ReviewPlan,
    ScoreCriteria,
    SetObjective,
    SharePlan,
    StartAction,
    StateDirection,
)
from kam_domain.values import (
    AccountKind,
    BuyingRole,
    Disposition,
    EngagementLevel,
    Envelope,
    InteractionKind,
    KamRole,
    KpiStatus,
    OpportunityKind,
    PersonalData,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)

TODAY = date(2027, 1, 15)
NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)


def on(day: date, actor: str, reason: str | None = None) -> Envelope:
    return Envelope(actor=actor, occurred_on=datetime.combine(day, time(10), UTC), reason=reason)


@dataclass
class Scenario:
    account: UUID = field(default_factory=lambda: UUID(int=0))
    plan_2025: UUID = field(default_factory=lambda: UUID(int=0))
    plan_2026: UUID = field(default_factory=lambda: UUID(int=0))
    decision_maker: UUID = field(default_factory=lambda: UUID(int=0))
    champion: UUID = field(default_factory=lambda: UUID(int=0))
    successor: UUID = field(default_factory=lambda: UUID(int=0))
    ben_open_actions: list[UUID] = field(default_factory=list)
    ben_commitment: UUID = field(default_factory=lambda: UUID(int=0))
    last_position: int = 0


def two_year_scenario(app: KamApplication) -> Scenario:
    s = Scenario()
    d = date
    s.account = app.handle(
        RegisterAccount(
            name="Northwind Foods",
            industry="Food processing",
            region="Nordics",
            service_profile=ServiceProfile.PREMIUM,
        ),
        meta=on(d(2025, 1, 6), "dora"),
    ).id
    a = s.account
    app.handle(
        ClassifyAccount(
            account_id=a,
            tier=Tier.STRATEGIC,
            kind=AccountKind.EXISTING,
            rationale="Largest food customer; three plants on our platform",
        ),
        meta=on(d(2025, 1, 6), "dora", "annual portfolio selection"),
    )
    app.handle(
        ScoreCriteria.of(a, SelectionCriteria(5, 4, 4, 3, 3, 4, 5, 4)),
        meta=on(d(2025, 1, 7), "dora"),
    )
    app.handle(AssignManager(account_id=a, manager="ann"), meta=on(d(2025, 1, 10), "dora"))
    app.handle(
        AddTeamMember(account_id=a, member="ann", roles=[KamRole.RELATIONSHIP_LEADER]),
        meta=on(d(2025, 1, 10), "ann"),
    )
    app.handle(
        AddTeamMember(account_id=a, member="sam", roles=[KamRole.TECHNICAL_EXPERT]),
        meta=on(d(2025, 1, 10), "ann"),
    )
    app.handle(AdvanceStage(account_id=a, to=Stage.RESEARCH), meta=on(d(2025, 2, 1), "ann"))
    app.handle(
        RecordFinancials(
            account_id=a,
            period="2025",
            revenue=Decimal("1200000"),
            gross_margin=Decimal("0.31"),
            revenue_target=Decimal("1300000"),
            currency="EUR",
        ),
        meta=on(d(2025, 12, 31), "ann"),
    )

    # People at the customer.
    s.decision_maker = app.handle(
        IdentifyStakeholder.of(
            a,
            PersonalData(name="Hedda Larsen", email="hedda@northwind.example"),
            title="COO",
            buying_role=BuyingRole.DECISION_MAKER,
            influence=5,
            reports_to=None,
        ),
        meta=on(d(2025, 1, 20), "ann"),
    ).id
    app.handle(
        AssignRelationshipOwner(stakeholder_id=s.decision_maker, owner="ann"),
        meta=on(d(2025, 1, 20), "ann"),
    )
    s.champion = app.handle(
        IdentifyStakeholder.of(
            a,
            PersonalData(name="Priya Nair"),
            title="Head of Operations",
            buying_role=BuyingRole.CHAMPION,
            influence=4,
            reports_to=s.decision_maker,
        ),
        meta=on(d(2025, 1, 21), "ann"),
    ).id
    app.handle(
        AssignRelationshipOwner(stakeholder_id=s.champion, owner="sam"),
        meta=on(d(2025, 1, 21), "ann"),
    )
    app.handle(
        ChangeDisposition(stakeholder_id=s.champion, disposition=Disposition.SUPPORTER),
        meta=on(d(2025, 3, 1), "ann", "sponsors the rollout internally"),
    )
    app.handle(
        LogInteraction(
            stakeholder_id=s.champion,
            kind=InteractionKind.MEETING,
            on=d(2025, 3, 1),
            summary="Kick-off of the plant 3 rollout",
            sentiment=2,
        ),
        meta=on(d(2025, 3, 1), "ann"),
    )

    # 2025 plan, Ann's.
    s.plan_2025 = app.handle(
        DraftPlan(account_id=a, period="2025", title="Protect and expand"),
        meta=on(d(2025, 2, 3), "ann"),
    ).id
    app.handle(
        StateDirection(
            plan_id=s.plan_2025,
            direction="Protect the core; pilot analytics in plant 3",
            priorities=["renewal", "analytics pilot"],
        ),
        meta=on(d(2025, 2, 3), "ann"),
    )
    app.handle(
        SharePlan(plan_id=s.plan_2025, agreed=True, notes="Agreed with the COO"),
        meta=on(d(2025, 2, 20), "ann"),
    )
    done = app.handle(
        AddAction(
            plan_id=s.plan_2025,
            what="Run the analytics pilot in plant 3",
            owner="ann",
            due_on=d(2025, 6, 30),
            stakeholder_ids=[s.champion],
            success_measure="pilot signed off",
            objective_id=None,
        ),
        meta=on(d(2025, 2, 21), "ann"),
    ).entity_id
    assert done is not None
    app.handle(
        CompleteAction(plan_id=s.plan_2025, action_id=done, outcome="Signed off"),
        meta=on(d(2025, 6, 20), "ann"),
    )

    # First handover: Ann to Ben.
    app.handle(
        HandOver(account_id=a, to="ben", effective_on=d(2025, 9, 1)),
        meta=on(d(2025, 8, 18), "dora", "Ann moves to the EMEA team"),
    )
    app.handle(
        AcknowledgeHandover(account_id=a, notes="Met Hedda and Priya"),
        meta=on(d(2025, 8, 25), "ben"),
    )
    app.handle(
        AssignRelationshipOwner(stakeholder_id=s.decision_maker, owner="ben"),
        meta=on(d(2025, 9, 2), "ben"),
    )
    app.handle(AdvanceStage(account_id=a, to=Stage.ACTION_PLAN), meta=on(d(2025, 10, 1), "ben"))

    # 2026 plan, Ben's.
    s.plan_2026 = app.handle(
        DraftPlan(account_id=a, period="2026", title="Grow analytics"),
        meta=on(d(2026, 1, 12), "ben"),
    ).id
    p = s.plan_2026
    app.handle(
        StateDirection(
            plan_id=p,
            direction="Roll analytics out to all three plants",
            priorities=["analytics rollout", "renewal 2027"],
        ),
        meta=on(d(2026, 1, 12), "ben"),
    )
    objective = app.handle(
        SetObjective(
            plan_id=p,
            statement="Analytics live in all plants",
            metric="plants live",
            baseline=Decimal(1),
            target=Decimal(3),
            due_on=d(2026, 12, 31),
        ),
        meta=on(d(2026, 1, 13), "ben"),
    ).entity_id
    assert objective is not None
    app.handle(
        RecordProgress(plan_id=p, objective_id=objective, value=Decimal(2), note="Plant 1 live"),
        meta=on(d(2026, 5, 1), "ben"),
    )
    opportunity = app.handle(
        IdentifyOpportunity(
            plan_id=p,
            kind=OpportunityKind.EXPANSION,
            title="Analytics for plants 1 and 2",
            value=Decimal("250000"),
            probability=40,
        ),
        meta=on(d(2026, 1, 20), "ben"),
    ).entity_id
    assert opportunity is not None
    app.handle(
        AdvanceOpportunity(
            plan_id=p, opportunity_id=opportunity, probability=60, note="Budget approved"
        ),
        meta=on(d(2026, 4, 2), "ben"),
    )
    for question, answer, day in (
        ("our-team-01", "Ben leads; Sam covers integration", d(2026, 1, 14)),
        ("needs-01", "Less unplanned downtime in plant 2", d(2026, 1, 14)),
        ("competitors-01", "Contoso pitches a cheaper sensor bundle", d(2026, 2, 1)),
    ):
        app.handle(
            AnswerResearchQuestion(plan_id=p, question_id=question, answer=answer),
            meta=on(day, "ben"),
        )
    first = app.handle(
        AddAction(
            plan_id=p,
            what="Renewal proposal for 2027",
            owner="ben",
            due_on=d(2026, 11, 30),
            stakeholder_ids=[s.decision_maker],
            success_measure="proposal accepted",
            objective_id=None,
        ),
        meta=on(d(2026, 2, 1), "ben"),
    ).entity_id
    second = app.handle(
        AddAction(
            plan_id=p,
            what="Plant 2 analytics rollout plan",
            owner="ben",
            due_on=d(2027, 2, 28),
            stakeholder_ids=[],
            success_measure=None,
            objective_id=objective,
        ),
        meta=on(d(2026, 3, 1), "ben"),
    ).entity_id
    assert first is not None and second is not None
    app.handle(StartAction(plan_id=p, action_id=second), meta=on(d(2026, 3, 5), "ben"))
    s.ben_open_actions = [first, second]
    sams = app.handle(
        AddAction(
            plan_id=p,
            what="Sensor firmware upgrade",
            owner="sam",
            due_on=d(2027, 3, 31),
            stakeholder_ids=[],
            success_measure=None,
            objective_id=None,
        ),
        meta=on(d(2026, 3, 2), "ben"),
    ).entity_id
    assert sams is not None
    app.handle(
        ReviewPlan(plan_id=p, notes="Rollout behind in plant 2", kpi_status=KpiStatus.AT_RISK),
        meta=on(d(2026, 6, 30), "ben"),
    )

    # The champion leaves; her successor is identified first.
    s.successor = app.handle(
        IdentifyStakeholder.of(
            a,
            PersonalData(name="Tom Berg"),
            title="Head of Operations",
            buying_role=BuyingRole.CHAMPION,
            influence=3,
            reports_to=s.decision_maker,
        ),
        meta=on(d(2026, 6, 15), "ben"),
    ).id
    app.handle(
        AssignRelationshipOwner(stakeholder_id=s.successor, owner="sam"),
        meta=on(d(2026, 6, 15), "ben"),
    )
    app.handle(
        RecordDeparture(
            stakeholder_id=s.champion, left_on=d(2026, 6, 30), successor_id=s.successor
        ),
        meta=on(d(2026, 7, 1), "ben"),
    )
    commitment = app.handle(
        MakeCommitment(
            stakeholder_id=s.decision_maker,
            description="Send the plant 2 downtime analysis",
            due_on=d(2026, 12, 15),
        ),
        meta=on(d(2026, 10, 20), "ben"),
    ).entity_id
    assert commitment is not None
    s.ben_commitment = commitment
    app.handle(
        LogInteraction(
            stakeholder_id=s.decision_maker,
            kind=InteractionKind.QBR,
            on=d(2026, 10, 20),
            summary="QBR: renewal on the table, concerned about plant 2",
            sentiment=-1,
        ),
        meta=on(d(2026, 10, 20), "ben"),
    )

    # Money, voice of the customer, risks.
    app.handle(
        RecordFinancials(
            account_id=a,
            period="2026",
            revenue=Decimal("1350000"),
            gross_margin=Decimal("0.29"),
            revenue_target=Decimal("1500000"),
            currency="EUR",
        ),
        meta=on(d(2026, 12, 31), "ben"),
    )
    app.handle(
        RecordFeedback(account_id=a, nps=8, csat=4, respondent_id=s.champion, comment=None),
        meta=on(d(2025, 11, 15), "ben"),
    )
    app.handle(
        RecordFeedback(
            account_id=a,
            nps=5,
            csat=3,
            respondent_id=s.decision_maker,
            comment="Plant 2 rollout is slow",
        ),
        meta=on(d(2026, 11, 10), "ben"),
    )
    app.handle(
        AssessRelationship(
            account_id=a,
            engagement=EngagementLevel.ENGAGED,
            trust=4,
            satisfaction=4,
            partner_rating=7,
            notes=None,
        ),
        meta=on(d(2026, 3, 1), "ben"),
    )
    app.handle(
        NoteCompetitor(
            account_id=a, name="Contoso", threat=ThreatLevel.MEDIUM, notes="Cheaper sensor bundle"
        ),
        meta=on(d(2026, 2, 1), "ben"),
    )
    risk = app.handle(
        RaiseRisk(
            account_id=a,
            title="Renewal at risk over plant 2 delays",
            severity=ThreatLevel.HIGH,
            revenue_at_risk=Decimal("400000"),
        ),
        meta=on(d(2026, 11, 12), "ben"),
    ).entity_id
    assert risk is not None

    # Second handover: Ben to Cleo, not yet acknowledged.
    result = app.handle(
        HandOver(account_id=a, to="cleo", effective_on=d(2027, 1, 4)),
        meta=on(d(2026, 12, 14), "dora", "Ben leaves the company"),
    )
    s.last_position = result.position
    return s
