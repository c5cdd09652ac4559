"""Account plans: draft, list and read, and every plan command (objectives, opportunities,
actions, research, reviews)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from kam_api.deps import (
    AsOf,
    IfMatch,
    Kam,
    MinPosition,
    StoreReader,
    Views,
    Writer,
    authorize_account,
    envelope,
)
from kam_api.presenters import etag, plan_public
from kam_api.schemas.common import CommandAccepted, PagePublic, accepted
from kam_api.schemas.plans import (
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
    PlanPublic,
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
from kam_domain.account_plans import AccountPlan
from kam_domain.application import CommandResult
from kam_projections.pagination import InvalidCursorError, decode_cursor, encode_cursor
from kam_projections.projector import owned_by

router = APIRouter(tags=["plans"])

# --- Drafting and reading ---------------------------------------------------------------


@router.post("/accounts/{account_id}/plans", status_code=201, response_model=CommandAccepted)
def draft_plan(
    account_id: UUID,
    body: DraftPlan,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
) -> CommandAccepted:
    """Drafts the account's plan for a period (one plan per account per period)."""
    authorize_account(kam, user, account_id)
    result = kam.draft_plan(
        account_id, period=body.period, title=body.title, meta=envelope(user, request, body)
    )
    response.headers["Location"] = f"/plans/{result.id}"
    etag(response, result.version)
    return accepted(result)


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


def _command(
    kam: Kam,
    user: Writer,
    plan_id: UUID,
    response: Response,
    run: Callable[[], CommandResult],
) -> CommandAccepted:
    authorize_account(kam, user, kam.get_plan(plan_id).account_id)
    result = run()
    etag(response, result.version)
    return accepted(result)


# --- Direction, sharing, research, reviews, closing -------------------------------------


@router.post("/plans/{plan_id}/direction", response_model=CommandAccepted)
def state_direction(
    plan_id: UUID,
    body: StateDirection,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """States the plan's direction and priorities."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.state_direction(
            plan_id,
            direction=body.direction,
            priorities=list(body.priorities),
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/sharing", response_model=CommandAccepted)
def share_plan(
    plan_id: UUID,
    body: SharePlan,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Records that the plan was shared with the customer, and whether they agreed it."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.share_plan(
            plan_id,
            agreed=body.agreed,
            notes=body.notes,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/research-answers", response_model=CommandAccepted)
def answer_research_question(
    plan_id: UUID,
    body: AnswerResearchQuestion,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Answers a question of the research bank (a later answer replaces an earlier one)."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.answer_research_question(
            plan_id,
            question_id=body.question_id,
            answer=body.answer,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/reviews", response_model=CommandAccepted)
def review_plan(
    plan_id: UUID,
    body: ReviewPlan,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Records a review of the plan with its KPI status."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.review_plan(
            plan_id,
            notes=body.notes,
            kpi_status=body.kpi_status,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/close", response_model=CommandAccepted)
def close_plan(
    plan_id: UUID,
    body: ClosePlan,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Closes the plan; it accepts no more changes."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.close_plan(
            plan_id, meta=envelope(user, request, body), expected_version=version
        ),
    )


# --- Objectives -------------------------------------------------------------------------


@router.post("/plans/{plan_id}/objectives", status_code=201, response_model=CommandAccepted)
def set_objective(
    plan_id: UUID,
    body: SetObjective,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Sets a SMART objective; ``entity_id`` is the new objective's id."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.set_objective(
            plan_id,
            statement=body.statement,
            metric=body.metric,
            baseline=body.baseline,
            target=body.target,
            due_on=body.due_on,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/objectives/{objective_id}/progress", response_model=CommandAccepted)
def record_progress(
    plan_id: UUID,
    objective_id: UUID,
    body: RecordProgress,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Records a measured value of an open objective's metric."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.record_progress(
            plan_id,
            objective_id=objective_id,
            value=body.value,
            note=body.note,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/objectives/{objective_id}/achieve", response_model=CommandAccepted)
def achieve_objective(
    plan_id: UUID,
    objective_id: UUID,
    body: AchieveObjective,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Marks an open objective achieved."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.achieve_objective(
            plan_id,
            objective_id=objective_id,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/objectives/{objective_id}/miss", response_model=CommandAccepted)
def miss_objective(
    plan_id: UUID,
    objective_id: UUID,
    body: MissObjective,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Marks an open objective missed (reason required)."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.miss_objective(
            plan_id,
            objective_id=objective_id,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


# --- Opportunities ----------------------------------------------------------------------


@router.post("/plans/{plan_id}/opportunities", status_code=201, response_model=CommandAccepted)
def identify_opportunity(
    plan_id: UUID,
    body: IdentifyOpportunity,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Adds an opportunity to the pipeline; ``entity_id`` is the new opportunity's id."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.identify_opportunity(
            plan_id,
            kind=body.kind,
            title=body.title,
            value=body.value,
            probability=body.probability,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post(
    "/plans/{plan_id}/opportunities/{opportunity_id}/advance", response_model=CommandAccepted
)
def advance_opportunity(
    plan_id: UUID,
    opportunity_id: UUID,
    body: AdvanceOpportunity,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Updates an open opportunity's probability of closing."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.advance_opportunity(
            plan_id,
            opportunity_id=opportunity_id,
            probability=body.probability,
            note=body.note,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/opportunities/{opportunity_id}/win", response_model=CommandAccepted)
def win_opportunity(
    plan_id: UUID,
    opportunity_id: UUID,
    body: WinOpportunity,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Marks an open opportunity won, at its final value if given."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.win_opportunity(
            plan_id,
            opportunity_id=opportunity_id,
            value=body.value,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/opportunities/{opportunity_id}/lose", response_model=CommandAccepted)
def lose_opportunity(
    plan_id: UUID,
    opportunity_id: UUID,
    body: LoseOpportunity,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Marks an open opportunity lost (reason required)."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.lose_opportunity(
            plan_id,
            opportunity_id=opportunity_id,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


# --- Actions ----------------------------------------------------------------------------


@router.post("/plans/{plan_id}/actions", status_code=201, response_model=CommandAccepted)
def add_action(
    plan_id: UUID,
    body: AddAction,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Adds a planned action with an owner and due date; ``entity_id`` is the action's id."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.add_action(
            plan_id,
            what=body.what,
            owner=body.owner,
            due_on=body.due_on,
            stakeholder_ids=list(body.stakeholder_ids),
            success_measure=body.success_measure,
            objective_id=body.objective_id,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/actions/{action_id}/start", response_model=CommandAccepted)
def start_action(
    plan_id: UUID,
    action_id: UUID,
    body: StartAction,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Starts a planned action."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.start_action(
            plan_id,
            action_id=action_id,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/actions/{action_id}/complete", response_model=CommandAccepted)
def complete_action(
    plan_id: UUID,
    action_id: UUID,
    body: CompleteAction,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Completes a planned or in-progress action with its outcome."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.complete_action(
            plan_id,
            action_id=action_id,
            outcome=body.outcome,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/actions/{action_id}/block", response_model=CommandAccepted)
def block_action(
    plan_id: UUID,
    action_id: UUID,
    body: BlockAction,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Blocks a planned or in-progress action (reason required: blocked by what)."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.block_action(
            plan_id,
            action_id=action_id,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/actions/{action_id}/unblock", response_model=CommandAccepted)
def unblock_action(
    plan_id: UUID,
    action_id: UUID,
    body: UnblockAction,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Unblocks a blocked action, back to the status it was blocked from."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.unblock_action(
            plan_id,
            action_id=action_id,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/actions/{action_id}/reschedule", response_model=CommandAccepted)
def reschedule_action(
    plan_id: UUID,
    action_id: UUID,
    body: RescheduleAction,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Moves an open action's due date (reason required)."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.reschedule_action(
            plan_id,
            action_id=action_id,
            due_on=body.due_on,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/actions/{action_id}/reassign", response_model=CommandAccepted)
def reassign_action(
    plan_id: UUID,
    action_id: UUID,
    body: ReassignAction,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Gives an open action to another owner."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.reassign_action(
            plan_id,
            action_id=action_id,
            owner=body.owner,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/plans/{plan_id}/actions/{action_id}/cancel", response_model=CommandAccepted)
def cancel_action(
    plan_id: UUID,
    action_id: UUID,
    body: CancelAction,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Cancels an open action (reason required)."""
    return _command(
        kam,
        user,
        plan_id,
        response,
        lambda: kam.cancel_action(
            plan_id,
            action_id=action_id,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )
