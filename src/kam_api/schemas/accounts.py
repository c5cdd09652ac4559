"""A key account's current state, as the API answers it (the commands are in
``kam_domain.commands``; their request bodies are derived in ``schemas.commands``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kam_domain.values import (
    AccountKind,
    EngagementLevel,
    KamRole,
    ReevaluationDecision,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)

# --- State ------------------------------------------------------------------------------


class _State(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CriteriaPublic(_State):
    current_revenue: int
    growth_potential: int
    renewal_likelihood: int
    win_now_grow_later: int
    relative_effort: int
    relationship_strength: int
    fit: int
    logo_attractiveness: int


class FocusPublic(_State):
    penetration: int
    expansion: int
    protection: int


class PendingHandoverPublic(_State):
    from_manager: str
    to_manager: str
    effective_on: date
    reason: str | None


class TenurePublic(_State):
    manager: str
    since: date = Field(
        description="The handover's `effective_on`; for an assignment its `occurred_on`, else "
        "the day it was recorded"
    )
    reason: str | None


class FinancialsPublic(_State):
    period: str
    revenue: Decimal
    gross_margin: Decimal | None
    revenue_target: Decimal | None
    currency: str


class FeedbackPublic(_State):
    feedback_id: UUID
    nps: int | None
    csat: int | None
    respondent_id: UUID | None
    comment: str | None
    occurred_on: datetime = Field(
        description="When it happened: the command's `occurred_on`, else when recorded"
    )


class AssessmentPublic(_State):
    engagement: EngagementLevel
    trust: int
    satisfaction: int
    partner_rating: int
    notes: str | None
    assessed_by: str
    occurred_on: datetime = Field(
        description="When it happened: the command's `occurred_on`, else when recorded"
    )


class CompetitorPublic(_State):
    name: str
    threat: ThreatLevel
    notes: str | None


class RiskPublic(_State):
    risk_id: UUID
    title: str
    severity: ThreatLevel
    revenue_at_risk: Decimal | None
    mitigation: str | None


class ReevaluationPublic(_State):
    decision: ReevaluationDecision
    rationale: str
    decided_by: str
    occurred_on: datetime = Field(
        description="When it happened: the command's `occurred_on`, else when recorded"
    )


class AccountKpisPublic(BaseModel):
    """The account's money and voice KPIs now, from the portfolio read model (GET /portfolio's
    fields of the same names)."""

    reporting_currency: str
    last_period: str | None
    revenue: float | None
    revenue_converted: bool
    gross_margin_amount: float | None
    lifetime_value: float | None = Field(
        description="annual gross margin x r / (1 + d - r), in the reporting currency "
        "(see GET /portfolio)"
    )
    cross_sell_won: float
    upsell_won: float
    unconverted_won: list[dict[str, object]]
    nps: int | None
    csat: int | None


class AccountPublic(_State):
    """A key account as it stands now (``ETag`` header: its version)."""

    id: UUID
    version: int
    name: str
    industry: str
    region: str
    service_profile: ServiceProfile
    tier: Tier | None
    kind: AccountKind | None
    tier_rationale: str | None
    criteria: CriteriaPublic | None
    attractiveness: int | None
    manager: str | None
    pending_handover: PendingHandoverPublic | None
    manager_history: list[TenurePublic]
    team: dict[str, list[KamRole]] = Field(description="Each team member's KAM roles")
    uncovered_roles: list[KamRole] = Field(
        description="The KAM roles (of the six) nobody on the team holds"
    )
    focus: FocusPublic | None
    stage: Stage
    financials: dict[str, FinancialsPublic]
    latest_feedback: FeedbackPublic | None
    feedback_count: int
    latest_assessment: AssessmentPublic | None
    assessment_count: int
    competitors: list[CompetitorPublic]
    risks: list[RiskPublic]
    last_reevaluation: ReevaluationPublic | None
    reevaluation_due_on: date = Field(
        description="When the next re-evaluation falls due: the service profile's cadence "
        "(premium 90, standard 180, light 365 days) after the latest one, or the registration"
    )
    reevaluation_overdue: bool | None = Field(
        default=None,
        description="The due day has passed (as of today, or of as_of's day; never once "
        "exited); null in change diffs, which do not depend on the day they are read",
    )
    exit_decided: bool = Field(
        description="The latest re-evaluation decided the exit, which has not happened yet"
    )
    exited: bool
    created_on: datetime
    modified_on: datetime
