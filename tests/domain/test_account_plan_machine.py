"""AccountPlan under random command sequences, valid and not: refusals change nothing,
actions only make legal moves, final states stay final, and replay rebuilds the same plan.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from kam_domain.account_plans import AccountPlan
from kam_domain.base import replay
from kam_domain.errors import (
    ActionNotFoundError,
    IllegalActionTransitionError,
    KamError,
    ObjectiveAlreadyResolvedError,
    OpportunityAlreadyClosedError,
    PlanClosedError,
)
from kam_domain.research import QUESTION_BANK
from kam_domain.values import (
    ActionStatus,
    Envelope,
    KpiStatus,
    ObjectiveStatus,
    OpportunityKind,
    OpportunityStatus,
)

P, IP, B, C, X = (
    ActionStatus.PLANNED,
    ActionStatus.IN_PROGRESS,
    ActionStatus.BLOCKED,
    ActionStatus.COMPLETED,
    ActionStatus.CANCELLED,
)

# Written out independently of the aggregate's own table: the statuses each command may leave.
LEGAL_FROM: dict[str, set[ActionStatus]] = {
    "start_action": {P},
    "complete_action": {P, IP},
    "block_action": {P, IP},
    "unblock_action": {B},
    "reschedule_action": {P, IP, B},
    "reassign_action": {P, IP, B},
    "cancel_action": {P, IP, B},
}
# Moves that keep an action alive come first: hypothesis favours small choices.
WALK_ORDER = [
    "start_action",
    "block_action",
    "unblock_action",
    "reassign_action",
    "reschedule_action",
    "complete_action",
    "cancel_action",
]
NEEDS_REASON = {"block_action", "reschedule_action", "cancel_action"}


def mostly(
    valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Valid values five times in six, so that commands get far enough to hit the rules."""
    return st.integers(0, 5).flatmap(lambda n: invalid if n == 3 else valid)


amounts = mostly(
    st.decimals(min_value=0, max_value=10**7, places=2),
    st.sampled_from([Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity"), 1.5, "10", True]),
)
days = mostly(
    st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 3, 31)),
    st.sampled_from([datetime(2027, 2, 1, 9, 0), "2027-02-01"]),
)
texts = mostly(
    st.sampled_from(["Agree the pilot scope", "Budget signed", " padded "]),
    st.sampled_from(["", "   ", "y" * 2001]),
)
owners = mostly(st.sampled_from(["alice", "bob", " bob ", "carol"]), st.sampled_from(["", " "]))
metas = mostly(
    st.sampled_from([Envelope("alice", reason="customer asked"), Envelope("bob")]),
    st.just(Envelope("carol", reason=" ")),
)
# An index into the known ids, or (from 50 up) an id the plan has never seen.
picks = st.integers(0, 55)


class PlanMachine(RuleBasedStateMachine):
    """What both machines share: drafting, the action rules and checks, invariants, replay."""

    plan: AccountPlan

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []
        self.final_actions: dict[str, ActionStatus] = {}
        self.final_objectives: dict[str, ObjectiveStatus] = {}
        self.final_opportunities: dict[str, OpportunityStatus] = {}
        self.was_closed = False

    @initialize(period=st.sampled_from(["2027", "FY27", "2027-H1"]))
    def draft_plan(self, period: str) -> None:
        account_id = UUID("00000000-0000-4000-8000-000000000001")
        self.plan = AccountPlan.draft_plan(
            account_id=account_id, period=period, title="Plan", meta=Envelope("alice")
        )
        self.events.extend(self.plan.collect_events())

    # --- helpers ----------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return copy.deepcopy(
            {k: v for k, v in self.plan.__dict__.items() if k != "_pending_events"}
        )

    def _attempt(self, command: Callable[[], Any]) -> KamError | None:
        """Runs a command; a refusal must be a KamError that leaves no event and no change."""
        before = self._state()
        try:
            command()
        except KamError as error:
            assert self.plan.collect_events() == []
            assert self._state() == before
            return error
        new_events = list(self.plan.collect_events())
        assert len(new_events) == 1
        self.events.extend(new_events)
        return None

    @staticmethod
    def _choose(ids: list[str], pick: int) -> UUID:
        return UUID(ids[pick % len(ids)]) if ids and pick < 50 else UUID(int=pick)

    # --- actions ----------------------------------------------------------------------

    @precondition(lambda self: self.plan.actions)
    @rule(
        command=st.sampled_from(sorted(LEGAL_FROM)),
        pick=picks,
        meta=metas,
        due_on=days,
        owner=owners,
        outcome=texts,
    )
    def any_action_command(self, **args: Any) -> None:
        """Any command with random arguments on a random (possibly unknown) action."""
        self.action_command(**args)

    @precondition(lambda self: self.plan.actions)
    @rule(
        status=st.sampled_from(ActionStatus),
        which=st.integers(0, 4),
        command=st.sampled_from(sorted(LEGAL_FROM)),
    )
    def move_an_action_in_status(self, status: ActionStatus, which: int, command: str) -> None:
        """Any command on an action in the given status (any action if none is in it)."""
        keys = list(self.plan.actions)
        in_status = [k for k in keys if self.plan.actions[k].status is status] or keys
        pick = keys.index(in_status[which % len(in_status)])
        meta = Envelope("alice", reason="supplier delay")
        self.action_command(command, pick, meta, date(2027, 5, 1), "dora", "Signed off")

    @precondition(lambda self: len(self.plan.actions) < 3)
    @rule(due_on=st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 3, 31)))
    def add_planned_action(self, due_on: date) -> None:
        self._attempt(
            lambda: self.plan.add_action(
                what="Call the CFO",
                owner="alice",
                due_on=due_on,
                stakeholder_ids=[],
                success_measure="Meeting booked",
                objective_id=None,
                meta=Envelope("a"),
            )
        )

    def action_command(
        self,
        command: str,
        pick: int,
        meta: Envelope,
        due_on: Any,
        owner: str,
        outcome: str,
    ) -> None:
        action_id = self._choose(list(self.plan.actions), pick)
        before = self.plan.actions.get(str(action_id))
        calls: dict[str, Callable[[], Any]] = {
            "start_action": lambda: self.plan.start_action(action_id=action_id, meta=meta),
            "complete_action": lambda: self.plan.complete_action(
                action_id=action_id, outcome=outcome, meta=meta
            ),
            "block_action": lambda: self.plan.block_action(action_id=action_id, meta=meta),
            "unblock_action": lambda: self.plan.unblock_action(action_id=action_id, meta=meta),
            "reschedule_action": lambda: self.plan.reschedule_action(
                action_id=action_id, due_on=due_on, meta=meta
            ),
            "reassign_action": lambda: self.plan.reassign_action(
                action_id=action_id, owner=owner, meta=meta
            ),
            "cancel_action": lambda: self.plan.cancel_action(action_id=action_id, meta=meta),
        }

        refused = self._attempt(calls[command])

        if self.plan.closed:
            assert isinstance(refused, PlanClosedError)
            return
        if before is None:
            assert isinstance(refused, ActionNotFoundError)
            return
        if before.status not in LEGAL_FROM[command]:
            assert isinstance(refused, IllegalActionTransitionError)
            assert refused.details["from_status"] == before.status.value
            assert refused.details["command"] == command
            return
        args_valid = {
            "complete_action": outcome.strip() != "" and len(outcome) <= 2000,
            "reschedule_action": type(due_on) is date and due_on != before.due_on,
            "reassign_action": owner.strip() not in ("", before.owner),
        }.get(command, True)
        assert (refused is None) == (
            args_valid and (command not in NEEDS_REASON or meta.has_reason)
        )
        if refused is not None:
            return
        after = self.plan.actions[str(action_id)]
        expected = {
            "start_action": IP,
            "complete_action": C,
            "block_action": B,
            "unblock_action": before.blocked_from,
            "cancel_action": X,
        }.get(command, before.status)
        assert after.status is expected
        if command == "block_action":
            assert after.blocked_from is before.status

    @precondition(lambda self: len(self.events) > 20)
    @rule(meta=metas)
    def close(self, meta: Envelope) -> None:
        refused = self._attempt(lambda: self.plan.close_plan(meta=meta))
        assert (refused is not None) == self.was_closed
        self.was_closed = True

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def actions_keep_their_shape(self) -> None:
        for key, action in self.plan.actions.items():
            if key in self.final_actions:
                assert action.status is self.final_actions[key]
            elif action.status.is_terminal:
                self.final_actions[key] = action.status
            if action.status is B:
                assert action.blocked_from in (P, IP)
            else:
                assert action.blocked_from is None
            if action.status is C:
                assert action.outcome
            if action.objective_id is not None:
                assert str(action.objective_id) in self.plan.objectives
            assert len(set(action.stakeholder_ids)) == len(action.stakeholder_ids)

    @invariant()
    def resolved_objectives_stay_resolved(self) -> None:
        for key, objective in self.plan.objectives.items():
            if key in self.final_objectives:
                assert objective.status is self.final_objectives[key]
            elif objective.status is not ObjectiveStatus.OPEN:
                self.final_objectives[key] = objective.status
            assert objective.target != objective.baseline
            assert all(v.is_finite() for v in [objective.baseline, *objective.progress])

    @invariant()
    def closed_opportunities_stay_closed(self) -> None:
        for key, opportunity in self.plan.opportunities.items():
            if key in self.final_opportunities:
                assert opportunity.status is self.final_opportunities[key]
            elif opportunity.status is not OpportunityStatus.OPEN:
                self.final_opportunities[key] = opportunity.status
            assert 0 <= opportunity.probability <= 100
            assert opportunity.value >= 0
            if opportunity.status is OpportunityStatus.WON:
                assert opportunity.probability == 100
            if opportunity.status is OpportunityStatus.LOST:
                assert opportunity.probability == 0

    @invariant()
    def a_closed_plan_stays_closed(self) -> None:
        assert self.plan.closed is self.was_closed

    @invariant()
    def research_answers_are_for_bank_questions(self) -> None:
        assert set(self.plan.research_answers) <= set(QUESTION_BANK)

    def teardown(self) -> None:
        if hasattr(self, "plan"):
            assert replay(self.events) == self.plan
            assert self.events[-1].originator_version == self.plan.version


class AccountPlanMachine(PlanMachine):
    """Every command of the plan, with random and often invalid arguments."""

    # --- plan-wide rules --------------------------------------------------------------

    @rule(direction=texts, priorities=st.lists(texts, max_size=3), meta=metas)
    def state_direction(self, direction: str, priorities: list[str], meta: Envelope) -> None:
        self._attempt(
            lambda: self.plan.state_direction(direction=direction, priorities=priorities, meta=meta)
        )

    @rule(agreed=mostly(st.booleans(), st.just(None)), notes=st.none() | texts)
    def share_plan(self, agreed: Any, notes: str | None) -> None:
        self._attempt(lambda: self.plan.share_plan(agreed=agreed, notes=notes, meta=Envelope("a")))

    @rule(
        question_id=st.sampled_from([*list(QUESTION_BANK)[::5], "needs-99", ""]),
        answer=texts,
    )
    def answer_research_question(self, question_id: str, answer: str) -> None:
        refused = self._attempt(
            lambda: self.plan.answer_research_question(
                question_id=question_id, answer=answer, meta=Envelope("a")
            )
        )
        assert refused or self.plan.research_answers[question_id] == answer.strip()

    @rule(notes=texts, kpi=mostly(st.sampled_from(KpiStatus), st.just("on_track")))
    def review_plan(self, notes: str, kpi: Any) -> None:
        count = len(self.plan.reviews)
        refused = self._attempt(
            lambda: self.plan.review_plan(notes=notes, kpi_status=kpi, meta=Envelope("a"))
        )
        assert len(self.plan.reviews) == count + (0 if refused else 1)

    # --- objectives -------------------------------------------------------------------

    # Few objectives and opportunities, so that resolved ones are tried again.
    @precondition(lambda self: len(self.plan.objectives) < 3)
    @rule(statement=texts, baseline=amounts, goal=amounts, due_on=days)
    def set_objective(self, statement: str, baseline: Any, goal: Any, due_on: Any) -> None:
        self._attempt(
            lambda: self.plan.set_objective(
                statement=statement,
                metric="revenue",
                baseline=baseline,
                target=goal,
                due_on=due_on,
                meta=Envelope("a"),
            )
        )

    @precondition(lambda self: self.plan.objectives)
    @rule(
        command=st.sampled_from(["record_progress", "achieve_objective", "miss_objective"]),
        pick=picks,
        value=amounts,
        meta=metas,
    )
    def objective_command(self, command: str, pick: int, value: Any, meta: Envelope) -> None:
        objective_id = self._choose(list(self.plan.objectives), pick)
        calls: dict[str, Callable[[], Any]] = {
            "record_progress": lambda: self.plan.record_progress(
                objective_id=objective_id, value=value, note=None, meta=meta
            ),
            "achieve_objective": lambda: self.plan.achieve_objective(
                objective_id=objective_id, meta=meta
            ),
            "miss_objective": lambda: self.plan.miss_objective(
                objective_id=objective_id, meta=meta
            ),
        }
        before = self.plan.objectives.get(str(objective_id))
        refused = self._attempt(calls[command])
        if before is not None and before.status is not ObjectiveStatus.OPEN:
            assert isinstance(refused, PlanClosedError | ObjectiveAlreadyResolvedError)

    # --- opportunities ----------------------------------------------------------------

    @precondition(lambda self: len(self.plan.opportunities) < 3)
    @rule(
        kind=mostly(st.sampled_from(OpportunityKind), st.just("upsell")),
        value=amounts,
        probability=st.integers(-5, 105),
    )
    def identify_opportunity(self, kind: Any, value: Any, probability: int) -> None:
        self._attempt(
            lambda: self.plan.identify_opportunity(
                kind=kind, title="Deal", value=value, probability=probability, meta=Envelope("a")
            )
        )

    @precondition(lambda self: self.plan.opportunities)
    @rule(
        command=st.sampled_from(["advance_opportunity", "win_opportunity", "lose_opportunity"]),
        pick=picks,
        probability=st.integers(-5, 105),
        value=st.none() | amounts,
        meta=metas,
    )
    def opportunity_command(
        self, command: str, pick: int, probability: int, value: Any, meta: Envelope
    ) -> None:
        opportunity_id = self._choose(list(self.plan.opportunities), pick)
        calls: dict[str, Callable[[], Any]] = {
            "advance_opportunity": lambda: self.plan.advance_opportunity(
                opportunity_id=opportunity_id, probability=probability, note=None, meta=meta
            ),
            "win_opportunity": lambda: self.plan.win_opportunity(
                opportunity_id=opportunity_id, value=value, meta=meta
            ),
            "lose_opportunity": lambda: self.plan.lose_opportunity(
                opportunity_id=opportunity_id, meta=meta
            ),
        }
        before = self.plan.opportunities.get(str(opportunity_id))
        refused = self._attempt(calls[command])
        if before is not None and before.status is not OpportunityStatus.OPEN:
            assert isinstance(refused, PlanClosedError | OpportunityAlreadyClosedError)

    # --- actions ----------------------------------------------------------------------

    # Few actions, so that the same ones are moved again and again through their states.
    @precondition(lambda self: len(self.plan.actions) < 5)
    @rule(
        what=texts,
        owner=owners,
        due_on=days,
        stakeholders=st.lists(st.uuids(), max_size=3),
        objective=st.none() | picks,
    )
    def add_action(
        self,
        what: str,
        owner: str,
        due_on: Any,
        stakeholders: list[UUID],
        objective: int | None,
    ) -> None:
        objective_id = (
            None if objective is None else self._choose(list(self.plan.objectives), objective)
        )
        count = len(self.plan.actions)
        refused = self._attempt(
            lambda: self.plan.add_action(
                what=what,
                owner=owner,
                due_on=due_on,
                stakeholder_ids=stakeholders,
                success_measure=None,
                objective_id=objective_id,
                meta=Envelope("a"),
            )
        )
        assert len(self.plan.actions) == count + (0 if refused else 1)
        if not refused:
            added = list(self.plan.actions.values())[-1]
            assert added.status is P
            assert added.blocked_from is None


class ActionLifecycleMachine(PlanMachine):
    """Only actions: a few of them driven through every (status, command) pair, legal or not."""

    @precondition(lambda self: self.plan.actions)
    @rule(which=st.integers(0, 4), choice=st.integers(0, 6))
    def walk_an_action(self, which: int, choice: int) -> None:
        """A legal move where there is one, so that walks reach deep states (blocked from work)."""
        keys = list(self.plan.actions)
        status = self.plan.actions[keys[which % len(keys)]].status
        legal = [c for c in WALK_ORDER if status in LEGAL_FROM[c]]
        command = legal[choice % len(legal)] if legal else sorted(LEGAL_FROM)[choice]
        meta = Envelope("alice", reason="steering committee")
        self.action_command(command, which % len(keys), meta, date(2027, 6, 1), "erin", "Done")


FAST = settings(max_examples=60, stateful_step_count=30, deadline=None)
AccountPlanMachine.TestCase.settings = FAST
ActionLifecycleMachine.TestCase.settings = FAST
TestAccountPlanMachine = AccountPlanMachine.TestCase
TestActionLifecycleMachine = ActionLifecycleMachine.TestCase
