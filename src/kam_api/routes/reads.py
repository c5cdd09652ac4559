"""Read models: portfolio, summary, actions and relationship health.

Every answer here carries an ``ETag`` naming where the read models stood and ``Cache-Control:
private, no-cache``; ``If-None-Match`` with the current tag answers 304 before any query of
the read itself (``kam_api.conditional``). Answers are serialised once, by the route."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from kam_api.conditional import Fresh, conditional_responses
from kam_api.csv_export import CSV_RESPONSES, Format, csv_response, wants_csv
from kam_api.deps import AppSettings, CurrentUser, MinPosition, Views
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
from kam_projections.health_reads import account_health, health_list
from kam_projections.pagination import Page
from kam_projections.portfolio_reads import PortfolioFilter, portfolio_rows, portfolio_summary

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


@router.get(
    "/portfolio", response_model=PortfolioPage, responses=conditional_responses(CSV_RESPONSES)
)
def get_portfolio(
    request: Request,
    user: CurrentUser,
    settings: AppSettings,
    views: Views,
    _wait: MinPosition,
    fresh: Fresh,
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
    As CSV with ``Accept: text/csv`` or ``format=csv``. Conditional (ETag, If-None-Match:
    304). Kept serialised while the read models stand still (``KAM_ANSWER_CACHE_SIZE``)."""
    where = PortfolioFilter(tier=tier, manager=manager, band=band, quadrant=quadrant)
    if fresh.asked and (unchanged := fresh.not_modified()) is not None:
        return unchanged
    clv = settings.clv

    def fetch(after: str | None, size: int = limit) -> Page:
        return portfolio_rows(
            views,
            where,
            today=fresh.today,
            sort=sort,
            limit=size,
            cursor=after,
            clv=clv,
        )

    if wants_csv(request, format):
        return fresh.tagged(lambda: csv_response("portfolio", PortfolioRowPublic, fetch, cursor))
    return fresh.kept(user.role.value, lambda: portfolio_page(fetch(cursor)))


@router.get(
    "/portfolio/summary", response_model=PortfolioSummaryPublic, responses=conditional_responses()
)
def get_portfolio_summary(
    user: CurrentUser, views: Views, settings: AppSettings, _wait: MinPosition, fresh: Fresh
) -> PortfolioSummaryPublic | Response:
    """Accounts per tier against the cap, top-20 % revenue (reporting currency), revenue that
    could not be converted, accounts per manager. Conditional (ETag, If-None-Match: 304)."""
    if (unchanged := fresh.not_modified()) is not None:
        return unchanged
    return fresh.kept(
        user.role.value,
        lambda: PortfolioSummaryPublic.model_validate(
            portfolio_summary(views, settings.tier_caps, settings.reporting_currency)
        ),
    )


@router.get("/actions", response_model=ActionPage, responses=conditional_responses(CSV_RESPONSES))
def get_actions(
    request: Request,
    user: CurrentUser,
    views: Views,
    _wait: MinPosition,
    fresh: Fresh,
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
    with ``Accept: text/csv`` or ``format=csv``. Conditional (ETag, If-None-Match: 304)."""
    where = ActionFilter(
        status=status, owner=owner, account_id=account, plan_id=plan, overdue=overdue
    )
    if (unchanged := fresh.not_modified()) is not None:
        return unchanged

    def fetch(after: str | None, size: int = limit) -> Page:
        return list_actions(
            views, where, today=fresh.today, limit=size, cursor=after, descending=descending
        )

    if wants_csv(request, format):
        return fresh.tagged(lambda: csv_response("actions", ActionStatusPublic, fetch, cursor))
    page = fetch(cursor)
    return fresh.json(
        ActionPage(
            items=[ActionStatusPublic.model_validate(r) for r in page.items],
            next_cursor=page.next_cursor,
        )
    )


@router.get(
    "/actions/rollup", response_model=list[ActionRollupPublic], responses=conditional_responses()
)
def get_action_rollup(
    user: CurrentUser,
    views: Views,
    _wait: MinPosition,
    fresh: Fresh,
    by: Literal["account", "plan", "owner"] = "owner",
) -> list[ActionRollupPublic] | Response:
    """Action counts per account, plan or owner: open, overdue, completed, cancelled.
    Conditional (ETag, If-None-Match: 304)."""
    if (unchanged := fresh.not_modified()) is not None:
        return unchanged
    return fresh.json(
        [
            ActionRollupPublic.model_validate({**r, "key": str(r["key"])})
            for r in action_rollup(views, by, today=fresh.today)
        ]
    )


@router.get(
    "/actions/{action_id}/history",
    response_model=list[StatusChangePublic],
    responses=conditional_responses(),
)
def get_action_history(
    action_id: UUID, user: CurrentUser, views: Views, _wait: MinPosition, fresh: Fresh
) -> list[StatusChangePublic] | Response:
    """Every status change of one action, in order. Conditional (ETag, If-None-Match: 304)."""
    if (unchanged := fresh.not_modified()) is not None:
        return unchanged
    history = action_history(views, action_id)
    if not history:
        raise ApiError(404, "not-found", "Not found", f"no action {action_id}")
    return fresh.json([StatusChangePublic.model_validate(h) for h in history])


@router.get("/relationship-health", response_model=HealthPage, responses=conditional_responses())
def get_relationship_health(
    user: CurrentUser,
    views: Views,
    _wait: MinPosition,
    fresh: Fresh,
    band: Band | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> HealthPage | Response:
    """Relationship health of every account, weakest first, with the key people overdue for
    contact today. Conditional (ETag, If-None-Match: 304)."""
    if (unchanged := fresh.not_modified()) is not None:
        return unchanged
    page = health_list(views, band=band, limit=limit, cursor=cursor)
    with_contact_cadence(views, page.items, fresh.today)
    return fresh.json(
        HealthPage(
            items=[RelationshipHealthPublic.model_validate(r) for r in page.items],
            next_cursor=page.next_cursor,
        )
    )


@router.get(
    "/accounts/{account_id}/health",
    response_model=RelationshipHealthPublic,
    responses=conditional_responses(),
)
def get_account_health(
    account_id: UUID,
    user: CurrentUser,
    views: Views,
    settings: AppSettings,
    _wait: MinPosition,
    fresh: Fresh,
    as_of: HealthAsOf = None,
) -> RelationshipHealthPublic | Response:
    """One account's health today (or as of a past day): components, flags, 12-month trend.

    As of day D it is computed from what happened up to D, with D as "today": the facts dated
    up to D by the fact-date rule (an interaction's `on`, a departure's `left_on`, else the
    command's `occurred_on`, else when it was recorded). There is no health before the
    account's registration day (404), and the trend has no point before it. Conditional
    (ETag, If-None-Match: 304)."""
    if (unchanged := fresh.not_modified()) is not None:
        return unchanged
    today = as_of.date() if as_of is not None else fresh.today
    health = account_health(views, account_id, today=today, weights=settings.health_weights)
    if health is None:
        when = f" on {today.isoformat()}" if as_of is not None else ""
        raise ApiError(404, "not-found", "Not found", f"no account {account_id}{when}")
    return fresh.json(RelationshipHealthPublic.model_validate(health))
