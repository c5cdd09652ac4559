"""The AccountPlan aggregate: one key account's plan for one planning period."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import event

from kam_domain.base import REPLAY_MARK, KamAggregate, require_name, require_range, require_text
from kam_domain.dates import not_before_period
from kam_domain.errors import (
    ActionNotFoundError,
    IllegalActionTransitionError,
    InvalidValueError,
    ObjectiveAlreadyResolvedError,
    ObjectiveNotFoundError,
    OpportunityAlreadyClosedError,
    OpportunityNotFoundError,
    PlanClosedError,
)
from kam_domain.research import QUESTION_BANK, get_question
from kam_domain.values import (
    ActionStatus,
    Envelope,
    KpiStatus,
    ObjectiveStatus,
    OpportunityKind,
    OpportunityStatus,
    ResearchCategory,
    transcodable,
)


@transcodable
@dataclass(frozen=True)
class PlanObjective:
    """A SMART objective of the plan; ``progress`` holds the measured values in order."""

    id: UUID
    statement: str
    metric: str
    baseline: Decimal
    target: Decimal
    due_on: date
    status: ObjectiveStatus = ObjectiveStatus.OPEN
    progress: list[Decimal] = field(default_factory=list)

    @property
    def latest_value(self) -> Decimal:
        """The last value measured, or the baseline before any progress."""
        return self.progress[-1] if self.progress else self.baseline


@transcodable
@dataclass(frozen=True)
class PlanOpportunity:
    """A sales opportunity in the plan's pipeline."""

    id: UUID
    kind: OpportunityKind
    title: str
    value: Decimal
    probability: int
    status: OpportunityStatus = OpportunityStatus.OPEN


@transcodable
@dataclass(frozen=True)
class PlanAction:
    """An action of the plan; ``blocked_from`` is the status an unblock returns to."""

    id: UUID
    what: str
    owner: str
    due_on: date
    stakeholder_ids: list[UUID]
    success_measure: str | None
    objective_id: UUID | None
    status: ActionStatus = ActionStatus.PLANNED
    outcome: str | None = None
    blocked_from: ActionStatus | None = None


@transcodable
@dataclass(frozen=True)
class PlanReview:
    """One review of the plan against its KPIs."""

    notes: str
    kpi_status: KpiStatus
    reviewed_by: str
    occurred_on: datetime  # when reviewed (``kam_domain.dates.fact_time``)


_LIVE = frozenset({ActionStatus.PLANNED, ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED})
_UNBLOCKED = frozenset({ActionStatus.PLANNED, ActionStatus.IN_PROGRESS})

#: The statuses each action command may start from; any other status is an illegal transition.
ACTION_TRANSITIONS: dict[str, frozenset[ActionStatus]] = {
    "start_action": frozenset({ActionStatus.PLANNED}),
    "complete_action": _UNBLOCKED,
    "block_action": _UNBLOCKED,
    "unblock_action": frozenset({ActionStatus.BLOCKED}),
    "reschedule_action": _LIVE,
    "reassign_action": _LIVE,
    "cancel_action": _LIVE,
}


def _amount(field_name: str, value: Any, *, minimum: Decimal | None = None) -> Decimal:
    # Floats are refused: they would smuggle binary rounding into stored money and metrics.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidValueError(field_name, "must be a decimal number")
    amount = Decimal(value)
    if not amount.is_finite():
        raise InvalidValueError(field_name, "must be a finite number")
    if minimum is not None and amount < minimum:
        raise InvalidValueError(field_name, f"must be at least {minimum}")
    return amount


def _day(field_name: str, value: Any) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidValueError(field_name, "must be a date")
    return value


def _optional_text(field_name: str, value: str | None, *, max_length: int = 2000) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return require_text(field_name, value, max_length=max_length)


class AccountPlan(KamAggregate):
    """One key account's plan for one planning period (e.g. ``2027``)."""

    #: Version 2 dates every review (``kam_domain.dates.fact_time``), never None.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A version 1 snapshot left a review's date None when the command gave none: it
        was the recorded time of an event the snapshot no longer holds, so the snapshot is
        marked to be replayed from the events (``app_core``)."""
        if any(review.occurred_on is None for review in state.get("reviews", [])):
            state[REPLAY_MARK] = True

    @staticmethod
    def create_id(account_id: UUID, period: str) -> UUID:
        """The plan's id: deterministic, so a second plan for the same period collides."""
        return uuid5(NAMESPACE_URL, f"kam:plan:{account_id}:{period.strip()}")

    @classmethod
    def draft_plan(
        cls, *, account_id: UUID, period: str, title: str | None, meta: Envelope
    ) -> AccountPlan:
        """Drafts the plan of an account for a period."""
        if not isinstance(account_id, UUID):
            raise InvalidValueError("account_id", "must be a UUID")
        period = require_text("period", period, max_length=20)
        title = _optional_text("title", title, max_length=200)
        return cls(account_id=account_id, period=period, title=title, meta=meta)

    @event("Drafted")
    def __init__(self, account_id: UUID, period: str, title: str | None, meta: Envelope) -> None:
        self.account_id = account_id
        self.period = period
        self.title = title
        self.direction: str | None = None
        self.priorities: list[str] = []
        self.shared_with_customer: bool | None = None
        self.customer_notes: str | None = None
        self.objectives: dict[str, PlanObjective] = {}
        self.opportunities: dict[str, PlanOpportunity] = {}
        self.actions: dict[str, PlanAction] = {}
        self.research_answers: dict[str, str] = {}
        self.reviews: list[PlanReview] = []
        self.closed = False

    # --- Queries ----------------------------------------------------------------------

    def open_actions(self) -> list[PlanAction]:
        """Actions not yet completed or cancelled, in the order they were added."""
        return [a for a in self.actions.values() if not a.status.is_terminal]

    def overdue_actions(self, today: date) -> list[PlanAction]:
        """Open actions due before ``today``, most overdue first."""
        return sorted((a for a in self.open_actions() if a.due_on < today), key=lambda a: a.due_on)

    def unanswered_categories(self) -> list[ResearchCategory]:
        """Research categories in which no question has been answered yet."""
        answered = {QUESTION_BANK[q].category for q in self.research_answers if q in QUESTION_BANK}
        return [category for category in ResearchCategory if category not in answered]

    # --- Direction, sharing, research, review, closing ------------------------------

    def state_direction(self, *, direction: str, priorities: list[str], meta: Envelope) -> None:
        """States where the account should go this period and the priorities to get there."""
        self._require_open()
        direction = require_text("direction", direction)
        if not isinstance(priorities, list):
            raise InvalidValueError("priorities", "must be a list")
        cleaned = [require_text("priorities", p, max_length=200) for p in priorities]
        self._direction_stated(direction=direction, priorities=cleaned, meta=meta)

    @event("DirectionStated")
    def _direction_stated(self, direction: str, priorities: list[str], meta: Envelope) -> None:
        self.direction = direction
        self.priorities = list(priorities)

    def share_plan(self, *, agreed: bool, notes: str | None, meta: Envelope) -> None:
        """Records that the plan was shared with the customer, and whether they agreed it."""
        self._require_open()
        if not isinstance(agreed, bool):
            raise InvalidValueError("agreed", "must be true or false")
        notes = _optional_text("notes", notes)
        self._shared_with_customer(agreed=agreed, notes=notes, meta=meta)

    @event("SharedWithCustomer")
    def _shared_with_customer(self, agreed: bool, notes: str | None, meta: Envelope) -> None:
        self.shared_with_customer = agreed
        self.customer_notes = notes

    def answer_research_question(self, *, question_id: str, answer: str, meta: Envelope) -> None:
        """Answers a question of the research bank (a later answer replaces an earlier one)."""
        self._require_open()
        question = get_question(question_id)
        answer = require_text("answer", answer, max_length=4000)
        self._research_question_answered(
            question_id=question.id, category=question.category, answer=answer, meta=meta
        )

    @event("ResearchQuestionAnswered")
    def _research_question_answered(
        self, question_id: str, category: ResearchCategory, answer: str, meta: Envelope
    ) -> None:
        self.research_answers[question_id] = answer

    def review_plan(self, *, notes: str, kpi_status: KpiStatus, meta: Envelope) -> None:
        """Reviews the plan against its KPIs."""
        self._require_open()
        notes = require_text("notes", notes, max_length=4000)
        if not isinstance(kpi_status, KpiStatus):
            raise InvalidValueError("kpi_status", "must be a KPI status")
        self._reviewed(notes=notes, kpi_status=kpi_status, meta=meta)

    @event("Reviewed")
    def _reviewed(self, notes: str, kpi_status: KpiStatus, meta: Envelope) -> None:
        review = PlanReview(notes, kpi_status, meta.actor, self.happened_at(meta))
        self.reviews = [*self.reviews, review]

    def close_plan(self, *, meta: Envelope) -> None:
        """Closes the plan; it becomes read-only."""
        self._require_open()
        self._closed(meta=meta)

    @event("Closed")
    def _closed(self, meta: Envelope) -> None:
        self.closed = True

    # --- Objectives -------------------------------------------------------------------

    def set_objective(
        self,
        *,
        statement: str,
        metric: str,
        baseline: Decimal,
        target: Decimal,
        due_on: date,
        meta: Envelope,
    ) -> UUID:
        """Sets a SMART objective, due no earlier than the plan's period starts; returns its
        id."""
        self._require_open()
        statement = require_text("statement", statement, max_length=500)
        metric = require_text("metric", metric, max_length=200)
        baseline, target = _amount("baseline", baseline), _amount("target", target)
        if target == baseline:
            raise InvalidValueError("target", "must differ from the baseline")
        due_on = _day("due_on", due_on)
        not_before_period("due_on", due_on, self.period)
        objective_id = uuid4()
        self._objective_set(
            objective_id=objective_id,
            statement=statement,
            metric=metric,
            baseline=baseline,
            target=target,
            due_on=due_on,
            meta=meta,
        )
        return objective_id

    @event("ObjectiveSet")
    def _objective_set(
        self,
        objective_id: UUID,
        statement: str,
        metric: str,
        baseline: Decimal,
        target: Decimal,
        due_on: date,
        meta: Envelope,
    ) -> None:
        objective = PlanObjective(objective_id, statement, metric, baseline, target, due_on)
        self.objectives[str(objective_id)] = objective

    def record_progress(
        self, *, objective_id: UUID, value: Decimal, note: str | None, meta: Envelope
    ) -> None:
        """Records a measured value of an open objective's metric."""
        self._open_objective(objective_id)
        value, note = _amount("value", value), _optional_text("note", note)
        self._objective_progress_recorded(
            objective_id=objective_id, value=value, note=note, meta=meta
        )

    @event("ObjectiveProgressRecorded")
    def _objective_progress_recorded(
        self, objective_id: UUID, value: Decimal, note: str | None, meta: Envelope
    ) -> None:
        objective = self.objectives[str(objective_id)]
        self.objectives[str(objective_id)] = replace(
            objective, progress=[*objective.progress, value]
        )

    def achieve_objective(self, *, objective_id: UUID, meta: Envelope) -> None:
        """Marks an open objective achieved."""
        self._open_objective(objective_id)
        self._objective_achieved(objective_id=objective_id, meta=meta)

    @event("ObjectiveAchieved")
    def _objective_achieved(self, objective_id: UUID, meta: Envelope) -> None:
        self._resolve_objective(objective_id, ObjectiveStatus.ACHIEVED)

    def miss_objective(self, *, objective_id: UUID, meta: Envelope) -> None:
        """Marks an open objective missed (``meta.reason`` says why)."""
        self._open_objective(objective_id)
        self.require_reason(meta, "missing an objective")
        self._objective_missed(objective_id=objective_id, meta=meta)

    @event("ObjectiveMissed")
    def _objective_missed(self, objective_id: UUID, meta: Envelope) -> None:
        self._resolve_objective(objective_id, ObjectiveStatus.MISSED)

    def _resolve_objective(self, objective_id: UUID, status: ObjectiveStatus) -> None:
        key = str(objective_id)
        self.objectives[key] = replace(self.objectives[key], status=status)

    # --- Opportunities ----------------------------------------------------------------

    def identify_opportunity(
        self,
        *,
        kind: OpportunityKind,
        title: str,
        value: Decimal,
        probability: int,
        meta: Envelope,
    ) -> UUID:
        """Adds an opportunity to the pipeline; returns its id."""
        self._require_open()
        if not isinstance(kind, OpportunityKind):
            raise InvalidValueError("kind", "must be an opportunity kind")
        opportunity_id = uuid4()
        self._opportunity_identified(
            opportunity_id=opportunity_id,
            kind=kind,
            title=require_text("title", title, max_length=200),
            value=_amount("value", value, minimum=Decimal(0)),
            probability=require_range("probability", probability, 0, 100),
            meta=meta,
        )
        return opportunity_id

    @event("OpportunityIdentified")
    def _opportunity_identified(
        self,
        opportunity_id: UUID,
        kind: OpportunityKind,
        title: str,
        value: Decimal,
        probability: int,
        meta: Envelope,
    ) -> None:
        opportunity = PlanOpportunity(opportunity_id, kind, title, value, probability)
        self.opportunities[str(opportunity_id)] = opportunity

    def advance_opportunity(
        self, *, opportunity_id: UUID, probability: int, note: str | None, meta: Envelope
    ) -> None:
        """Updates an open opportunity's probability of closing."""
        self._open_opportunity(opportunity_id)
        probability = require_range("probability", probability, 0, 100)
        note = _optional_text("note", note)
        self._opportunity_advanced(
            opportunity_id=opportunity_id, probability=probability, note=note, meta=meta
        )

    @event("OpportunityAdvanced")
    def _opportunity_advanced(
        self, opportunity_id: UUID, probability: int, note: str | None, meta: Envelope
    ) -> None:
        key = str(opportunity_id)
        self.opportunities[key] = replace(self.opportunities[key], probability=probability)

    def win_opportunity(
        self, *, opportunity_id: UUID, value: Decimal | None, meta: Envelope
    ) -> None:
        """Marks an open opportunity won, at ``value`` or else at its estimated value."""
        opportunity = self._open_opportunity(opportunity_id)
        won = opportunity.value if value is None else _amount("value", value, minimum=Decimal(0))
        self._opportunity_won(opportunity_id=opportunity_id, value=won, meta=meta)

    @event("OpportunityWon")
    def _opportunity_won(self, opportunity_id: UUID, value: Decimal, meta: Envelope) -> None:
        key = str(opportunity_id)
        self.opportunities[key] = replace(
            self.opportunities[key], status=OpportunityStatus.WON, value=value, probability=100
        )

    def lose_opportunity(self, *, opportunity_id: UUID, meta: Envelope) -> None:
        """Marks an open opportunity lost (``meta.reason`` says why)."""
        self._open_opportunity(opportunity_id)
        self.require_reason(meta, "losing an opportunity")
        self._opportunity_lost(opportunity_id=opportunity_id, meta=meta)

    @event("OpportunityLost")
    def _opportunity_lost(self, opportunity_id: UUID, meta: Envelope) -> None:
        key = str(opportunity_id)
        self.opportunities[key] = replace(
            self.opportunities[key], status=OpportunityStatus.LOST, probability=0
        )

    # --- Actions ----------------------------------------------------------------------

    def add_action(
        self,
        *,
        what: str,
        owner: str,
        due_on: date,
        stakeholder_ids: list[UUID],
        success_measure: str | None,
        objective_id: UUID | None,
        meta: Envelope,
    ) -> UUID:
        """Adds a planned action, optionally towards a plan objective; returns its id."""
        self._require_open()
        what = require_text("what", what, max_length=500)
        owner = require_name("owner", owner)
        due_on = _day("due_on", due_on)
        if not isinstance(stakeholder_ids, list) or not all(
            isinstance(s, UUID) for s in stakeholder_ids
        ):
            raise InvalidValueError("stakeholder_ids", "must be a list of UUIDs")
        success_measure = _optional_text("success_measure", success_measure, max_length=500)
        if objective_id is not None:
            self._objective(objective_id)
        action_id = uuid4()
        self._action_added(
            action_id=action_id,
            what=what,
            owner=owner,
            due_on=due_on,
            stakeholder_ids=list(dict.fromkeys(stakeholder_ids)),
            success_measure=success_measure,
            objective_id=objective_id,
            meta=meta,
        )
        return action_id

    @event("ActionAdded")
    def _action_added(
        self,
        action_id: UUID,
        what: str,
        owner: str,
        due_on: date,
        stakeholder_ids: list[UUID],
        success_measure: str | None,
        objective_id: UUID | None,
        meta: Envelope,
    ) -> None:
        self.actions[str(action_id)] = PlanAction(
            action_id, what, owner, due_on, list(stakeholder_ids), success_measure, objective_id
        )

    def start_action(self, *, action_id: UUID, meta: Envelope) -> None:
        """Starts a planned action."""
        self._action_for(action_id, "start_action")
        self._action_started(action_id=action_id, meta=meta)

    @event("ActionStarted")
    def _action_started(self, action_id: UUID, meta: Envelope) -> None:
        self._update_action(action_id, status=ActionStatus.IN_PROGRESS)

    def complete_action(self, *, action_id: UUID, outcome: str, meta: Envelope) -> None:
        """Completes a planned or in-progress action with its outcome."""
        self._action_for(action_id, "complete_action")
        outcome = require_text("outcome", outcome, max_length=2000)
        self._action_completed(action_id=action_id, outcome=outcome, meta=meta)

    @event("ActionCompleted")
    def _action_completed(self, action_id: UUID, outcome: str, meta: Envelope) -> None:
        self._update_action(action_id, status=ActionStatus.COMPLETED, outcome=outcome)

    def block_action(self, *, action_id: UUID, meta: Envelope) -> None:
        """Blocks a planned or in-progress action (``meta.reason`` says by what)."""
        action = self._action_for(action_id, "block_action")
        self.require_reason(meta, "blocking an action")
        self._action_blocked(action_id=action_id, blocked_from=action.status, meta=meta)

    @event("ActionBlocked")
    def _action_blocked(self, action_id: UUID, blocked_from: ActionStatus, meta: Envelope) -> None:
        self._update_action(action_id, status=ActionStatus.BLOCKED, blocked_from=blocked_from)

    def unblock_action(self, *, action_id: UUID, meta: Envelope) -> None:
        """Unblocks a blocked action, returning it to the status it was blocked from."""
        action = self._action_for(action_id, "unblock_action")
        status = action.blocked_from or ActionStatus.PLANNED
        self._action_unblocked(action_id=action_id, status=status, meta=meta)

    @event("ActionUnblocked")
    def _action_unblocked(self, action_id: UUID, status: ActionStatus, meta: Envelope) -> None:
        self._update_action(action_id, status=status, blocked_from=None)

    def reschedule_action(self, *, action_id: UUID, due_on: date, meta: Envelope) -> None:
        """Moves an open action's due date (``meta.reason`` says why)."""
        action = self._action_for(action_id, "reschedule_action")
        if _day("due_on", due_on) == action.due_on:
            raise InvalidValueError("due_on", "is already the action's due date")
        self.require_reason(meta, "rescheduling an action")
        self._action_rescheduled(
            action_id=action_id, previous_due_on=action.due_on, due_on=due_on, meta=meta
        )

    @event("ActionRescheduled")
    def _action_rescheduled(
        self, action_id: UUID, previous_due_on: date, due_on: date, meta: Envelope
    ) -> None:
        self._update_action(action_id, due_on=due_on)

    def reassign_action(self, *, action_id: UUID, owner: str, meta: Envelope) -> None:
        """Gives an open action to another owner."""
        action = self._action_for(action_id, "reassign_action")
        owner = require_name("owner", owner)
        if owner == action.owner:
            raise InvalidValueError("owner", "already owns the action")
        self._action_reassigned(
            action_id=action_id, previous_owner=action.owner, owner=owner, meta=meta
        )

    @event("ActionReassigned")
    def _action_reassigned(
        self, action_id: UUID, previous_owner: str, owner: str, meta: Envelope
    ) -> None:
        self._update_action(action_id, owner=owner)

    def cancel_action(self, *, action_id: UUID, meta: Envelope) -> None:
        """Cancels an open action (``meta.reason`` says why)."""
        self._action_for(action_id, "cancel_action")
        self.require_reason(meta, "cancelling an action")
        self._action_cancelled(action_id=action_id, meta=meta)

    @event("ActionCancelled")
    def _action_cancelled(self, action_id: UUID, meta: Envelope) -> None:
        self._update_action(action_id, status=ActionStatus.CANCELLED, blocked_from=None)

    # --- Guards and lookups -----------------------------------------------------------

    def _require_open(self) -> None:
        if self.closed:
            raise PlanClosedError(f"plan {self.period} is closed", plan_id=str(self.id))

    def _objective(self, objective_id: UUID) -> PlanObjective:
        key = str(objective_id) if isinstance(objective_id, UUID) else None
        if key not in self.objectives:
            raise ObjectiveNotFoundError(
                f"no objective {objective_id}", objective_id=str(objective_id)
            )
        return self.objectives[key]

    def _open_objective(self, objective_id: UUID) -> PlanObjective:
        self._require_open()
        objective = self._objective(objective_id)
        if objective.status is not ObjectiveStatus.OPEN:
            raise ObjectiveAlreadyResolvedError(
                f"objective {objective_id} is already {objective.status.value}",
                objective_id=str(objective_id),
                status=objective.status.value,
            )
        return objective

    def _open_opportunity(self, opportunity_id: UUID) -> PlanOpportunity:
        self._require_open()
        key = str(opportunity_id) if isinstance(opportunity_id, UUID) else None
        if key not in self.opportunities:
            raise OpportunityNotFoundError(
                f"no opportunity {opportunity_id}", opportunity_id=str(opportunity_id)
            )
        opportunity = self.opportunities[key]
        if opportunity.status is not OpportunityStatus.OPEN:
            raise OpportunityAlreadyClosedError(
                f"opportunity {opportunity_id} is already {opportunity.status.value}",
                opportunity_id=str(opportunity_id),
                status=opportunity.status.value,
            )
        return opportunity

    def _action_for(self, action_id: UUID, command: str) -> PlanAction:
        """The action, if ``command`` may move it from its current status."""
        self._require_open()
        key = str(action_id) if isinstance(action_id, UUID) else None
        if key not in self.actions:
            raise ActionNotFoundError(f"no action {action_id}", action_id=str(action_id))
        action = self.actions[key]
        if action.status not in ACTION_TRANSITIONS[command]:
            raise IllegalActionTransitionError(
                f"cannot {command.removesuffix('_action')} an action that is "
                f"{action.status.value.replace('_', ' ')}",
                action_id=str(action_id),
                from_status=action.status.value,
                command=command,
            )
        return action

    def _update_action(self, action_id: UUID, **changes: Any) -> None:
        key = str(action_id)
        self.actions[key] = replace(self.actions[key], **changes)
