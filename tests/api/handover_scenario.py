"""A scripted two-year account history with two manager changes, for handover-report tests.

Northwind Foods, January 2025 to January 2027: Ann manages it, hands it to Ben in September
2025 (she moves to EMEA); Ben hands it to Cleo in December 2026 (he leaves the company), and
Cleo has not acknowledged yet. The champion, Priya Nair, left in June 2026 and Tom Berg took
over her role. Ben still owns two open actions, an open commitment to the decision maker, and
the 2026 plan has research answered in three of eight categories.

The history is a list of steps (commands with their envelopes, naming what they act on by
reference), run by the same runner as every generated history (``kam_api.demo``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from uuid import UUID

from kam_api.demo import Kind, Runner, Step, parse, ref
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
d = date  # short: the history is written in dates

# What the history creates, by reference.
NORTHWIND = ref(Kind.ACCOUNT, 0)
PLAN_2025, PLAN_2026 = ref(Kind.PLAN, 0), ref(Kind.PLAN, 1)
HEDDA, PRIYA, TOM = (ref(Kind.STAKEHOLDER, n) for n in range(3))
PILOT = ref(Kind.ACTION, 0, of=0)
PLANTS_LIVE = ref(Kind.OBJECTIVE, 0, of=1)
ANALYTICS_DEAL = ref(Kind.OPPORTUNITY, 0, of=1)
RENEWAL_PROPOSAL, ROLLOUT_PLAN, FIRMWARE = (ref(Kind.ACTION, n, of=1) for n in range(3))
DOWNTIME_ANALYSIS = ref(Kind.COMMITMENT, 0, of=0)
RENEWAL_RISK = ref(Kind.RISK, 0, of=0)


def on(day: date, actor: str, reason: str | None = None) -> Envelope:
    return Envelope(actor=actor, occurred_on=datetime.combine(day, time(10), UTC), reason=reason)


def drafted(
    plan: UUID, title: str, direction: str, priorities: list[str], meta: Envelope
) -> list[Step]:
    """The plan for the year of ``meta``'s day drafted, and its direction stated."""
    assert meta.occurred_on is not None
    period = str(meta.occurred_on.year)
    return [
        Step(DraftPlan(account_id=NORTHWIND, period=period, title=title), meta, creates=plan),
        Step(StateDirection(plan_id=plan, direction=direction, priorities=priorities), meta),
    ]


def identified(
    person: UUID,
    personal: PersonalData,
    title: str,
    role: BuyingRole,
    *,
    influence: int,
    reports_to: UUID | None,
    owner: str,
    meta: Envelope,
) -> list[Step]:
    """Someone at the customer identified, and who on our side owns the relationship."""
    command = IdentifyStakeholder.of(
        NORTHWIND,
        personal,
        title=title,
        buying_role=role,
        influence=influence,
        reports_to=reports_to,
    )
    return [
        Step(command, meta, creates=person),
        Step(AssignRelationshipOwner(stakeholder_id=person, owner=owner), meta),
    ]


def added(
    action: UUID,
    what: str,
    owner: str,
    due_on: date,
    meta: Envelope,
    *,
    people: tuple[UUID, ...] = (),
    measure: str | None = None,
    objective: UUID | None = None,
) -> Step:
    """An action added to its plan: what, whose, by when, with whom, towards what."""
    _, _, plan = parse(action)
    command = AddAction(
        plan_id=ref(Kind.PLAN, plan),
        what=what,
        owner=owner,
        due_on=due_on,
        stakeholder_ids=people,
        success_measure=measure,
        objective_id=objective,
    )
    return Step(command, meta, creates=action)


ACCOUNT_SET_UP = [
    Step(
        RegisterAccount(
            name="Northwind Foods",
            industry="Food processing",
            region="Nordics",
            service_profile=ServiceProfile.PREMIUM,
        ),
        on(d(2025, 1, 6), "dora"),
        creates=NORTHWIND,
    ),
    Step(
        ClassifyAccount(
            account_id=NORTHWIND,
            tier=Tier.STRATEGIC,
            kind=AccountKind.EXISTING,
            rationale="Largest food customer; three plants on our platform",
        ),
        on(d(2025, 1, 6), "dora", "annual portfolio selection"),
    ),
    Step(
        ScoreCriteria.of(NORTHWIND, SelectionCriteria(5, 4, 4, 3, 3, 4, 5, 4)),
        on(d(2025, 1, 7), "dora"),
    ),
    Step(AssignManager(account_id=NORTHWIND, manager="ann"), on(d(2025, 1, 10), "dora")),
    Step(
        AddTeamMember(account_id=NORTHWIND, member="ann", roles=[KamRole.RELATIONSHIP_LEADER]),
        on(d(2025, 1, 10), "ann"),
    ),
    Step(
        AddTeamMember(account_id=NORTHWIND, member="sam", roles=[KamRole.TECHNICAL_EXPERT]),
        on(d(2025, 1, 10), "ann"),
    ),
    Step(AdvanceStage(account_id=NORTHWIND, to=Stage.RESEARCH), on(d(2025, 2, 1), "ann")),
    Step(
        RecordFinancials(
            account_id=NORTHWIND,
            period="2025",
            revenue=Decimal("1200000"),
            gross_margin=Decimal("0.31"),
            revenue_target=Decimal("1300000"),
            currency="EUR",
        ),
        on(d(2025, 12, 31), "ann"),
    ),
]

PEOPLE_AT_THE_CUSTOMER = [
    *identified(
        HEDDA,
        PersonalData(name="Hedda Larsen", email="hedda@northwind.example"),
        "COO",
        BuyingRole.DECISION_MAKER,
        influence=5,
        reports_to=None,
        owner="ann",
        meta=on(d(2025, 1, 20), "ann"),
    ),
    *identified(
        PRIYA,
        PersonalData(name="Priya Nair"),
        "Head of Operations",
        BuyingRole.CHAMPION,
        influence=4,
        reports_to=HEDDA,
        owner="sam",
        meta=on(d(2025, 1, 21), "ann"),
    ),
    Step(
        ChangeDisposition(stakeholder_id=PRIYA, disposition=Disposition.SUPPORTER),
        on(d(2025, 3, 1), "ann", "sponsors the rollout internally"),
    ),
    Step(
        LogInteraction(
            stakeholder_id=PRIYA,
            kind=InteractionKind.MEETING,
            on=d(2025, 3, 1),
            summary="Kick-off of the plant 3 rollout",
            sentiment=2,
        ),
        on(d(2025, 3, 1), "ann"),
    ),
]

ANNS_2025_PLAN = [
    *drafted(
        PLAN_2025,
        "Protect and expand",
        "Protect the core; pilot analytics in plant 3",
        ["renewal", "analytics pilot"],
        on(d(2025, 2, 3), "ann"),
    ),
    Step(
        SharePlan(plan_id=PLAN_2025, agreed=True, notes="Agreed with the COO"),
        on(d(2025, 2, 20), "ann"),
    ),
    added(
        PILOT,
        "Run the analytics pilot in plant 3",
        "ann",
        d(2025, 6, 30),
        on(d(2025, 2, 21), "ann"),
        people=(PRIYA,),
        measure="pilot signed off",
    ),
    Step(
        CompleteAction(plan_id=PLAN_2025, action_id=PILOT, outcome="Signed off"),
        on(d(2025, 6, 20), "ann"),
    ),
]

ANN_HANDS_OVER_TO_BEN = [
    Step(
        HandOver(account_id=NORTHWIND, to="ben", effective_on=d(2025, 9, 1)),
        on(d(2025, 8, 18), "dora", "Ann moves to the EMEA team"),
    ),
    Step(
        AcknowledgeHandover(account_id=NORTHWIND, notes="Met Hedda and Priya"),
        on(d(2025, 8, 25), "ben"),
    ),
    Step(AssignRelationshipOwner(stakeholder_id=HEDDA, owner="ben"), on(d(2025, 9, 2), "ben")),
    Step(AdvanceStage(account_id=NORTHWIND, to=Stage.ACTION_PLAN), on(d(2025, 10, 1), "ben")),
]

BENS_2026_PLAN = [
    *drafted(
        PLAN_2026,
        "Grow analytics",
        "Roll analytics out to all three plants",
        ["analytics rollout", "renewal 2027"],
        on(d(2026, 1, 12), "ben"),
    ),
    Step(
        SetObjective(
            plan_id=PLAN_2026,
            statement="Analytics live in all plants",
            metric="plants live",
            baseline=Decimal(1),
            target=Decimal(3),
            due_on=d(2026, 12, 31),
        ),
        on(d(2026, 1, 13), "ben"),
        creates=PLANTS_LIVE,
    ),
    Step(
        RecordProgress(
            plan_id=PLAN_2026, objective_id=PLANTS_LIVE, value=Decimal(2), note="Plant 1 live"
        ),
        on(d(2026, 5, 1), "ben"),
    ),
    Step(
        IdentifyOpportunity(
            plan_id=PLAN_2026,
            kind=OpportunityKind.EXPANSION,
            title="Analytics for plants 1 and 2",
            value=Decimal("250000"),
            probability=40,
        ),
        on(d(2026, 1, 20), "ben"),
        creates=ANALYTICS_DEAL,
    ),
    Step(
        AdvanceOpportunity(
            plan_id=PLAN_2026,
            opportunity_id=ANALYTICS_DEAL,
            probability=60,
            note="Budget approved",
        ),
        on(d(2026, 4, 2), "ben"),
    ),
    *(
        Step(
            AnswerResearchQuestion(plan_id=PLAN_2026, question_id=question, answer=answer),
            on(day, "ben"),
        )
        for question, answer, day in (
            ("our-team-01", "Ben leads; Sam covers integration", d(2026, 1, 14)),
            ("needs-01", "Less unplanned downtime in plant 2", d(2026, 1, 14)),
            ("competitors-01", "Contoso pitches a cheaper sensor bundle", d(2026, 2, 1)),
        )
    ),
    added(
        RENEWAL_PROPOSAL,
        "Renewal proposal for 2027",
        "ben",
        d(2026, 11, 30),
        on(d(2026, 2, 1), "ben"),
        people=(HEDDA,),
        measure="proposal accepted",
    ),
    added(
        ROLLOUT_PLAN,
        "Plant 2 analytics rollout plan",
        "ben",
        d(2027, 2, 28),
        on(d(2026, 3, 1), "ben"),
        objective=PLANTS_LIVE,
    ),
    Step(StartAction(plan_id=PLAN_2026, action_id=ROLLOUT_PLAN), on(d(2026, 3, 5), "ben")),
    added(
        FIRMWARE,
        "Sensor firmware upgrade",
        "sam",
        d(2027, 3, 31),
        on(d(2026, 3, 2), "ben"),
    ),
    Step(
        ReviewPlan(
            plan_id=PLAN_2026, notes="Rollout behind in plant 2", kpi_status=KpiStatus.AT_RISK
        ),
        on(d(2026, 6, 30), "ben"),
    ),
]

THE_CHAMPION_LEAVES = [
    # Her successor is identified first.
    *identified(
        TOM,
        PersonalData(name="Tom Berg"),
        "Head of Operations",
        BuyingRole.CHAMPION,
        influence=3,
        reports_to=HEDDA,
        owner="sam",
        meta=on(d(2026, 6, 15), "ben"),
    ),
    Step(
        RecordDeparture(stakeholder_id=PRIYA, left_on=d(2026, 6, 30), successor_id=TOM),
        on(d(2026, 7, 1), "ben"),
    ),
    Step(
        MakeCommitment(
            stakeholder_id=HEDDA,
            description="Send the plant 2 downtime analysis",
            due_on=d(2026, 12, 15),
        ),
        on(d(2026, 10, 20), "ben"),
        creates=DOWNTIME_ANALYSIS,
    ),
    Step(
        LogInteraction(
            stakeholder_id=HEDDA,
            kind=InteractionKind.QBR,
            on=d(2026, 10, 20),
            summary="QBR: renewal on the table, concerned about plant 2",
            sentiment=-1,
        ),
        on(d(2026, 10, 20), "ben"),
    ),
]

MONEY_VOICE_AND_RISKS = [
    Step(
        RecordFinancials(
            account_id=NORTHWIND,
            period="2026",
            revenue=Decimal("1350000"),
            gross_margin=Decimal("0.29"),
            revenue_target=Decimal("1500000"),
            currency="EUR",
        ),
        on(d(2026, 12, 31), "ben"),
    ),
    Step(
        RecordFeedback(account_id=NORTHWIND, nps=8, csat=4, respondent_id=PRIYA, comment=None),
        on(d(2025, 11, 15), "ben"),
    ),
    Step(
        RecordFeedback(
            account_id=NORTHWIND,
            nps=5,
            csat=3,
            respondent_id=HEDDA,
            comment="Plant 2 rollout is slow",
        ),
        on(d(2026, 11, 10), "ben"),
    ),
    Step(
        AssessRelationship(
            account_id=NORTHWIND,
            engagement=EngagementLevel.ENGAGED,
            trust=4,
            satisfaction=4,
            partner_rating=7,
            notes=None,
        ),
        on(d(2026, 3, 1), "ben"),
    ),
    Step(
        NoteCompetitor(
            account_id=NORTHWIND,
            name="Contoso",
            threat=ThreatLevel.MEDIUM,
            notes="Cheaper sensor bundle",
        ),
        on(d(2026, 2, 1), "ben"),
    ),
    Step(
        RaiseRisk(
            account_id=NORTHWIND,
            title="Renewal at risk over plant 2 delays",
            severity=ThreatLevel.HIGH,
            revenue_at_risk=Decimal("400000"),
        ),
        on(d(2026, 11, 12), "ben"),
        creates=RENEWAL_RISK,
    ),
]

# Not yet acknowledged by Cleo.
BEN_HANDS_OVER_TO_CLEO = [
    Step(
        HandOver(account_id=NORTHWIND, to="cleo", effective_on=d(2027, 1, 4)),
        on(d(2026, 12, 14), "dora", "Ben leaves the company"),
    ),
]

TWO_YEARS = [
    *ACCOUNT_SET_UP,
    *PEOPLE_AT_THE_CUSTOMER,
    *ANNS_2025_PLAN,
    *ANN_HANDS_OVER_TO_BEN,
    *BENS_2026_PLAN,
    *THE_CHAMPION_LEAVES,
    *MONEY_VOICE_AND_RISKS,
    *BEN_HANDS_OVER_TO_CLEO,
]


@dataclass(frozen=True)
class Scenario:
    """The ids the scenario's history was given, and the position of its last event."""

    account: UUID
    plan_2025: UUID
    plan_2026: UUID
    decision_maker: UUID
    champion: UUID
    successor: UUID
    ben_open_actions: list[UUID]
    ben_commitment: UUID
    last_position: int


def two_year_scenario(app: KamApplication) -> Scenario:
    runner = Runner(app)
    results = [runner.run(step) for step in TWO_YEARS]
    assert runner.outcomes == ["accepted"] * len(TWO_YEARS), runner.outcomes
    last = results[-1]
    assert last is not None
    ids = runner.ids
    return Scenario(
        account=ids[NORTHWIND],
        plan_2025=ids[PLAN_2025],
        plan_2026=ids[PLAN_2026],
        decision_maker=ids[HEDDA],
        champion=ids[PRIYA],
        successor=ids[TOM],
        ben_open_actions=[ids[RENEWAL_PROPOSAL], ids[ROLLOUT_PLAN]],
        ben_commitment=ids[DOWNTIME_ANALYSIS],
        last_position=last.position,
    )
