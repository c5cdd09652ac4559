"""Use cases of account plans: direction, objectives, opportunities, actions, research."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import UUID

from kam_domain.account_plans import AccountPlan
from kam_domain.app_core import CommandResult, KamApplicationBase
from kam_domain.errors import ConflictError, InvalidValueError, PlanAlreadyExistsError
from kam_domain.relationships import Relationship
from kam_domain.values import Envelope, KpiStatus, OpportunityKind


class PlanUseCases(KamApplicationBase):
    """One method per account-plan use case."""

    def draft_plan(
        self, account_id: UUID, *, period: str, title: str | None, meta: Envelope
    ) -> CommandResult:
        """Drafts the account's plan for a period (one plan per account per period)."""
        self.ensure_live(account_id)
        plan = AccountPlan.draft(account_id=account_id, period=period, title=title, meta=meta)
        try:
            return self._save(plan)
        except ConflictError:
            raise PlanAlreadyExistsError(
                f"account {account_id} already has a plan for {period!r}",
                plan_id=str(plan.id),
            ) from None

    def get_plan(self, plan_id: UUID) -> AccountPlan:
        """The account plan as stored now."""
        return self.get(AccountPlan, plan_id)

    def change_plan(
        self,
        plan_id: UUID,
        command: Callable[[AccountPlan], UUID | None],
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Applies one plan command (``lambda plan: plan.start_action(...)``) and saves it."""
        return self.change(
            AccountPlan,
            plan_id,
            expected_version,
            command,
            guard=lambda plan: self.ensure_live(plan.account_id),
        )

    def state_direction(
        self,
        plan_id: UUID,
        *,
        direction: str,
        priorities: list[str],
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """States the plan's direction and priorities."""
        return self.change_plan(
            plan_id,
            lambda p: p.state_direction(direction=direction, priorities=priorities, meta=meta),
            expected_version=expected_version,
        )

    def share_plan(
        self,
        plan_id: UUID,
        *,
        agreed: bool,
        notes: str | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records that the plan was shared with the customer, and whether they agreed."""
        return self.change_plan(
            plan_id,
            lambda p: p.share_with_customer(agreed=agreed, notes=notes, meta=meta),
            expected_version=expected_version,
        )

    def set_objective(
        self,
        plan_id: UUID,
        *,
        statement: str,
        metric: str,
        baseline: Decimal,
        target: Decimal,
        due_on: date,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Sets a SMART objective; ``entity_id`` is the objective id."""
        return self.change_plan(
            plan_id,
            lambda p: p.set_objective(
                statement=statement,
                metric=metric,
                baseline=baseline,
                target=target,
                due_on=due_on,
                meta=meta,
            ),
            expected_version=expected_version,
        )

    def identify_opportunity(
        self,
        plan_id: UUID,
        *,
        kind: OpportunityKind,
        title: str,
        value: Decimal,
        probability: int,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Adds an opportunity to the plan's pipeline; ``entity_id`` is its id."""
        return self.change_plan(
            plan_id,
            lambda p: p.identify_opportunity(
                kind=kind, title=title, value=value, probability=probability, meta=meta
            ),
            expected_version=expected_version,
        )

    def add_action(
        self,
        plan_id: UUID,
        *,
        what: str,
        owner: str,
        due_on: date,
        stakeholder_ids: list[UUID],
        success_measure: str | None,
        objective_id: UUID | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Adds an action with an owner and a due date; ``entity_id`` is the action id."""
        plan = self.get_plan(plan_id)
        for stakeholder_id in stakeholder_ids:
            if self.get(Relationship, stakeholder_id).account_id != plan.account_id:
                raise InvalidValueError("stakeholder_ids", "names a stakeholder of another account")
        return self.change_plan(
            plan_id,
            lambda p: p.add_action(
                what=what,
                owner=owner,
                due_on=due_on,
                stakeholder_ids=stakeholder_ids,
                success_measure=success_measure,
                objective_id=objective_id,
                meta=meta,
            ),
            expected_version=expected_version,
        )

    def review_plan(
        self,
        plan_id: UUID,
        *,
        notes: str,
        kpi_status: KpiStatus,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records a plan review with its KPI status."""
        return self.change_plan(
            plan_id,
            lambda p: p.review(notes=notes, kpi_status=kpi_status, meta=meta),
            expected_version=expected_version,
        )

    def record_progress(
        self,
        plan_id: UUID,
        *,
        objective_id: UUID,
        value: Decimal,
        note: str | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records progress towards an objective."""
        return self.change_plan(
            plan_id,
            lambda p: p.record_progress(
                objective_id=objective_id, value=value, note=note, meta=meta
            ),
            expected_version=expected_version,
        )

    def achieve_objective(
        self,
        plan_id: UUID,
        *,
        objective_id: UUID,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks an objective as achieved."""
        return self.change_plan(
            plan_id,
            lambda p: p.achieve_objective(objective_id=objective_id, meta=meta),
            expected_version=expected_version,
        )

    def miss_objective(
        self,
        plan_id: UUID,
        *,
        objective_id: UUID,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks an objective as missed (with a reason)."""
        return self.change_plan(
            plan_id,
            lambda p: p.miss_objective(objective_id=objective_id, meta=meta),
            expected_version=expected_version,
        )

    def advance_opportunity(
        self,
        plan_id: UUID,
        *,
        opportunity_id: UUID,
        probability: int,
        note: str | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Updates an opportunity's win probability as it progresses."""
        return self.change_plan(
            plan_id,
            lambda p: p.advance_opportunity(
                opportunity_id=opportunity_id, probability=probability, note=note, meta=meta
            ),
            expected_version=expected_version,
        )

    def win_opportunity(
        self,
        plan_id: UUID,
        *,
        opportunity_id: UUID,
        value: Decimal | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks an opportunity as won, with its final value if known."""
        return self.change_plan(
            plan_id,
            lambda p: p.win_opportunity(opportunity_id=opportunity_id, value=value, meta=meta),
            expected_version=expected_version,
        )

    def lose_opportunity(
        self,
        plan_id: UUID,
        *,
        opportunity_id: UUID,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks an opportunity as lost (with a reason)."""
        return self.change_plan(
            plan_id,
            lambda p: p.lose_opportunity(opportunity_id=opportunity_id, meta=meta),
            expected_version=expected_version,
        )

    def start_action(
        self,
        plan_id: UUID,
        *,
        action_id: UUID,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Starts a planned action."""
        return self.change_plan(
            plan_id,
            lambda p: p.start_action(action_id=action_id, meta=meta),
            expected_version=expected_version,
        )

    def complete_action(
        self,
        plan_id: UUID,
        *,
        action_id: UUID,
        outcome: str,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Completes an action with its outcome."""
        return self.change_plan(
            plan_id,
            lambda p: p.complete_action(action_id=action_id, outcome=outcome, meta=meta),
            expected_version=expected_version,
        )

    def block_action(
        self,
        plan_id: UUID,
        *,
        action_id: UUID,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks an action as blocked (with a reason)."""
        return self.change_plan(
            plan_id,
            lambda p: p.block_action(action_id=action_id, meta=meta),
            expected_version=expected_version,
        )

    def unblock_action(
        self,
        plan_id: UUID,
        *,
        action_id: UUID,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Unblocks an action, back to the status it was blocked from."""
        return self.change_plan(
            plan_id,
            lambda p: p.unblock_action(action_id=action_id, meta=meta),
            expected_version=expected_version,
        )

    def reschedule_action(
        self,
        plan_id: UUID,
        *,
        action_id: UUID,
        due_on: date,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Moves an action's due date (with a reason)."""
        return self.change_plan(
            plan_id,
            lambda p: p.reschedule_action(action_id=action_id, due_on=due_on, meta=meta),
            expected_version=expected_version,
        )

    def reassign_action(
        self,
        plan_id: UUID,
        *,
        action_id: UUID,
        owner: str,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Gives an action to a new owner."""
        return self.change_plan(
            plan_id,
            lambda p: p.reassign_action(action_id=action_id, owner=owner, meta=meta),
            expected_version=expected_version,
        )

    def cancel_action(
        self,
        plan_id: UUID,
        *,
        action_id: UUID,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Cancels an action (with a reason)."""
        return self.change_plan(
            plan_id,
            lambda p: p.cancel_action(action_id=action_id, meta=meta),
            expected_version=expected_version,
        )

    def answer_research_question(
        self,
        plan_id: UUID,
        *,
        question_id: str,
        answer: str,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Answers a question of the research bank for this plan."""
        return self.change_plan(
            plan_id,
            lambda p: p.answer_research_question(question_id=question_id, answer=answer, meta=meta),
            expected_version=expected_version,
        )

    def close_plan(
        self, plan_id: UUID, *, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Closes the plan; it accepts no more changes."""
        return self.change_plan(
            plan_id, lambda p: p.close(meta=meta), expected_version=expected_version
        )
