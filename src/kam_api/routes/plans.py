"""Account plans: draft, list and read, and every plan command (objectives, opportunities,
actions, research, reviews)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kam_api.deps import AsOf, Create, Kam, MinPosition, Send, StoreReader, Views, etag
from kam_api.presenters import plan_public
from kam_api.schemas.commands import Body
from kam_api.schemas.common import CommandAccepted, PagePublic
from kam_api.schemas.plans import PlanPublic
from kam_domain.account_plans import AccountPlan
from kam_domain.commands import (
    AchieveObjective,
    AddAction,
    AdvanceOpportunity,
    AnswerResearchQuestion,
    BlockAction,
    CancelAction,
    ClosePlan,
    CompleteAction,
    DraftPlan,
    IdentifyOpportunity,
    LoseOpportunity,
    MissObjective,
    ReassignAction,
    RecordProgress,
    RescheduleAction,
    ReviewPlan,
    SetObjective,
    SharePlan,
    StartAction,
    StateDirection,
    UnblockAction,
    WinOpportunity,
)
from kam_projections.pagination import InvalidCursorError, decode_cursor, encode_cursor
from kam_projections.projector import owned_by

router = APIRouter(tags=["plans"])


# --- Drafting and reading ---------------------------------------------------------------


@router.post("/accounts/{account_id}/plans", status_code=201, response_model=CommandAccepted)
def draft_plan(account_id: UUID, body: Body[DraftPlan], create: Create) -> CommandAccepted:
    """Drafts the account's plan for a period (one plan per account per period)."""
    return create(body.to_command(account_id=account_id), body, location="/plans/{id}")


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
    period = decode_cursor(cursor)[0]
    if not isinstance(period, str):
        raise InvalidCursorError("cursor is not valid")
    return period


@router.get("/plans/{plan_id}", response_model=PlanPublic)
def get_plan(
    plan_id: UUID, user: StoreReader, kam: Kam, response: Response, as_of: AsOf = None
) -> PlanPublic:
    """The plan now (ETag: its version), or as it was at ``as_of``."""
    if as_of is not None:
        return plan_public(kam.get_as_of(AccountPlan, plan_id, as_of))
    plan = kam.get_plan(plan_id)
    etag(response, plan.version)
    return plan_public(plan)


# --- Direction, sharing, research, reviews, closing -------------------------------------


@router.post("/plans/{plan_id}/direction", response_model=CommandAccepted)
def state_direction(plan_id: UUID, body: Body[StateDirection], send: Send) -> CommandAccepted:
    """States the plan's direction and priorities."""
    return send(body.to_command(plan_id=plan_id), body)


@router.post("/plans/{plan_id}/sharing", response_model=CommandAccepted)
def share_plan(plan_id: UUID, body: Body[SharePlan], send: Send) -> CommandAccepted:
    """Records that the plan was shared with the customer, and whether they agreed it."""
    return send(body.to_command(plan_id=plan_id), body)


@router.post("/plans/{plan_id}/research-answers", response_model=CommandAccepted)
def answer_research_question(
    plan_id: UUID, body: Body[AnswerResearchQuestion], send: Send
) -> CommandAccepted:
    """Answers a question of the research bank (a later answer replaces an earlier one)."""
    return send(body.to_command(plan_id=plan_id), body)


@router.post("/plans/{plan_id}/reviews", response_model=CommandAccepted)
def review_plan(plan_id: UUID, body: Body[ReviewPlan], send: Send) -> CommandAccepted:
    """Records a review of the plan with its KPI status."""
    return send(body.to_command(plan_id=plan_id), body)


@router.post("/plans/{plan_id}/close", response_model=CommandAccepted)
def close_plan(plan_id: UUID, body: Body[ClosePlan], send: Send) -> CommandAccepted:
    """Closes the plan; it accepts no more changes."""
    return send(body.to_command(plan_id=plan_id), body)


# --- Objectives -------------------------------------------------------------------------


@router.post("/plans/{plan_id}/objectives", status_code=201, response_model=CommandAccepted)
def set_objective(plan_id: UUID, body: Body[SetObjective], send: Send) -> CommandAccepted:
    """Sets a SMART objective; ``entity_id`` is the new objective's id."""
    return send(body.to_command(plan_id=plan_id), body)


@router.post("/plans/{plan_id}/objectives/{objective_id}/progress", response_model=CommandAccepted)
def record_progress(
    plan_id: UUID, objective_id: UUID, body: Body[RecordProgress], send: Send
) -> CommandAccepted:
    """Records a measured value of an open objective's metric."""
    return send(body.to_command(plan_id=plan_id, objective_id=objective_id), body)


@router.post("/plans/{plan_id}/objectives/{objective_id}/achieve", response_model=CommandAccepted)
def achieve_objective(
    plan_id: UUID, objective_id: UUID, body: Body[AchieveObjective], send: Send
) -> CommandAccepted:
    """Marks an open objective achieved."""
    return send(body.to_command(plan_id=plan_id, objective_id=objective_id), body)


@router.post("/plans/{plan_id}/objectives/{objective_id}/miss", response_model=CommandAccepted)
def miss_objective(
    plan_id: UUID, objective_id: UUID, body: Body[MissObjective], send: Send
) -> CommandAccepted:
    """Marks an open objective missed (reason required)."""
    return send(body.to_command(plan_id=plan_id, objective_id=objective_id), body)


# --- Opportunities ----------------------------------------------------------------------


@router.post("/plans/{plan_id}/opportunities", status_code=201, response_model=CommandAccepted)
def identify_opportunity(
    plan_id: UUID, body: Body[IdentifyOpportunity], send: Send
) -> CommandAccepted:
    """Adds an opportunity to the pipeline; ``entity_id`` is the new opportunity's id."""
    return send(body.to_command(plan_id=plan_id), body)


@router.post(
    "/plans/{plan_id}/opportunities/{opportunity_id}/advance", response_model=CommandAccepted
)
def advance_opportunity(
    plan_id: UUID, opportunity_id: UUID, body: Body[AdvanceOpportunity], send: Send
) -> CommandAccepted:
    """Updates an open opportunity's probability of closing."""
    return send(body.to_command(plan_id=plan_id, opportunity_id=opportunity_id), body)


@router.post("/plans/{plan_id}/opportunities/{opportunity_id}/win", response_model=CommandAccepted)
def win_opportunity(
    plan_id: UUID, opportunity_id: UUID, body: Body[WinOpportunity], send: Send
) -> CommandAccepted:
    """Marks an open opportunity won, at its final value if given."""
    return send(body.to_command(plan_id=plan_id, opportunity_id=opportunity_id), body)


@router.post("/plans/{plan_id}/opportunities/{opportunity_id}/lose", response_model=CommandAccepted)
def lose_opportunity(
    plan_id: UUID, opportunity_id: UUID, body: Body[LoseOpportunity], send: Send
) -> CommandAccepted:
    """Marks an open opportunity lost (reason required)."""
    return send(body.to_command(plan_id=plan_id, opportunity_id=opportunity_id), body)


# --- Actions ----------------------------------------------------------------------------


@router.post("/plans/{plan_id}/actions", status_code=201, response_model=CommandAccepted)
def add_action(plan_id: UUID, body: Body[AddAction], send: Send) -> CommandAccepted:
    """Adds a planned action with an owner and due date; ``entity_id`` is the action's id."""
    return send(body.to_command(plan_id=plan_id), body)


@router.post("/plans/{plan_id}/actions/{action_id}/start", response_model=CommandAccepted)
def start_action(
    plan_id: UUID, action_id: UUID, body: Body[StartAction], send: Send
) -> CommandAccepted:
    """Starts a planned action."""
    return send(body.to_command(plan_id=plan_id, action_id=action_id), body)


@router.post("/plans/{plan_id}/actions/{action_id}/complete", response_model=CommandAccepted)
def complete_action(
    plan_id: UUID, action_id: UUID, body: Body[CompleteAction], send: Send
) -> CommandAccepted:
    """Completes a planned or in-progress action with its outcome."""
    return send(body.to_command(plan_id=plan_id, action_id=action_id), body)


@router.post("/plans/{plan_id}/actions/{action_id}/block", response_model=CommandAccepted)
def block_action(
    plan_id: UUID, action_id: UUID, body: Body[BlockAction], send: Send
) -> CommandAccepted:
    """Blocks a planned or in-progress action (reason required: blocked by what)."""
    return send(body.to_command(plan_id=plan_id, action_id=action_id), body)


@router.post("/plans/{plan_id}/actions/{action_id}/unblock", response_model=CommandAccepted)
def unblock_action(
    plan_id: UUID, action_id: UUID, body: Body[UnblockAction], send: Send
) -> CommandAccepted:
    """Unblocks a blocked action, back to the status it was blocked from."""
    return send(body.to_command(plan_id=plan_id, action_id=action_id), body)


@router.post("/plans/{plan_id}/actions/{action_id}/reschedule", response_model=CommandAccepted)
def reschedule_action(
    plan_id: UUID, action_id: UUID, body: Body[RescheduleAction], send: Send
) -> CommandAccepted:
    """Moves an open action's due date (reason required)."""
    return send(body.to_command(plan_id=plan_id, action_id=action_id), body)


@router.post("/plans/{plan_id}/actions/{action_id}/reassign", response_model=CommandAccepted)
def reassign_action(
    plan_id: UUID, action_id: UUID, body: Body[ReassignAction], send: Send
) -> CommandAccepted:
    """Gives an open action to another owner."""
    return send(body.to_command(plan_id=plan_id, action_id=action_id), body)


@router.post("/plans/{plan_id}/actions/{action_id}/cancel", response_model=CommandAccepted)
def cancel_action(
    plan_id: UUID, action_id: UUID, body: Body[CancelAction], send: Send
) -> CommandAccepted:
    """Cancels an open action (reason required)."""
    return send(body.to_command(plan_id=plan_id, action_id=action_id), body)
