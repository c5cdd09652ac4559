"""The plan planner: one account plan as the history knows it, and its next steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID

from kam_api.demo.portfolio import Move, Planner
from kam_api.demo.steps import Kind, Step, ref
from kam_api.demo.words import (
    ACTIONS,
    BLOCKERS,
    OBJECTIVES,
    QUESTIONS,
    RESEARCH_ANSWERS,
    REVIEW_NOTES,
    SPECIALISTS,
)
from kam_domain import commands as cmd
from kam_domain.account_plans import ACTION_TRANSITIONS
from kam_domain.values import ActionStatus, KpiStatus, ObjectiveStatus, OpportunityKind
from kam_domain.values import OpportunityStatus as Deal

if TYPE_CHECKING:
    from kam_api.demo.accounts import AccountPlanner


@dataclass
class Objective:
    baseline: int
    target: int
    status: ObjectiveStatus = ObjectiveStatus.OPEN


@dataclass
class Action:
    owner: str
    due_on: date
    status: ActionStatus = ActionStatus.PLANNED
    blocked_from: ActionStatus = ActionStatus.PLANNED


class PlanPlanner(Planner):
    """An account plan for one period: its objectives, opportunities and actions."""

    def __init__(self, account: AccountPlanner, period: str) -> None:
        super().__init__(account.choose, account.clock)
        self.account = account
        self.number = len(account.portfolio.plans)
        self.reference = ref(Kind.PLAN, self.number)
        self.period = period
        self.closed = False
        self.objectives: list[Objective] = []
        self.opportunities: list[Deal] = []
        self.actions: list[Action] = []

    @property
    def gone(self) -> bool:
        return self.closed or self.account.exited

    @property
    def last_day(self) -> date:
        """The last day actions fall due in this plan's year."""
        return date(int(self.period), 12, 10)

    def moves(self, late: bool) -> list[Move]:
        """The steps that could come next, weighted (for a random walk through a history)."""
        moves = [
            self.move(2, self.state_direction),
            self.move(1, self.share),
            self.move(3, self.set_objective),
            self.move(3, self.identify_opportunity),
            self.move(5, self.add_action),
            self.move(2, self.answer_research_question),
            self.move(2, self.review),
        ]
        if late:
            moves.append(self.move(1, self.close))
        if self.open(self.objectives):
            moves.append(self.move(5, self.resolve_objective))
        if Deal.OPEN in self.opportunities:
            moves.append(self.move(5, self.move_opportunity))
        if any(not a.status.is_terminal for a in self.actions):
            moves.append(self.move(14, self.move_action))
        return moves

    def say(self, command: cmd.Command, day: date, reason: str | None = None) -> Step:
        """The step of the account's manager sending ``command``."""
        return self.step(command, day, self.account.actor, reason=reason)

    # --- The plan itself -------------------------------------------------------------------

    def draft(self, day: date, *, created: bool = True) -> Step:
        """Drafts the plan (a second plan for the same period is refused: not ``created``)."""
        command = cmd.DraftPlan(
            account_id=self.account.reference,
            period=self.period,
            title=f"Account plan {self.period}",
        )
        creates = self.reference if created else None
        return self.step(command, day, self.account.actor, creates=creates)

    def state_direction(self, day: date) -> Step:
        priorities = ("protect renewal", "expand to second plant", "raise NPS")
        command = cmd.StateDirection(
            plan_id=self.reference,
            direction="Protect the core and expand into adjacent sites",
            priorities=priorities[: self.choose.integer(1, 3)],
        )
        return self.say(command, day)

    def share(self, day: date) -> Step:
        agreed = self.choose.chance(80)
        notes = None if agreed else "Wants more detail on pricing"
        return self.say(cmd.SharePlan(plan_id=self.reference, agreed=agreed, notes=notes), day)

    def answer_research_question(self, day: date, number: int | None = None) -> Step:
        """Answers a question of the bank (by mistake, one that is not in it)."""
        if number is None:
            number = self.choose.integer(0, len(QUESTIONS) - 1)
        question = QUESTIONS[number]
        command = cmd.AnswerResearchQuestion(
            plan_id=self.reference,
            question_id="no-such-question" if self.choose.mistake() else question.id,
            answer=RESEARCH_ANSWERS[question.category],
        )
        return self.say(command, day)

    def review(self, day: date) -> Step:
        status = self.choose.pick(list(KpiStatus))
        command = cmd.ReviewPlan(
            plan_id=self.reference,
            notes=self.choose.pick(REVIEW_NOTES),
            kpi_status=KpiStatus.OFF_TRACK if self.account.cooling(day) else status,
        )
        return self.say(command, day)

    def close(self, day: date) -> Step:
        self.closed = True
        return self.say(cmd.ClosePlan(plan_id=self.reference), day)

    # --- Objectives ------------------------------------------------------------------------

    @staticmethod
    def open(items: list[Objective]) -> list[int]:
        return [n for n, o in enumerate(items) if o.status is ObjectiveStatus.OPEN]

    def objective(self, number: int) -> UUID:
        return ref(Kind.OBJECTIVE, number, of=self.number)

    def set_objective(self, day: date) -> Step:
        statement, metric = self.choose.pick(OBJECTIVES)
        baseline = self.choose.integer(20, 60)
        target = baseline + self.choose.integer(10, 30) * self.choose.pick((1, 1, -1))
        creates = None
        if not self.gone:
            creates = self.objective(len(self.objectives))
            self.objectives.append(Objective(baseline, target))
        command = cmd.SetObjective(
            plan_id=self.reference,
            statement=statement,
            metric=metric,
            baseline=Decimal(baseline),
            target=Decimal(target),
            due_on=self.last_day + timedelta(days=5),
        )
        return self.step(command, day, self.account.actor, creates=creates)

    def record_progress(self, day: date, number: int) -> Step:
        objective = self.objectives[number]
        share = Decimal(self.choose.integer(1, 4)) / 4
        value = objective.baseline + (objective.target - objective.baseline) * share
        command = cmd.RecordProgress(
            plan_id=self.reference,
            objective_id=self.objective(number),
            value=value.quantize(Decimal("0.1")),
            note=None,
        )
        return self.say(command, day)

    def achieve_objective(self, day: date, number: int) -> Step:
        if not self.gone:
            self.objectives[number].status = ObjectiveStatus.ACHIEVED
        command = cmd.AchieveObjective(plan_id=self.reference, objective_id=self.objective(number))
        return self.say(command, day)

    def miss_objective(self, day: date, number: int) -> Step:
        reason = self.reason("customer postponed the rollout")
        if reason and not self.gone:
            self.objectives[number].status = ObjectiveStatus.MISSED
        command = cmd.MissObjective(plan_id=self.reference, objective_id=self.objective(number))
        return self.say(command, day, reason)

    def resolve_objective(self, day: date) -> Step:
        """Progress on an open objective, or its end: achieved or missed."""
        number = self.choose.pick(self.open(self.objectives))
        move = self.choose.integer(0, 5)
        if move <= 2:
            return self.record_progress(day, number)
        if move <= 4:
            return self.achieve_objective(day, number)
        return self.miss_objective(day, number)

    # --- Opportunities ---------------------------------------------------------------------

    def opportunity(self, number: int) -> UUID:
        return ref(Kind.OPPORTUNITY, number, of=self.number)

    def identify_opportunity(self, day: date) -> Step:
        kind = self.choose.pick(list(OpportunityKind))
        creates = None
        if not self.gone:
            creates = self.opportunity(len(self.opportunities))
            self.opportunities.append(Deal.OPEN)
        command = cmd.IdentifyOpportunity(
            plan_id=self.reference,
            kind=kind,
            title=f"{kind.value.replace('_', ' ').title()} deal",
            value=Decimal(self.choose.integer(20, 600) * 1000),
            probability=self.choose.integer(2, 5) * 10,
        )
        return self.step(command, day, self.account.actor, creates=creates)

    def advance_opportunity(self, day: date, number: int) -> Step:
        command = cmd.AdvanceOpportunity(
            plan_id=self.reference,
            opportunity_id=self.opportunity(number),
            probability=60,
            note="Proposal sent",
        )
        return self.say(command, day)

    def win_opportunity(self, day: date, number: int) -> Step:
        if not self.gone:
            self.opportunities[number] = Deal.WON
        value = self.choose.money(20_000, 600_000) if self.choose.chance(50) else None
        command = cmd.WinOpportunity(
            plan_id=self.reference, opportunity_id=self.opportunity(number), value=value
        )
        return self.say(command, day)

    def lose_opportunity(self, day: date, number: int) -> Step:
        reason = self.reason("lost on price to a competitor")
        if reason and not self.gone:
            self.opportunities[number] = Deal.LOST
        command = cmd.LoseOpportunity(
            plan_id=self.reference, opportunity_id=self.opportunity(number)
        )
        return self.say(command, day, reason)

    def move_opportunity(self, day: date) -> Step:
        """An open opportunity advances, is won, or is lost."""
        number = self.choose.pick([n for n, d in enumerate(self.opportunities) if d is Deal.OPEN])
        move = self.choose.integer(0, 3)
        if move <= 1:
            return self.advance_opportunity(day, number)
        if move == 2:
            return self.win_opportunity(day, number)
        return self.lose_opportunity(day, number)

    # --- Actions ---------------------------------------------------------------------------

    def action(self, number: int) -> UUID:
        return ref(Kind.ACTION, number, of=self.number)

    def add_action(self, day: date) -> Step:
        """An action for the manager or a specialist, due one to six months later."""
        due_on = self.choose.days_after(day, 30, 200)
        if day < self.last_day:
            due_on = min(due_on, self.last_day)
        owner = self.choose.pick([self.account.actor, *SPECIALISTS[:3]])
        people = self.account.present_stakeholders()[:3]
        involved = self.choose.sample(people, self.choose.integer(0, 2) if people else 0)
        objective = None
        if self.objectives and self.choose.chance(60):
            objective = self.objective(self.choose.integer(0, len(self.objectives) - 1))
        creates = None
        if not self.gone:
            creates = self.action(len(self.actions))
            self.actions.append(Action(owner, due_on))
        command = cmd.AddAction(
            plan_id=self.reference,
            what=self.choose.pick(ACTIONS),
            owner=owner,
            due_on=due_on,
            stakeholder_ids=tuple(p.reference for p in involved),
            success_measure="Customer confirms next step in writing",
            objective_id=objective,
        )
        return self.step(command, day, self.account.actor, creates=creates)

    def allows(self, number: int, transition: str, reason: str | None = "") -> bool:
        """Whether the domain will accept ``transition`` on the action (so the model follows)."""
        status = self.actions[number].status
        return not self.gone and reason is not None and status in ACTION_TRANSITIONS[transition]

    def start_action(self, day: date, number: int) -> Step:
        if self.allows(number, "start_action"):
            self.actions[number].status = ActionStatus.IN_PROGRESS
        command = cmd.StartAction(plan_id=self.reference, action_id=self.action(number))
        return self.step(command, day, self.actions[number].owner)

    def complete_action(self, day: date, number: int) -> Step:
        if self.allows(number, "complete_action"):
            self.actions[number].status = ActionStatus.COMPLETED
        command = cmd.CompleteAction(
            plan_id=self.reference,
            action_id=self.action(number),
            outcome="Done; customer agreed next steps",
        )
        return self.step(command, day, self.actions[number].owner)

    def block_action(self, day: date, number: int) -> Step:
        action, reason = self.actions[number], self.reason(self.choose.pick(BLOCKERS))
        if self.allows(number, "block_action", reason):
            action.status, action.blocked_from = ActionStatus.BLOCKED, action.status
        command = cmd.BlockAction(plan_id=self.reference, action_id=self.action(number))
        return self.step(command, day, action.owner, reason=reason)

    def unblock_action(self, day: date, number: int) -> Step:
        action = self.actions[number]
        if self.allows(number, "unblock_action"):
            action.status = action.blocked_from
        command = cmd.UnblockAction(plan_id=self.reference, action_id=self.action(number))
        return self.step(command, day, action.owner)

    def reschedule_action(self, day: date, number: int) -> Step:
        """Moves the due date two to six weeks later (at most to the plan's year end)."""
        action, reason = self.actions[number], self.reason("customer moved the steering meeting")
        due_on = self.choose.days_after(action.due_on, 14, 45)
        if action.due_on <= self.last_day:
            due_on = min(due_on, self.last_day + timedelta(days=2))
        if self.allows(number, "reschedule_action", reason):
            action.due_on = due_on
        command = cmd.RescheduleAction(
            plan_id=self.reference, action_id=self.action(number), due_on=due_on
        )
        return self.step(command, day, action.owner, reason=reason)

    def reassign_action(self, day: date, number: int, owner: str | None = None) -> Step:
        """Gives the action to someone else (a specialist, unless ``owner`` is named)."""
        action = self.actions[number]
        owner = owner or self.choose.pick([s for s in SPECIALISTS[3:] if s != action.owner])
        if self.allows(number, "reassign_action"):
            action.owner = owner
        command = cmd.ReassignAction(
            plan_id=self.reference, action_id=self.action(number), owner=owner
        )
        return self.say(command, day)

    def cancel_action(self, day: date, number: int) -> Step:
        reason = self.reason("superseded by the new roadmap")
        if self.allows(number, "cancel_action", reason):
            self.actions[number].status = ActionStatus.CANCELLED
        command = cmd.CancelAction(plan_id=self.reference, action_id=self.action(number))
        return self.say(command, day, reason)

    def move_action(self, day: date) -> Step:
        """A live action moves on: mostly a transition its status allows (blocked actions are
        mostly unblocked); by mistake, any transition."""
        live = [n for n, a in enumerate(self.actions) if not a.status.is_terminal]
        blocked = [n for n in live if self.actions[n].status is ActionStatus.BLOCKED]
        number = self.choose.pick(blocked if blocked and self.choose.chance(50) else live)
        status = self.actions[number].status
        names = list(ACTION_TRANSITIONS)
        if not self.choose.mistake():
            names = [name for name in names if status in ACTION_TRANSITIONS[name]]
            if status is ActionStatus.BLOCKED:
                names += ["unblock_action"] * 3
        transitions = {
            "start_action": self.start_action,
            "complete_action": self.complete_action,
            "block_action": self.block_action,
            "unblock_action": self.unblock_action,
            "reschedule_action": self.reschedule_action,
            "reassign_action": self.reassign_action,
            "cancel_action": self.cancel_action,
        }
        return transitions[self.choose.pick(names)](day, number)
