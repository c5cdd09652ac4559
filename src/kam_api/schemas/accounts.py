"""Key-account commands and the account's current state."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kam_api.schemas.common import Command
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

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Person = Annotated[str, Field(min_length=1, max_length=64, description="A user name")]
Score5 = Annotated[int, Field(ge=1, le=5)]


class RegisterAccount(Command):
    """Registers a key account; its name must be unique (case-insensitively)."""

    name: Name
    industry: Name
    region: Name
    service_profile: ServiceProfile = ServiceProfile.STANDARD

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Acme Industrial",
                    "industry": "Manufacturing",
                    "region": "EMEA",
                    "service_profile": "premium",
                }
            ]
        }
    )


class ClassifyAccount(Command):
    """Sets tier and kind; beyond the tier's cap a ``reason`` (the override) is required."""

    tier: Tier
    kind: AccountKind
    rationale: Text

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tier": "strategic",
                    "kind": "existing",
                    "rationale": "Largest customer, renewal due",
                }
            ]
        }
    )


class ScoreCriteria(Command):
    """Scores the eight selection criteria 1 (poor) to 5 (excellent)."""

    current_revenue: Score5
    growth_potential: Score5
    renewal_likelihood: Score5
    win_now_grow_later: Score5
    relative_effort: Score5
    relationship_strength: Score5
    fit: Score5
    logo_attractiveness: Score5


class AssignManager(Command):
    """Assigns the key account manager; replacing one needs a ``reason``."""

    manager: Person


class HandOver(Command):
    """Hands the account to a new manager (``reason`` required); the team stays."""

    to: Person
    effective_on: date

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"to": "eve", "effective_on": "2027-01-01", "reason": "Ann moves to the EMEA team"}
            ]
        }
    )


class AcknowledgeHandover(Command):
    """The incoming manager acknowledges the handover."""

    notes: Annotated[str | None, Field(max_length=2000)] = None


class AddTeamMember(Command):
    """Adds a person to the account team with one or more of the six KAM roles."""

    member: Person
    roles: Annotated[list[KamRole], Field(min_length=1, max_length=6)]


class SetFocus(Command):
    """Splits effort between penetration, expansion and protection (whole percent, sum 100)."""

    penetration: Annotated[int, Field(ge=0, le=100)]
    expansion: Annotated[int, Field(ge=0, le=100)]
    protection: Annotated[int, Field(ge=0, le=100)]


class AdvanceStage(Command):
    """Moves the account to the next stage of the KAM cycle."""

    to: Stage


class RecordFinancials(Command):
    """Records one period's revenue, gross margin (a fraction, 0.31 = 31 %) and target."""

    period: Annotated[str, Field(min_length=1, max_length=20)]
    revenue: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
    gross_margin: Annotated[Decimal | None, Field(ge=-10, le=10, max_digits=8)] = None
    revenue_target: Annotated[Decimal | None, Field(ge=0, max_digits=18, decimal_places=2)] = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class RecordFeedback(Command):
    """Records an NPS (0-10) and/or CSAT (1-5) response."""

    nps: Annotated[int | None, Field(ge=0, le=10)] = None
    csat: Annotated[int | None, Field(ge=1, le=5)] = None
    respondent_id: UUID | None = None
    comment: Annotated[str | None, Field(max_length=2000)] = None


class AssessRelationship(Command):
    """Records a formal relationship assessment (x-ray)."""

    engagement: EngagementLevel
    trust: Score5
    satisfaction: Score5
    partner_rating: Annotated[int, Field(ge=0, le=10)]
    notes: Annotated[str | None, Field(max_length=2000)] = None


class NoteCompetitor(Command):
    """Notes a competitor active at the account and its threat level."""

    name: Name
    threat: ThreatLevel
    notes: Annotated[str | None, Field(max_length=2000)] = None


class RaiseRisk(Command):
    """Raises a risk to the account, with the revenue it puts at risk if known."""

    title: Name
    severity: ThreatLevel
    revenue_at_risk: Annotated[Decimal | None, Field(ge=0, max_digits=18, decimal_places=2)] = None


class MitigateRisk(Command):
    """Marks a risk as mitigated."""

    mitigation: Text


class ReevaluateAccount(Command):
    """Records whether the account stays on the key list."""

    decision: ReevaluationDecision
    rationale: Text


class ExitAccount(Command):
    """Takes the account off the key list (``reason`` required); its history stays."""


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
    since: date | None
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
    occurred_on: datetime | None


class AssessmentPublic(_State):
    engagement: EngagementLevel
    trust: int
    satisfaction: int
    partner_rating: int
    notes: str | None
    assessed_by: str
    occurred_on: datetime | None


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
    occurred_on: datetime | None


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
    team: dict[str, list[KamRole]]
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
    exited: bool
    created_on: datetime
    modified_on: datetime
