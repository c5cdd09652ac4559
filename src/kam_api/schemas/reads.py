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


class UnconvertedWinPublic(BaseModel):
    kind: str = Field(description="cross_sell | upsell")
    amount: float
    currency: str | None = Field(description="null: no figures recorded when it was won")


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
    last_period: str | None = Field(
        description="The latest period by time (YYYY, YYYY-Qn or YYYY-MM; an older label that "
        "names one period, e.g. Q4/2026, is shown as 2026-Q4)"
    )
    period_end: str | None = Field(description="The last day of last_period")
    last_revenue: float | None = Field(description="The last period's revenue, in `currency`")
    currency: str | None = Field(description="ISO 4217 currency of the last period's figures")
    revenue: float | None = Field(
        description="The last period's revenue in the reporting currency, converted with the "
        "latest rate effective on or before period_end; null when there is no such rate"
    )
    revenue_converted: bool = Field(
        description="false: last_revenue has no usable rate, so it is left out of every total, "
        "share and rank (see unconverted_revenue in the summary)"
    )
    unordered_periods: list[str] = Field(
        description="Stored period labels that name no one calendar period (e.g. FY2025): "
        "kept, but not ordered by time, so never the last period"
    )
    gross_margin: float | None = Field(
        description="The last period's gross margin, a fraction (0.31 = 31 %)"
    )
    gross_margin_amount: float | None = Field(
        description="revenue x gross_margin, in the reporting currency"
    )
    lifetime_value: float | None = Field(
        description="Customer lifetime value in the reporting currency: annual gross margin x "
        "r / (1 + d - r), where the annual gross margin is gross_margin_amount x 12 / the "
        "last period's months, r the yearly retention rate (KAM_CLV_RETENTION, default 0.85) "
        "and d the yearly discount rate (KAM_CLV_DISCOUNT_RATE, default 0.10): the discounted "
        "margin of the years the account is expected to stay (Gupta & Lehmann). Null without "
        "a converted revenue and a gross margin"
    )
    cross_sell_won: float = Field(
        description="Value of won cross-sell opportunities, in the reporting currency (an "
        "opportunity's value is in the account's currency when it was won, converted at the "
        "win's day)"
    )
    upsell_won: float = Field(
        description="Value of won upsell opportunities, in the reporting currency"
    )
    unconverted_won: list[UnconvertedWinPublic] = Field(
        description="Won cross-sell and upsell with no usable rate (or no known currency): "
        "not in cross_sell_won or upsell_won"
    )
    nps: int | None = Field(description="The latest NPS response (0-10)")
    nps_on: str | None
    csat: int | None = Field(description="The latest CSAT response (1-5)")
    csat_on: str | None
    revenue_share: float | None = Field(
        description="Share of the portfolio's converted revenue; null for accounts without "
        "converted revenue above zero"
    )
    cumulative_share: float | None = Field(description="Running share in Pareto order")
    pareto_rank: int | None = Field(
        description="Rank by converted revenue among accounts with revenue above zero"
    )
    top20: bool = Field(
        description="In the top 20 % (rounded up) of the accounts with converted revenue above zero"
    )
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
    revenue_at_risk: float = Field(
        description="Open risks' revenue at risk, as recorded (in the account's currency)"
    )
    revenue_at_risk_converted: float | None = Field(
        description="The same in the reporting currency, each risk converted at the day it was "
        "raised (its amount is in the account's currency then); null when one has no usable "
        "rate (or was raised before any figures): it is then left out of the summary's total"
    )
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


class UnconvertedRevenuePublic(BaseModel):
    currency: str
    amount: float
    accounts: int


class ExchangeRatePublic(BaseModel):
    """A recorded exchange rate: one unit of currency is worth rate units of to_currency."""

    currency: str
    to_currency: str
    reporting: bool = Field(description="to_currency is the reporting currency")
    effective_on: str
    rate: str = Field(description="A decimal number, as recorded")
    recorded_by: str
    recorded_at: str
    position: int = Field(description="The event's position in the log")


class PortfolioSummaryPublic(BaseModel):
    """Accounts per tier against the cap, revenue concentration, managers' load."""

    accounts: int
    tiers: list[TierCountPublic]
    unclassified: int
    reporting_currency: str
    total_revenue: float = Field(description="Converted revenue, in the reporting currency")
    unconverted_revenue: list[UnconvertedRevenuePublic] = Field(
        description="Revenue with no usable rate, per currency: not in any total or share"
    )
    accounts_with_unordered_periods: int
    top20_revenue: float
    top20_revenue_share: float
    revenue_at_risk: float = Field(
        description="Converted revenue at risk (reporting currency) of the accounts whose every "
        "open risk converts"
    )
    accounts_with_unconverted_risk: int
    pending_handovers: int
    accounts_per_manager: list[ManagerLoadPublic]
    currencies: list[str]


class ActionStatusPublic(BaseModel):
    """One plan action with its status and lateness as of today."""

    action_id: UUID
    plan_id: UUID
    account_id: UUID
    account_name: str | None = Field(
        description="The account's name (null only while the read models catch up with it)"
    )
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
