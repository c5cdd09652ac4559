"""Handlers of account-plan commands: direction, objectives, opportunities, actions, research.
Every plan command is refused once the plan's account has exited."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from kam_domain import commands as cmd
from kam_domain.account_plans import AccountPlan
from kam_domain.commands.base import CommandResult
from kam_domain.errors import ConflictError, InvalidValueError, PlanAlreadyExistsError
from kam_domain.handlers.table import handles, on_plan
from kam_domain.relationships import Relationship
from kam_domain.values import Envelope

if TYPE_CHECKING:
    from kam_domain.app_core import KamApplicationBase


@handles(cmd.DraftPlan)
def draft_plan(
    app: KamApplicationBase, command: cmd.DraftPlan, meta: Envelope, expected: int | None
) -> CommandResult:
    """Drafts the account's plan for a period (one plan per account per period)."""
    app.ensure_live(command.account_id)
    plan = AccountPlan.draft_plan(
        account_id=command.account_id, period=command.period, title=command.title, meta=meta
    )
    try:
        return app.commit(plan)
    except ConflictError:
        raise PlanAlreadyExistsError(
            f"account {command.account_id} already has a plan for {command.period!r}",
            plan_id=str(plan.id),
        ) from None


def _stakeholders_of_the_plans_account(app: KamApplicationBase, command: cmd.AddAction) -> None:
    plan = app.get(AccountPlan, command.plan_id)
    for stakeholder_id in command.stakeholder_ids:
        if app.get(Relationship, stakeholder_id).account_id != plan.account_id:
            raise InvalidValueError("stakeholder_ids", "names a stakeholder of another account")


@on_plan(cmd.AddAction, check=_stakeholders_of_the_plans_account)
def add_action(plan: AccountPlan, command: cmd.AddAction, meta: Envelope) -> UUID:
    """``entity_id`` is the new action's id."""
    return plan.add_action(
        what=command.what,
        owner=command.owner,
        due_on=command.due_on,
        stakeholder_ids=list(command.stakeholder_ids),
        success_measure=command.success_measure,
        objective_id=command.objective_id,
        meta=meta,
    )


@on_plan(cmd.StateDirection)
def state_direction(plan: AccountPlan, command: cmd.StateDirection, meta: Envelope) -> None:
    plan.state_direction(
        direction=command.direction, priorities=list(command.priorities), meta=meta
    )


@on_plan(cmd.SharePlan)
def share_plan(plan: AccountPlan, command: cmd.SharePlan, meta: Envelope) -> None:
    plan.share_plan(agreed=command.agreed, notes=command.notes, meta=meta)


@on_plan(cmd.AnswerResearchQuestion)
def answer_research_question(
    plan: AccountPlan, command: cmd.AnswerResearchQuestion, meta: Envelope
) -> None:
    plan.answer_research_question(question_id=command.question_id, answer=command.answer, meta=meta)


@on_plan(cmd.ReviewPlan)
def review_plan(plan: AccountPlan, command: cmd.ReviewPlan, meta: Envelope) -> None:
    plan.review_plan(notes=command.notes, kpi_status=command.kpi_status, meta=meta)


@on_plan(cmd.ClosePlan)
def close_plan(plan: AccountPlan, command: cmd.ClosePlan, meta: Envelope) -> None:
    plan.close_plan(meta=meta)


@on_plan(cmd.SetObjective)
def set_objective(plan: AccountPlan, command: cmd.SetObjective, meta: Envelope) -> UUID:
    """``entity_id`` is the new objective's id."""
    return plan.set_objective(
        statement=command.statement,
        metric=command.metric,
        baseline=command.baseline,
        target=command.target,
        due_on=command.due_on,
        meta=meta,
    )


@on_plan(cmd.RecordProgress)
def record_progress(plan: AccountPlan, command: cmd.RecordProgress, meta: Envelope) -> None:
    plan.record_progress(
        objective_id=command.objective_id, value=command.value, note=command.note, meta=meta
    )


@on_plan(cmd.AchieveObjective)
def achieve_objective(plan: AccountPlan, command: cmd.AchieveObjective, meta: Envelope) -> None:
    plan.achieve_objective(objective_id=command.objective_id, meta=meta)


@on_plan(cmd.MissObjective)
def miss_objective(plan: AccountPlan, command: cmd.MissObjective, meta: Envelope) -> None:
    plan.miss_objective(objective_id=command.objective_id, meta=meta)


@on_plan(cmd.IdentifyOpportunity)
def identify_opportunity(
    plan: AccountPlan, command: cmd.IdentifyOpportunity, meta: Envelope
) -> UUID:
    """``entity_id`` is the new opportunity's id."""
    return plan.identify_opportunity(
        kind=command.kind,
        title=command.title,
        value=command.value,
        probability=command.probability,
        meta=meta,
    )


@on_plan(cmd.AdvanceOpportunity)
def advance_opportunity(plan: AccountPlan, command: cmd.AdvanceOpportunity, meta: Envelope) -> None:
    plan.advance_opportunity(
        opportunity_id=command.opportunity_id,
        probability=command.probability,
        note=command.note,
        meta=meta,
    )


@on_plan(cmd.WinOpportunity)
def win_opportunity(plan: AccountPlan, command: cmd.WinOpportunity, meta: Envelope) -> None:
    plan.win_opportunity(opportunity_id=command.opportunity_id, value=command.value, meta=meta)


@on_plan(cmd.LoseOpportunity)
def lose_opportunity(plan: AccountPlan, command: cmd.LoseOpportunity, meta: Envelope) -> None:
    plan.lose_opportunity(opportunity_id=command.opportunity_id, meta=meta)


@on_plan(cmd.StartAction)
def start_action(plan: AccountPlan, command: cmd.StartAction, meta: Envelope) -> None:
    plan.start_action(action_id=command.action_id, meta=meta)


@on_plan(cmd.CompleteAction)
def complete_action(plan: AccountPlan, command: cmd.CompleteAction, meta: Envelope) -> None:
    plan.complete_action(action_id=command.action_id, outcome=command.outcome, meta=meta)


@on_plan(cmd.BlockAction)
def block_action(plan: AccountPlan, command: cmd.BlockAction, meta: Envelope) -> None:
    plan.block_action(action_id=command.action_id, meta=meta)


@on_plan(cmd.UnblockAction)
def unblock_action(plan: AccountPlan, command: cmd.UnblockAction, meta: Envelope) -> None:
    plan.unblock_action(action_id=command.action_id, meta=meta)


@on_plan(cmd.RescheduleAction)
def reschedule_action(plan: AccountPlan, command: cmd.RescheduleAction, meta: Envelope) -> None:
    plan.reschedule_action(action_id=command.action_id, due_on=command.due_on, meta=meta)


@on_plan(cmd.ReassignAction)
def reassign_action(plan: AccountPlan, command: cmd.ReassignAction, meta: Envelope) -> None:
    plan.reassign_action(action_id=command.action_id, owner=command.owner, meta=meta)


@on_plan(cmd.CancelAction)
def cancel_action(plan: AccountPlan, command: cmd.CancelAction, meta: Envelope) -> None:
    plan.cancel_action(action_id=command.action_id, meta=meta)
