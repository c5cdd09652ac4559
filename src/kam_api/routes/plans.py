"""Account plans: draft, list and read, and every plan command (objectives, opportunities,
actions, research, reviews)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kam_api.command_routes import CommandRoutes
from kam_api.deps import AsOf, Kam, MinPosition, StoreReader, Views
from kam_api.presenters import plan_public, present
from kam_api.schemas.common import PagePublic
from kam_api.schemas.plans import PlanPublic
from kam_domain import commands as cmd
from kam_domain.account_plans import AccountPlan
from kam_projections.owners import owned_by
from kam_projections.pagination import decode_cursor, encode_cursor, text

router = APIRouter(tags=["plans"])


# --- Drafting and reading ---------------------------------------------------------------


commands = CommandRoutes(router)
commands.post(
    "/accounts/{account_id}/plans",
    cmd.DraftPlan,
    "Drafts the account's plan for a period (one plan per account per period).",
    status_code=201,
    location="/plans/{id}",
)


@router.get("/accounts/{account_id}/plans", response_model=PagePublic[PlanPublic])
def list_plans(
    account_id: UUID,
    user: StoreReader,
    kam: Kam,
    views: Views,
    _wait: MinPosition,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> PagePublic[PlanPublic]:
    """The account's plans as they stand now, latest period first."""
    kam.get_account(account_id)
    before = _before(cursor)
    plans = sorted(
        (kam.get_plan(plan_id) for plan_id in owned_by(views, account_id, "AccountPlan")),
        key=lambda plan: plan.period,
        reverse=True,
    )
    remaining = [plan for plan in plans if before is None or plan.period < before]
    page = remaining[:limit]
    next_cursor = encode_cursor([page[-1].period]) if len(remaining) > limit else None
    return PagePublic[PlanPublic](
        items=[plan_public(plan) for plan in page], next_cursor=next_cursor
    )


def _before(cursor: str | None) -> str | None:
    """The period a page of plans starts below (periods are unique within an account)."""
    if cursor is None:
        return None
    period: str = decode_cursor(cursor, text)[0]
    return period


@router.get("/plans/{plan_id}", response_model=PlanPublic)
def get_plan(
    plan_id: UUID, user: StoreReader, kam: Kam, response: Response, as_of: AsOf = None
) -> PlanPublic:
    """The plan now (ETag: its version), or as it was at ``as_of``."""
    return present(kam, AccountPlan, plan_id, as_of, response, plan_public)


# --- Direction, sharing, research, reviews, closing -------------------------------------

commands.post(
    "/plans/{plan_id}/direction", cmd.StateDirection, "States the plan's direction and priorities."
)
commands.post(
    "/plans/{plan_id}/sharing",
    cmd.SharePlan,
    "Records that the plan was shared with the customer, and whether they agreed it.",
)
commands.post(
    "/plans/{plan_id}/research-answers",
    cmd.AnswerResearchQuestion,
    "Answers a question of the research bank (a later answer replaces an earlier one).",
)
commands.post(
    "/plans/{plan_id}/reviews", cmd.ReviewPlan, "Records a review of the plan with its KPI status."
)
commands.post(
    "/plans/{plan_id}/close", cmd.ClosePlan, "Closes the plan; it accepts no more changes."
)

# --- Objectives -------------------------------------------------------------------------

commands.post(
    "/plans/{plan_id}/objectives",
    cmd.SetObjective,
    "Sets a SMART objective; ``entity_id`` is the new objective's id.",
    status_code=201,
)
commands.post(
    "/plans/{plan_id}/objectives/{objective_id}/progress",
    cmd.RecordProgress,
    "Records a measured value of an open objective's metric.",
)
commands.post(
    "/plans/{plan_id}/objectives/{objective_id}/achieve",
    cmd.AchieveObjective,
    "Marks an open objective achieved.",
)
commands.post(
    "/plans/{plan_id}/objectives/{objective_id}/miss",
    cmd.MissObjective,
    "Marks an open objective missed (reason required).",
)

# --- Opportunities ----------------------------------------------------------------------

commands.post(
    "/plans/{plan_id}/opportunities",
    cmd.IdentifyOpportunity,
    "Adds an opportunity to the pipeline; ``entity_id`` is the new opportunity's id.",
    status_code=201,
)
commands.post(
    "/plans/{plan_id}/opportunities/{opportunity_id}/advance",
    cmd.AdvanceOpportunity,
    "Updates an open opportunity's probability of closing.",
)
commands.post(
    "/plans/{plan_id}/opportunities/{opportunity_id}/win",
    cmd.WinOpportunity,
    "Marks an open opportunity won, at its final value if given.",
)
commands.post(
    "/plans/{plan_id}/opportunities/{opportunity_id}/lose",
    cmd.LoseOpportunity,
    "Marks an open opportunity lost (reason required).",
)

# --- Actions ----------------------------------------------------------------------------

commands.post(
    "/plans/{plan_id}/actions",
    cmd.AddAction,
    "Adds a planned action with an owner and due date; ``entity_id`` is the action's id.",
    status_code=201,
)
commands.post(
    "/plans/{plan_id}/actions/{action_id}/start", cmd.StartAction, "Starts a planned action."
)
commands.post(
    "/plans/{plan_id}/actions/{action_id}/complete",
    cmd.CompleteAction,
    "Completes a planned or in-progress action with its outcome.",
)
commands.post(
    "/plans/{plan_id}/actions/{action_id}/block",
    cmd.BlockAction,
    "Blocks a planned or in-progress action (reason required: blocked by what).",
)
commands.post(
    "/plans/{plan_id}/actions/{action_id}/unblock",
    cmd.UnblockAction,
    "Unblocks a blocked action, back to the status it was blocked from.",
)
commands.post(
    "/plans/{plan_id}/actions/{action_id}/reschedule",
    cmd.RescheduleAction,
    "Moves an open action's due date (reason required).",
)
commands.post(
    "/plans/{plan_id}/actions/{action_id}/reassign",
    cmd.ReassignAction,
    "Gives an open action to another owner.",
)
commands.post(
    "/plans/{plan_id}/actions/{action_id}/cancel",
    cmd.CancelAction,
    "Cancels an open action (reason required).",
)
