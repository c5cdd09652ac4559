"""The handover report's content (DESIGN §4): nine sections, every fact with the log positions
of the events it comes from (``sources``), so a reader can open each one in the account's history.

These are the report's JSON shape as well: the API answers them as they are, so a class name
here is also a schema name in the OpenAPI document (hence ``RelationshipHealthPublic``, which
``/relationship-health`` answers too).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field

Sources = Annotated[
    list[int],
    Field(default_factory=list, description="Log positions of the events this fact comes from"),
]


class FinancialPoint(BaseModel):
    period: str
    revenue: float
    gross_margin: float | None
    revenue_target: float | None
    currency: str
    sources: Sources


class KpiStatusPoint(BaseModel):
    plan_period: str
    kpi_status: str
    reviewed_on: date
    reviewed_by: str
    sources: Sources


class AccountSnapshot(BaseModel):
    """1. What the account is: tier, kind, stage, money, share of the portfolio, criteria."""

    name: str
    industry: str | None
    region: str | None
    service_profile: str | None
    tier: str | None
    kind: str | None
    tier_rationale: str | None
    tier_sources: Sources
    stage: str
    stage_sources: Sources
    attractiveness: int | None
    criteria: dict[str, int] | None
    criteria_sources: Sources
    financials: list[FinancialPoint] = Field(description="Every recorded period, oldest first")
    revenue_share: float | None = Field(description="Share of the portfolio's last-period revenue")
    pareto_rank: int | None
    top20: bool
    kpis: list[KpiStatusPoint] = Field(description="Latest KPI status of each plan")
    exited: bool


class Tenure(BaseModel):
    """2. One manager's stint: from when, to when, and why it started."""

    manager: str
    since: date
    until: date | None
    reason: str | None
    how: str = Field(description="assigned | handed over")
    acknowledged: bool | None = Field(
        description="For a handover: has the new manager confirmed it"
    )
    sources: Sources


class TeamMemberEntry(BaseModel):
    """One person on our side of the account, with their KAM roles."""

    member: str
    roles: list[str] = Field(description="Their KAM roles (values of KamRole)")
    sources: Sources


class TeamSection(BaseModel):
    """2b. The account team, and which of the six KAM roles nobody on it holds."""

    members: list[TeamMemberEntry]
    uncovered_roles: list[str] = Field(description="KAM roles nobody on the team holds")


class StakeholderEntry(BaseModel):
    """3. One person at the customer and our relationship with them."""

    stakeholder_id: UUID
    name: str | None = Field(description="None once their personal data has been erased")
    title: str | None
    buying_role: str
    influence: int
    disposition: str
    relationship_owner: str | None
    last_contact_on: date | None
    interactions: int
    left_on: date | None
    successor_id: UUID | None
    successor_name: str | None
    reassign: bool = Field(
        False, description="The outgoing manager owns this relationship: give it a new owner"
    )
    sources: Sources


# 4. Relationship health: the health read model's answer, as /accounts/{id}/health gives it.


class HealthComponentPublic(BaseModel):
    name: str
    value: int
    weight: int
    explanation: str


class TrendPointPublic(BaseModel):
    on: str
    score: int
    band: str


class ContactOverduePublic(BaseModel):
    """A key person not contacted within the account's contact cadence."""

    stakeholder_id: UUID
    buying_role: str = Field(description="decision_maker | economic_buyer | champion")
    last_contact_on: str | None = Field(description="Null: never contacted")
    days_overdue: int | None = Field(description="Days past the cadence; null if never contacted")


class RelationshipHealthPublic(BaseModel):
    """Explainable relationship health: score, band, weighted components and flags; and the
    key people overdue for contact under the service profile's cadence (as of today, or of
    ``as_of`` for one account's health)."""

    account_id: UUID
    as_of: str
    score: int
    band: str
    components: list[HealthComponentPublic]
    flags: list[str]
    trend: list[TrendPointPublic] = Field(default_factory=list)
    contact_cadence_days: int | None = Field(
        default=None,
        description="How often each key person should be contacted: premium 30, standard 60, "
        "light 90 days",
    )
    contact_overdue: bool = Field(default=False, description="Any key person is overdue")
    contact_overdue_count: int = 0
    contacts_overdue: list[ContactOverduePublic] = Field(
        default_factory=list, description="Never contacted first, then most overdue first"
    )


class ObjectiveEntry(BaseModel):
    plan_period: str
    objective_id: UUID
    statement: str
    metric: str
    baseline: float
    target: float
    latest_value: float
    progress_pct: int | None = Field(description="How far from baseline to target, in %")
    due_on: date
    status: str = Field(
        description="open, or achieved / missed once an ObjectiveAchieved / ObjectiveMissed "
        "event says so (never from progress alone)"
    )
    sources: Sources


class OpportunityEntry(BaseModel):
    plan_period: str
    opportunity_id: UUID
    kind: str
    title: str
    value: float
    probability: int
    status: str
    sources: Sources


SharedStatus = Literal["not_shared", "shared_not_agreed", "agreed"]


class PlanSection(BaseModel):
    """5. The plans' objectives with progress, and the opportunity pipeline."""

    plans: list[str] = Field(description="Plan periods, newest first")
    direction: str | None
    shared_status: SharedStatus | None = Field(
        description="The current plan's latest sharing with the customer (None: no plan)"
    )
    shared_sources: Sources
    objectives: list[ObjectiveEntry]
    opportunities: list[OpportunityEntry]
    open_pipeline_value: float
    weighted_pipeline_value: float


class OpenAction(BaseModel):
    plan_period: str
    plan_id: UUID
    action_id: UUID
    what: str
    owner: str
    due_on: date
    status: str
    overdue: bool
    days_late: int
    reassign: bool = Field(description="Owned by the outgoing manager: give it a new owner")
    sources: Sources


class OpenCommitment(BaseModel):
    stakeholder_id: UUID
    stakeholder: str | None
    commitment_id: UUID
    description: str
    due_on: date | None
    overdue: bool
    relationship_owner: str | None
    reassign: bool = Field(description="The outgoing manager owns this relationship")
    sources: Sources


class OpenWork(BaseModel):
    """6. Open actions and commitments; the outgoing manager's are marked for reassignment."""

    actions: list[OpenAction]
    commitments: list[OpenCommitment]


class LoggedEvent(BaseModel):
    """One event from the account's history, as the timeline summarises it."""

    position: int
    type: str
    actor: str
    occurred_at: datetime
    summary: str


class RecentSection(BaseModel):
    """7. Recent interactions and key decisions."""

    interactions: list[LoggedEvent]
    decisions: list[LoggedEvent]


class RiskEntry(BaseModel):
    risk_id: UUID
    title: str
    severity: str
    revenue_at_risk: float | None
    mitigation: str | None
    sources: Sources


class CompetitorEntry(BaseModel):
    name: str
    threat: str
    notes: str | None
    sources: Sources


class RisksSection(BaseModel):
    """8. Risks, competitors and the customer's feedback over time."""

    risks: list[RiskEntry]
    competitors: list[CompetitorEntry]
    feedback: list[LoggedEvent] = Field(description="Customer feedback, newest first")
    latest_assessment: str | None
    assessment_sources: Sources


class Gap(BaseModel):
    """9. Something the history does not answer, to confirm with the team or the customer."""

    code: str
    text: str
    sources: Sources


class HandoverFacts(BaseModel):
    """The latest handover: when it takes effect, why, and whether it was acknowledged."""

    from_manager: str
    to_manager: str
    effective_on: date | None
    reason: str | None
    handed_over_by: str | None
    handed_over_at: datetime | None
    acknowledged_by: str | None = Field(description="None while it is pending")
    acknowledged_at: datetime | None
    sources: Sources


class PersonToMeet(BaseModel):
    """A key person at the customer to meet in the first week, and why."""

    stakeholder_id: UUID
    name: str | None
    buying_role: str
    disposition: str
    last_contact_on: date | None
    why: str
    sources: Sources


class FirstWeek(BaseModel):
    """What to do first, drawn from the report's own sections: the people to meet, overdue
    work (oldest first), and the most important gaps."""

    meet: list[PersonToMeet]
    overdue_actions: list[OpenAction]
    overdue_commitments: list[OpenCommitment]
    relationships_to_reassign: int
    gaps: list[Gap]


class SourceEvent(BaseModel):
    """An event a fact comes from, as the timeline read model knows it."""

    type: str = Field(description="The event's class name, e.g. InteractionLogged")
    occurred_at: datetime


class LedgerStatus(BaseModel):
    """How far the event log verified (every event re-hashed against its chain entry) when the
    report was made."""

    verified_to: int = Field(description="The log verified up to this position (0: empty)")
    entries: int = Field(description="Chain entries verified")
    problem: str | None = Field(
        None, description="The first position that does not verify, and why (None: none)"
    )


class HandoverReport(BaseModel):
    """Everything the company knows about a key account, for the manager taking it over."""

    account_id: UUID
    generated_at: datetime
    today: date = Field(description="The day lateness, recency and health are measured against")
    position: int = Field(description="The history is complete up to this log position")
    event_count: int = Field(description="Events in the account's history")
    manager: str | None = Field(description="Who manages the account now")
    outgoing_manager: str | None = Field(description="Who is handing the account over")
    incoming_manager: str | None = Field(description="Who is taking it over")
    handover: HandoverFacts | None = Field(description="The latest handover (None: never)")
    first_week: FirstWeek
    snapshot: AccountSnapshot
    ownership: list[Tenure]
    team: TeamSection
    stakeholders: list[StakeholderEntry]
    health: RelationshipHealthPublic | None
    plan: PlanSection
    open_work: OpenWork
    recent: RecentSection
    risks: RisksSection
    gaps: list[Gap]
    ledger: LedgerStatus | None = Field(
        None, description="How far the ledger verified (None: not checked for this report)"
    )
    source_events: dict[int, SourceEvent] = Field(
        default_factory=dict, description="Every log position the report cites: its event"
    )
