"""The account page's Plan & actions tab: one of the account's plans (the current one unless
another is chosen) with its objectives' progress, its opportunity pipeline and its actions,
overdue ones with their days late; now, or as the plan stood on a past day."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kam_api.errors import ApiError
from kam_api.presenters import plan_public
from kam_api.schemas.plans import ObjectivePublic, OpportunityPublic, PlanPublic
from kam_api.web.auth import PageStoreReader
from kam_api.web.routes.account import AccountAt, account_at, tabs_context
from kam_api.web.templating import pages_of
from kam_domain.account_plans import AccountPlan
from kam_domain.application import KamApplication
from kam_projections.actions import ActionFilter, list_actions, with_lateness
from kam_projections.db import ViewDatabase
from kam_projections.owners import owned_by

router = APIRouter(include_in_schema=False)

#: Actions of one plan read per page of the read model (a plan rarely holds more).
ACTION_PAGE = 500


def plans_at(request: Request, at: AccountAt) -> list[PlanPublic]:
    """The account's plans now, or as they stood at ``at`` (those that existed), latest
    period first."""
    kam: KamApplication = request.app.state.kam
    views: ViewDatabase = request.app.state.views
    plans = []
    for plan_id in owned_by(views, at.account.id, "AccountPlan"):
        if at.as_of is None:
            plans.append(plan_public(kam.get_plan(plan_id)))
            continue
        known = at.versions.get(plan_id)
        if known is not None and known.version > 0:
            plan = kam.load(AccountPlan, plan_id, version=known.version, fresh=False)
            plans.append(plan_public(plan))
    return sorted(plans, key=lambda plan: plan.period, reverse=True)


def chosen_plan(plans: list[PlanPublic], wanted: str | None) -> PlanPublic | None:
    """The plan asked for by id, else the latest open one, else the latest."""
    if wanted:
        for plan in plans:
            if str(plan.id) == wanted.strip():
                return plan
        raise ApiError(404, "not-found", "Not found", "This account has no such plan then.")
    return next((p for p in plans if not p.closed), plans[0] if plans else None)


def objective_row(objective: ObjectivePublic) -> dict[str, Any]:
    """An objective with how far it has come from its baseline to its target (0..1)."""
    span = objective.target - objective.baseline
    done = (objective.latest_value - objective.baseline) / span if span else Decimal(1)
    share = float(min(max(done, Decimal(0)), Decimal(1)))
    return {"objective": objective, "share": share, "percent": round(share * 100)}


def pipeline(opportunities: list[OpportunityPublic]) -> list[dict[str, Any]]:
    """Opportunities by status then kind: count, value and value weighted by probability."""
    groups: dict[tuple[str, str], list[OpportunityPublic]] = defaultdict(list)
    for o in opportunities:
        groups[(o.status.value, o.kind.value)].append(o)
    order = {"open": 0, "won": 1, "lost": 2}
    return [
        {
            "status": status,
            "kind": kind,
            "opportunities": items,
            "value": sum((o.value for o in items), Decimal(0)),
            "weighted": sum((o.value * o.probability / 100 for o in items), Decimal(0)),
        }
        for (status, kind), items in sorted(groups.items(), key=lambda g: (order[g[0][0]], g[0]))
    ]


def action_rows(request: Request, at: AccountAt, plan: PlanPublic) -> list[dict[str, Any]]:
    """The plan's actions by due date with overdue and days late: from the actions read
    model now; as of a past day, from the plan as it stood then, with that day as today."""
    if at.as_of is None:
        views: ViewDatabase = request.app.state.views
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = list_actions(
                views,
                ActionFilter(plan_id=plan.id),
                today=at.today,
                limit=ACTION_PAGE,
                cursor=cursor,
            )
            rows.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return rows
    past = [
        with_lateness(
            {
                "action_id": str(a.id),
                "what": a.what,
                "owner": a.owner,
                "due_on": a.due_on.isoformat(),
                "status": a.status.value,
            },
            at.as_of,
        )
        for a in plan.actions
    ]
    return sorted(past, key=lambda r: (r["due_on"], r["action_id"]))


@router.get("/app/accounts/{account_id}/plan", response_class=HTMLResponse)
def plan_page(
    request: Request,
    account_id: UUID,
    user: PageStoreReader,
    as_of: str | None = None,
    plan: str | None = None,
) -> HTMLResponse:
    """The Plan & actions tab."""
    at = account_at(request, account_id, as_of)
    plans = plans_at(request, at)
    current = chosen_plan(plans, plan)
    actions = action_rows(request, at, current) if current else []
    context = tabs_context(at, "plan", "Plan & actions") | {
        "plans": plans,
        "plan": current,
        "objectives": [objective_row(o) for o in current.objectives] if current else [],
        "pipeline": pipeline(current.opportunities) if current else [],
        "actions": actions,
        "overdue_count": sum(1 for a in actions if a["overdue"]),
    }
    return pages_of(request).render(request, "account/plan.html", context)
