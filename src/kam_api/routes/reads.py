"""Read models: portfolio, summary, actions and relationship health."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from kam_api.csv_export import CSV_RESPONSES, Format, csv_response, wants_csv
from kam_api.deps import AppSettings, CurrentUser, MinPosition, Today, Views
from kam_api.errors import ApiError
from kam_api.schemas.reads import (
    ActionPage,
    ActionRollupPublic,
    ActionStatusPublic,
    HealthPage,
    PortfolioPage,
    PortfolioRowPublic,
    PortfolioSummaryPublic,
    RelationshipHealthPublic,
    StatusChangePublic,
    portfolio_page,
)
from kam_projections.actions import ActionFilter, action_history, action_rollup, list_actions
from kam_projections.cadence import with_contact_cadence
from kam_projections.health import account_health, health_list
from kam_projections.pagination import Page
from kam_projections.portfolio import PortfolioFilter, portfolio_rows, portfolio_summary

router = APIRouter(tags=["read models"])

HealthAsOf = Annotated[
    datetime | None,
    Query(
        description="A past day (ISO 8601; its date counts): the health as it was that day, "
        "from the facts that happened up to it; 404 before the account was registered"
    ),
]


Limit = Annotated[int, Query(ge=1, le=500)]
Band = Literal["green", "amber", "red"]
Quadrant = Literal["grow", "fix", "maintain", "reconsider", "unscored"]


@router.get("/portfolio", response_model=PortfolioPage, responses=CSV_RESPONSES)
def get_portfolio(
    request: Request,
    user: CurrentUser,
    settings: AppSettings,
    today: Today,
    views: Views,
    _wait: MinPosition,
    tier: Literal["strategic", "key", "emerging"] | None = None,
    manager: str | None = None,
    band: Band | None = None,
    quadrant: Quadrant | None = None,
    sort: Literal["revenue", "name", "health", "rank"] = "revenue",
    limit: Limit = 50,
    cursor: str | None = None,
    format: Format = None,
) -> PortfolioPage | Response:
    """Portfolio rows: revenue (in the reporting currency) and its concentration, gross margin,
    lifetime value, won cross-sell and upsell, NPS/CSAT, health, quadrant, actions, handovers.
    As CSV with ``Accept: text/csv`` or ``format=csv``."""
    where = PortfolioFilter(tier=tier, manager=manager, band=band, quadrant=quadrant)

    def fetch(after: str | None, size: int = limit) -> Page:
        return portfolio_rows(
            views, where, today=today, sort=sort, limit=size, cursor=after, clv=settings.clv
        )

    if wants_csv(request, format):
        return csv_response("portfolio", PortfolioRowPublic, fetch, cursor)
    return portfolio_page(fetch(cursor))


@router.get("/portfolio/summary", response_model=PortfolioSummaryPublic)
def get_portfolio_summary(
    user: CurrentUser, views: Views, settings: AppSettings, _wait: MinPosition
) -> PortfolioSummaryPublic:
    """Accounts per tier against the cap, top-20 % revenue (reporting currency), revenue that
    could not be converted, accounts per manager."""
    return PortfolioSummaryPublic.model_validate(
        portfolio_summary(views, settings.tier_caps, settings.reporting_currency)
    )


@router.get("/actions", response_model=ActionPage, responses=CSV_RESPONSES)
def get_actions(
    request: Request,
    user: CurrentUser,
    today: Today,
    views: Views,
    _wait: MinPosition,
    status: Literal["planned", "in_progress", "blocked", "completed", "cancelled"] | None = None,
    owner: str | None = None,
    account: UUID | None = None,
    plan: UUID | None = None,
    overdue: bool | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
    descending: bool = False,
    format: Format = None,
) -> ActionPage | Response:
    """Plan actions by due date with overdue flag, days late and the account's name. As CSV
    with ``Accept: text/csv`` or ``format=csv``."""
    where = ActionFilter(
        status=status, owner=owner, account_id=account, plan_id=plan, overdue=overdue
    )

    def fetch(after: str | None, size: int = limit) -> Page:
        return list_actions(
            views, where, today=today, limit=size, cursor=after, descending=descending
        )

    if wants_csv(request, format):
        return csv_response("actions", ActionStatusPublic, fetch, cursor)
    page = fetch(cursor)
    return ActionPage(
        items=[ActionStatusPublic.model_validate(r) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/actions/rollup", response_model=list[ActionRollupPublic])
def get_action_rollup(
    user: CurrentUser,
    today: Today,
    views: Views,
    _wait: MinPosition,
    by: Literal["account", "plan", "owner"] = "owner",
) -> list[ActionRollupPublic]:
    """Action counts per account, plan or owner: open, overdue, completed, cancelled."""
    return [
        ActionRollupPublic.model_validate({**r, "key": str(r["key"])})
        for r in action_rollup(views, by, today=today)
    ]


@router.get("/actions/{action_id}/history", response_model=list[StatusChangePublic])
def get_action_history(
    action_id: UUID, user: CurrentUser, views: Views, _wait: MinPosition
) -> list[StatusChangePublic]:
    """Every status change of one action, in order."""
    history = action_history(views, action_id)
    if not history:
        raise ApiError(404, "not-found", "Not found", f"no action {action_id}")
    return [StatusChangePublic.model_validate(h) for h in history]


@router.get("/relationship-health", response_model=HealthPage)
def get_relationship_health(
    user: CurrentUser,
    views: Views,
    _wait: MinPosition,
    today: Today,
    band: Band | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> HealthPage:
    """Relationship health of every account, weakest first, with the key people overdue for
    contact today."""
    page = health_list(views, band=band, limit=limit, cursor=cursor)
    with_contact_cadence(views, page.items, today)
    return HealthPage(
        items=[RelationshipHealthPublic.model_validate(r) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/accounts/{account_id}/health", response_model=RelationshipHealthPublic)
def get_account_health(
    account_id: UUID,
    user: CurrentUser,
    clock: Today,
    views: Views,
    settings: AppSettings,
    _wait: MinPosition,
    as_of: HealthAsOf = None,
) -> RelationshipHealthPublic:
    """One account's health today (or as of a past day): components, flags, 12-month trend.

    As of day D it is computed from what happened up to D, with D as "today": the facts dated
    up to D by the fact-date rule (an interaction's `on`, a departure's `left_on`, else the
    command's `occurred_on`, else when it was recorded). There is no health before the
    account's registration day (404), and the trend has no point before it."""
    today = as_of.date() if as_of is not None else clock
    health = account_health(views, account_id, today=today, weights=settings.health_weights)
    if health is None:
        when = f" on {today.isoformat()}" if as_of is not None else ""
        raise ApiError(404, "not-found", "Not found", f"no account {account_id}{when}")
    return RelationshipHealthPublic.model_validate(health)
