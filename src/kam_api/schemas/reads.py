"""Read-model responses: portfolio rows and summary, action status, relationship health."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from kam_projections.handover.model import (
    ContactOverduePublic,
    HealthComponentPublic,
    RelationshipHealthPublic,
    TrendPointPublic,
)
from kam_projections.pagination import Page


class PortfolioRowPublic(BaseModel):
    """One key account as the portfolio shows it."""

    account_id: UUID
    name: str
    industry: str
    region: str
    service_profile: str
    tier: str | None
    kind: str | None
    manager: str | None
    stage: str
    attractiveness: int | None
    last_period: str | None
    last_revenue: float | None
    currency: str | None
    revenue_share: float | None = Field(description="Share of the portfolio's revenue")
    cumulative_share: float | None = Field(description="Running share in Pareto order")
    pareto_rank: int | None
    top20: bool = Field(description="In the top 20 % of accounts by revenue")
    health_score: int | None
    health_band: str | None
    quadrant: str = Field(description="grow | fix | maintain | reconsider | unscored")
    open_actions: int
    overdue_actions: int
    last_interaction_on: str | None
    next_review_due: str
    review_overdue: bool
    pending_handover: bool
    pending_handover_from: str | None
    pending_handover_to: str | None
    revenue_at_risk: float
    exited: bool
    last_reevaluation_decision: str | None = Field(
        description="The latest re-evaluation's decision: retain | downgrade | exit"
    )
    last_reevaluation_on: str | None
    reevaluation_due_on: str = Field(
        description="The service profile's re-evaluation cadence (premium 90, standard 180, "
        "light 365 days) after the latest re-evaluation, or the registration"
    )
    reevaluation_overdue: bool
    exit_decided: bool = Field(
        description="The latest re-evaluation decided the exit, which has not happened yet"
    )
    contact_cadence_days: int = Field(
        description="How often each key person should be contacted: premium 30, standard 60, "
        "light 90 days"
    )
    contact_overdue: bool = Field(description="Any key person is overdue for contact")
    contact_overdue_count: int
    contacts_overdue: list[ContactOverduePublic] = Field(
        description="Key people (decision maker, economic buyer, champion) still at the customer "
        "not contacted within the cadence; never contacted first, then most overdue first"
    )


class PortfolioPage(BaseModel):
    items: list[PortfolioRowPublic]
    next_cursor: str | None = None


def portfolio_page(page: Page) -> PortfolioPage:
    return PortfolioPage(
        items=[PortfolioRowPublic.model_validate(r) for r in page.items],
        next_cursor=page.next_cursor,
    )


class TierCountPublic(BaseModel):
    tier: str
    accounts: int
    cap: int


class ManagerLoadPublic(BaseModel):
    manager: str | None
    accounts: int


class PortfolioSummaryPublic(BaseModel):
    """Accounts per tier against the cap, revenue concentration, managers' load."""

    accounts: int
    tiers: list[TierCountPublic]
    unclassified: int
    total_revenue: float
    top20_revenue: float
    top20_revenue_share: float
    revenue_at_risk: float
    pending_handovers: int
    accounts_per_manager: list[ManagerLoadPublic]
    currencies: list[str]


class ActionStatusPublic(BaseModel):
    """One plan action with its status and lateness as of today."""

    action_id: UUID
    plan_id: UUID
    account_id: UUID
    objective_id: UUID | None
    what: str
    owner: str
    due_on: str
    status: str
    overdue: bool
    days_late: int
    added_at: str
    updated_at: str
    completed_at: str | None


class ActionPage(BaseModel):
    items: list[ActionStatusPublic]
    next_cursor: str | None = None


class StatusChangePublic(BaseModel):
    position: int
    status: str
    at: str
    actor: str
    note: str | None


class ActionRollupPublic(BaseModel):
    key: str
    total: int
    open: int
    overdue: int
    completed: int
    cancelled: int


class HealthPage(BaseModel):
    items: list[RelationshipHealthPublic]
    next_cursor: str | None = None


__all__ = [
    "ActionPage",
    "ActionRollupPublic",
    "ActionStatusPublic",
    "ContactOverduePublic",
    "HealthComponentPublic",
    "HealthPage",
    "ManagerLoadPublic",
    "PortfolioPage",
    "PortfolioRowPublic",
    "PortfolioSummaryPublic",
    "RelationshipHealthPublic",
    "StatusChangePublic",
    "TierCountPublic",
    "TrendPointPublic",
    "portfolio_page",
]
