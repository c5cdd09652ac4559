"""AccountPlan: given a plan built by commands, when one command, then its events and state."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from types import FunctionType
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)

from kam_domain.account_plans import AccountPlan, PlanAction, PlanReview
from kam_domain.base import replay
from kam_domain.errors import (
    ActionNotFoundError,
    IllegalActionTransitionError,
    InvalidValueError,
    KamError,
    ObjectiveAlreadyResolvedError,
    ObjectiveNotFoundError,
    OpportunityAlreadyClosedError,
    OpportunityNotFoundError,
    PlanClosedError,
    ReasonRequiredError,
    ResearchQuestionNotFoundError,
)
from kam_domain.research import QUESTION_BANK, questions_in
from kam_domain.transcodings import register_kam_transcodings
from kam_domain.values import (
    ActionStatus,
    Envelope,
    KpiStatus,
    ObjectiveStatus,
    OpportunityKind,
    OpportunityStatus,
    ResearchCategory,
)

ACCOUNT_ID = UUID("6f1c1f3e-0000-4000-8000-000000000001")
META = Envelope(actor="alice")
WHY = Envelope(actor="alice", reason="the customer asked", correlation_id="req-1")
DUE = date(2027, 6, 30)

P, IP, B, C, X = (
    ActionStatus.PLANNED,
    ActionStatus.IN_PROGRESS,
    ActionStatus.BLOCKED,
    ActionStatus.COMPLETED,
    ActionStatus.CANCELLED,
)


# --- Given / then helpers ------------------------------------------------------------


def given_plan() -> AccountPlan:
    plan = AccountPlan.draft_plan(
        account_id=ACCOUNT_ID, period="2027", title="Grow EMEA", meta=META
    )
    plan.collect_events()
    return plan


def given_objective(plan: AccountPlan) -> UUID:
    objective_id = plan.set_objective(
        statement="Raise wallet share in logistics",
        metric="share of spend (%)",
        baseline=Decimal("12.5"),
        target=Decimal("20"),
        due_on=DUE,
        meta=META,
    )
    plan.collect_events()
    return objective_id


def given_opportunity(plan: AccountPlan) -> UUID:
    opportunity_id = plan.identify_opportunity(
        kind=OpportunityKind.EXPANSION,
        title="Warehouse robotics pilot",
        value=Decimal("250000"),
        probability=30,
        meta=META,
    )
    plan.collect_events()
    return opportunity_id


def given_action(plan: AccountPlan, status: ActionStatus = P, **overrides: Any) -> UUID:
    args: dict[str, Any] = {
        "what": "Run a QBR with the COO",
        "owner": "bob",
        "due_on": DUE,
        "stakeholder_ids": [],
        "success_measure": None,
        "objective_id": None,
        "meta": META,
    }
    action_id = plan.add_action(**(args | overrides))
    if status is IP:
        plan.start_action(action_id=action_id, meta=META)
    elif status is B:
        plan.block_action(action_id=action_id, meta=WHY)
    elif status is C:
        plan.complete_action(action_id=action_id, outcome="done", meta=META)
    elif status is X:
        plan.cancel_action(action_id=action_id, meta=WHY)
    plan.collect_events()
    return action_id


def state_of(plan: AccountPlan) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in plan.__dict__.items() if k != "_pending_events"})


def then_refused(plan: AccountPlan, error: type[KamError], command: Callable[[], Any]) -> KamError:
    before = state_of(plan)
    with pytest.raises(error) as raised:
        command()
    assert plan.collect_events() == []
    assert state_of(plan) == before
    return raised.value


def then_one_event(plan: AccountPlan, name: str) -> Any:
    events = plan.collect_events()
    assert [type(e).__name__ for e in events] == [name]
    return events[0]


# --- Drafting -------------------------------------------------------------------------


def test_drafting_a_plan_records_the_account_period_and_title() -> None:
    plan = AccountPlan.draft_plan(
        account_id=ACCOUNT_ID, period="2027", title="Grow EMEA", meta=META
    )

    drafted = then_one_event(plan, "Drafted")
    assert isinstance(drafted, AccountPlan.Drafted)  # type: ignore[attr-defined]
    assert (drafted.account_id, drafted.period, drafted.title) == (ACCOUNT_ID, "2027", "Grow EMEA")
    assert drafted.meta == META
    assert (plan.account_id, plan.period, plan.title) == (ACCOUNT_ID, "2027", "Grow EMEA")
    assert plan.direction is None
    assert plan.priorities == []
    assert plan.shared_with_customer is None
    assert (plan.objectives, plan.opportunities, plan.actions) == ({}, {}, {})
    assert plan.research_answers == {}
    assert plan.reviews == []
    assert plan.closed is False


def test_a_plans_id_is_derived_from_its_account_and_period() -> None:
    plan = given_plan()

    assert plan.id == AccountPlan.create_id(ACCOUNT_ID, "2027")
    assert AccountPlan.draft_plan(
        account_id=ACCOUNT_ID, period="2027", title=None, meta=META
    ).id == (plan.id)
    assert AccountPlan.create_id(ACCOUNT_ID, "2028") != plan.id
    assert AccountPlan.create_id(uuid4(), "2027") != plan.id


def test_drafting_trims_the_period_and_treats_a_blank_title_as_none() -> None:
    plan = AccountPlan.draft_plan(account_id=ACCOUNT_ID, period=" 2027 ", title="  ", meta=META)

    assert plan.period == "2027"
    assert plan.title is None
    assert plan.id == AccountPlan.create_id(ACCOUNT_ID, "2027")


@pytest.mark.parametrize("period", ["", "   ", "x" * 21])
def test_drafting_needs_a_period_of_at_most_twenty_characters(period: str) -> None:
    with pytest.raises(InvalidValueError) as raised:
        AccountPlan.draft_plan(account_id=ACCOUNT_ID, period=period, title=None, meta=META)
    assert raised.value.field == "period"


def test_drafting_accepts_a_period_of_exactly_twenty_characters() -> None:
    plan = AccountPlan.draft_plan(account_id=ACCOUNT_ID, period="F" * 20, title=None, meta=META)

    assert plan.period == "F" * 20


def test_drafting_needs_an_account_id() -> None:
    with pytest.raises(InvalidValueError):
        AccountPlan.draft_plan(account_id=str(ACCOUNT_ID), period="2027", title=None, meta=META)  # type: ignore[arg-type]


# --- Direction and sharing ------------------------------------------------------------


def test_stating_direction_records_the_direction_and_priorities() -> None:
    plan = given_plan()

    plan.state_direction(
        direction="Become their logistics partner", priorities=[" robotics ", "EU"], meta=META
    )

    stated = then_one_event(plan, "DirectionStated")
    assert stated.direction == "Become their logistics partner"
    assert stated.priorities == ["robotics", "EU"]
    assert plan.direction == "Become their logistics partner"
    assert plan.priorities == ["robotics", "EU"]


def test_stating_direction_again_replaces_it() -> None:
    plan = given_plan()
    plan.state_direction(direction="First", priorities=["a"], meta=META)

    plan.state_direction(direction="Second", priorities=[], meta=META)

    assert (plan.direction, plan.priorities) == ("Second", [])


@pytest.mark.parametrize(
    ("direction", "priorities"), [("", ["a"]), ("ok", [""]), ("ok", ["x" * 201]), ("ok", "a")]
)
def test_stating_direction_needs_text_and_a_list_of_priorities(
    direction: str, priorities: Any
) -> None:
    plan = given_plan()

    then_refused(
        plan,
        InvalidValueError,
        lambda: plan.state_direction(direction=direction, priorities=priorities, meta=META),
    )


@pytest.mark.parametrize("agreed", [True, False])
def test_sharing_with_the_customer_records_whether_they_agreed(agreed: bool) -> None:
    plan = given_plan()

    plan.share_plan(agreed=agreed, notes="Walked the COO through it", meta=META)

    shared = then_one_event(plan, "SharedWithCustomer")
    assert (shared.agreed, shared.notes) == (agreed, "Walked the COO through it")
    assert plan.shared_with_customer is agreed
    assert plan.customer_notes == "Walked the COO through it"


def test_sharing_needs_a_yes_or_no() -> None:
    plan = given_plan()

    then_refused(
        plan,
        InvalidValueError,
        lambda: plan.share_plan(agreed="yes", notes=None, meta=META),  # type: ignore[arg-type]
    )


# --- Objectives -----------------------------------------------------------------------


def test_setting_an_objective_records_a_smart_objective() -> None:
    plan = given_plan()

    objective_id = plan.set_objective(
        statement="Raise wallet share",
        metric="share (%)",
        baseline=Decimal("12.5"),
        target=20,  # type: ignore[arg-type]
        due_on=DUE,
        meta=META,
    )

    set_ = then_one_event(plan, "ObjectiveSet")
    assert set_.objective_id == objective_id
    assert (set_.statement, set_.metric, set_.due_on) == ("Raise wallet share", "share (%)", DUE)
    assert (set_.baseline, set_.target) == (Decimal("12.5"), Decimal(20))
    assert isinstance(set_.target, Decimal)
    objective = plan.objectives[str(objective_id)]
    assert objective.id == objective_id
    assert objective.status is ObjectiveStatus.OPEN
    assert objective.progress == []
    assert objective.latest_value == Decimal("12.5")


def test_an_objectives_target_must_differ_from_its_baseline() -> None:
    plan = given_plan()

    error = then_refused(
        plan,
        InvalidValueError,
        lambda: plan.set_objective(
            statement="s",
            metric="m",
            baseline=Decimal(5),
            target=Decimal("5.0"),
            due_on=DUE,
            meta=META,
        ),
    )
    assert error.details == {"field": "target"}


@pytest.mark.parametrize(
    "changes",
    [
        {"baseline": 1.5},
        {"target": Decimal("NaN")},
        {"target": Decimal("Infinity")},
        {"target": "20"},
        {"target": True},
        {"due_on": datetime(2027, 6, 30, 12)},
        {"due_on": "2027-06-30"},
        {"statement": " "},
        {"metric": ""},
    ],
)
def test_an_objective_needs_finite_decimals_a_due_date_and_text(changes: dict[str, Any]) -> None:
    plan = given_plan()
    args: dict[str, Any] = {
        "statement": "s",
        "metric": "m",
        "baseline": Decimal(1),
        "target": Decimal(2),
        "due_on": DUE,
        "meta": META,
    }

    then_refused(plan, InvalidValueError, lambda: plan.set_objective(**(args | changes)))


def test_recording_progress_keeps_the_measured_values_in_order() -> None:
    plan = given_plan()
    objective_id = given_objective(plan)
    plan.record_progress(objective_id=objective_id, value=Decimal(14), note=None, meta=META)
    plan.collect_events()

    plan.record_progress(objective_id=objective_id, value=Decimal("15.5"), note="Q2", meta=META)

    recorded = then_one_event(plan, "ObjectiveProgressRecorded")
    assert (recorded.objective_id, recorded.value, recorded.note) == (
        objective_id,
        Decimal("15.5"),
        "Q2",
    )
    objective = plan.objectives[str(objective_id)]
    assert objective.progress == [Decimal(14), Decimal("15.5")]
    assert objective.latest_value == Decimal("15.5")
    assert objective.status is ObjectiveStatus.OPEN


def test_recording_progress_needs_a_finite_decimal() -> None:
    plan = given_plan()
    objective_id = given_objective(plan)

    then_refused(
        plan,
        InvalidValueError,
        lambda: plan.record_progress(
            objective_id=objective_id, value=Decimal("NaN"), note=None, meta=META
        ),
    )


def test_achieving_an_objective_resolves_it() -> None:
    plan = given_plan()
    objective_id = given_objective(plan)

    plan.achieve_objective(objective_id=objective_id, meta=META)

    assert then_one_event(plan, "ObjectiveAchieved").objective_id == objective_id
    assert plan.objectives[str(objective_id)].status is ObjectiveStatus.ACHIEVED


def test_missing_an_objective_resolves_it_and_keeps_the_reason() -> None:
    plan = given_plan()
    objective_id = given_objective(plan)

    plan.miss_objective(objective_id=objective_id, meta=WHY)

    missed = then_one_event(plan, "ObjectiveMissed")
    assert (missed.objective_id, missed.meta.reason) == (objective_id, "the customer asked")
    assert plan.objectives[str(objective_id)].status is ObjectiveStatus.MISSED


def test_missing_an_objective_needs_a_reason() -> None:
    plan = given_plan()
    objective_id = given_objective(plan)

    then_refused(
        plan, ReasonRequiredError, lambda: plan.miss_objective(objective_id=objective_id, meta=META)
    )


OBJECTIVE_COMMANDS: dict[str, Callable[[AccountPlan, UUID], Any]] = {
    "record_progress": lambda p, o: p.record_progress(
        objective_id=o, value=Decimal(1), note=None, meta=META
    ),
    "achieve_objective": lambda p, o: p.achieve_objective(objective_id=o, meta=META),
    "miss_objective": lambda p, o: p.miss_objective(objective_id=o, meta=WHY),
}


@pytest.mark.parametrize("resolve", ["achieve_objective", "miss_objective"])
@pytest.mark.parametrize("command", list(OBJECTIVE_COMMANDS))
def test_a_resolved_objective_refuses_further_changes(resolve: str, command: str) -> None:
    plan = given_plan()
    objective_id = given_objective(plan)
    OBJECTIVE_COMMANDS[resolve](plan, objective_id)
    plan.collect_events()

    error = then_refused(
        plan,
        ObjectiveAlreadyResolvedError,
        lambda: OBJECTIVE_COMMANDS[command](plan, objective_id),
    )
    assert error.details["objective_id"] == str(objective_id)


@pytest.mark.parametrize("command", list(OBJECTIVE_COMMANDS))
def test_an_unknown_objective_is_not_found(command: str) -> None:
    plan = given_plan()
    given_objective(plan)

    then_refused(plan, ObjectiveNotFoundError, lambda: OBJECTIVE_COMMANDS[command](plan, uuid4()))


# --- Opportunities --------------------------------------------------------------------


def test_identifying_an_opportunity_adds_it_to_the_pipeline() -> None:
    plan = given_plan()

    opportunity_id = plan.identify_opportunity(
        kind=OpportunityKind.RENEWAL,
        title="2028 renewal",
        value=Decimal(0),
        probability=0,
        meta=META,
    )

    identified = then_one_event(plan, "OpportunityIdentified")
    assert identified.opportunity_id == opportunity_id
    assert (identified.kind, identified.title) == (OpportunityKind.RENEWAL, "2028 renewal")
    assert (identified.value, identified.probability) == (Decimal(0), 0)
    opportunity = plan.opportunities[str(opportunity_id)]
    assert (opportunity.id, opportunity.status) == (opportunity_id, OpportunityStatus.OPEN)
    assert (opportunity.value, opportunity.probability) == (Decimal(0), 0)


@pytest.mark.parametrize(
    "changes",
    [
        {"value": Decimal("-0.01")},
        {"value": 10.0},
        {"value": Decimal("Infinity")},
        {"probability": -1},
        {"probability": 101},
        {"probability": 50.0},
        {"probability": True},
        {"kind": "expansion"},
        {"title": ""},
    ],
)
def test_an_opportunity_needs_a_value_of_zero_or_more_and_a_probability_from_0_to_100(
    changes: dict[str, Any],
) -> None:
    plan = given_plan()
    args: dict[str, Any] = {
        "kind": OpportunityKind.UPSELL,
        "title": "t",
        "value": Decimal(1),
        "probability": 100,
        "meta": META,
    }

    then_refused(plan, InvalidValueError, lambda: plan.identify_opportunity(**(args | changes)))


def test_advancing_an_opportunity_updates_its_probability() -> None:
    plan = given_plan()
    opportunity_id = given_opportunity(plan)

    plan.advance_opportunity(opportunity_id=opportunity_id, probability=60, note="RFP", meta=META)

    advanced = then_one_event(plan, "OpportunityAdvanced")
    assert (advanced.opportunity_id, advanced.probability, advanced.note) == (
        opportunity_id,
        60,
        "RFP",
    )
    assert plan.opportunities[str(opportunity_id)].probability == 60
    assert plan.opportunities[str(opportunity_id)].status is OpportunityStatus.OPEN


@pytest.mark.parametrize("probability", [-1, 101])
def test_advancing_needs_a_probability_from_0_to_100(probability: int) -> None:
    plan = given_plan()
    opportunity_id = given_opportunity(plan)

    then_refused(
        plan,
        InvalidValueError,
        lambda: plan.advance_opportunity(
            opportunity_id=opportunity_id, probability=probability, note=None, meta=META
        ),
    )


def test_winning_an_opportunity_records_the_value_won() -> None:
    plan = given_plan()
    opportunity_id = given_opportunity(plan)

    plan.win_opportunity(opportunity_id=opportunity_id, value=Decimal("230000"), meta=META)

    won = then_one_event(plan, "OpportunityWon")
    assert (won.opportunity_id, won.value) == (opportunity_id, Decimal("230000"))
    opportunity = plan.opportunities[str(opportunity_id)]
    assert opportunity.status is OpportunityStatus.WON
    assert (opportunity.value, opportunity.probability) == (Decimal("230000"), 100)


def test_winning_without_a_value_keeps_the_estimate() -> None:
    plan = given_plan()
    opportunity_id = given_opportunity(plan)

    plan.win_opportunity(opportunity_id=opportunity_id, value=None, meta=META)

    assert then_one_event(plan, "OpportunityWon").value == Decimal("250000")
    assert plan.opportunities[str(opportunity_id)].value == Decimal("250000")


def test_winning_needs_a_value_of_zero_or_more() -> None:
    plan = given_plan()
    opportunity_id = given_opportunity(plan)

    then_refused(
        plan,
        InvalidValueError,
        lambda: plan.win_opportunity(opportunity_id=opportunity_id, value=Decimal(-1), meta=META),
    )


def test_losing_an_opportunity_closes_it_with_the_reason() -> None:
    plan = given_plan()
    opportunity_id = given_opportunity(plan)

    plan.lose_opportunity(opportunity_id=opportunity_id, meta=WHY)

    lost = then_one_event(plan, "OpportunityLost")
    assert (lost.opportunity_id, lost.meta.reason) == (opportunity_id, "the customer asked")
    opportunity = plan.opportunities[str(opportunity_id)]
    assert (opportunity.status, opportunity.probability) == (OpportunityStatus.LOST, 0)


def test_losing_an_opportunity_needs_a_reason() -> None:
    plan = given_plan()
    opportunity_id = given_opportunity(plan)

    then_refused(
        plan,
        ReasonRequiredError,
        lambda: plan.lose_opportunity(opportunity_id=opportunity_id, meta=META),
    )


OPPORTUNITY_COMMANDS: dict[str, Callable[[AccountPlan, UUID], Any]] = {
    "advance_opportunity": lambda p, o: p.advance_opportunity(
        opportunity_id=o, probability=50, note=None, meta=META
    ),
    "win_opportunity": lambda p, o: p.win_opportunity(opportunity_id=o, value=None, meta=META),
    "lose_opportunity": lambda p, o: p.lose_opportunity(opportunity_id=o, meta=WHY),
}


@pytest.mark.parametrize("close", ["win_opportunity", "lose_opportunity"])
@pytest.mark.parametrize("command", list(OPPORTUNITY_COMMANDS))
def test_a_closed_opportunity_refuses_further_changes(close: str, command: str) -> None:
    plan = given_plan()
    opportunity_id = given_opportunity(plan)
    OPPORTUNITY_COMMANDS[close](plan, opportunity_id)
    plan.collect_events()

    error = then_refused(
        plan,
        OpportunityAlreadyClosedError,
        lambda: OPPORTUNITY_COMMANDS[command](plan, opportunity_id),
    )
    assert error.details["opportunity_id"] == str(opportunity_id)


@pytest.mark.parametrize("command", list(OPPORTUNITY_COMMANDS))
def test_an_unknown_opportunity_is_not_found(command: str) -> None:
    plan = given_plan()
    given_opportunity(plan)

    then_refused(
        plan, OpportunityNotFoundError, lambda: OPPORTUNITY_COMMANDS[command](plan, uuid4())
    )


# --- Actions: adding ------------------------------------------------------------------


def test_adding_an_action_plans_it_with_its_owner_stakeholders_and_objective() -> None:
    plan = given_plan()
    objective_id = given_objective(plan)
    cfo, coo = uuid4(), uuid4()

    action_id = plan.add_action(
        what="Present the robotics business case",
        owner="bob",
        due_on=DUE,
        stakeholder_ids=[cfo, coo, cfo],
        success_measure="Pilot budget approved",
        objective_id=objective_id,
        meta=META,
    )

    added = then_one_event(plan, "ActionAdded")
    assert added.action_id == action_id
    assert (added.what, added.owner, added.due_on) == (
        "Present the robotics business case",
        "bob",
        DUE,
    )
    assert added.stakeholder_ids == [cfo, coo]
    assert (added.success_measure, added.objective_id) == ("Pilot budget approved", objective_id)
    assert plan.actions[str(action_id)] == PlanAction(
        id=action_id,
        what="Present the robotics business case",
        owner="bob",
        due_on=DUE,
        stakeholder_ids=[cfo, coo],
        success_measure="Pilot budget approved",
        objective_id=objective_id,
        status=P,
        outcome=None,
        blocked_from=None,
    )


def test_an_action_can_only_serve_an_objective_of_the_plan() -> None:
    plan = given_plan()
    given_objective(plan)

    then_refused(plan, ObjectiveNotFoundError, lambda: given_action(plan, objective_id=uuid4()))


@pytest.mark.parametrize(
    "changes",
    [
        {"what": ""},
        {"owner": "  "},
        {"due_on": datetime(2027, 1, 1)},
        {"stakeholder_ids": [str(uuid4())]},
        {"stakeholder_ids": None},
    ],
)
def test_an_action_needs_what_an_owner_a_due_date_and_stakeholder_ids(
    changes: dict[str, Any],
) -> None:
    plan = given_plan()

    then_refused(plan, InvalidValueError, lambda: given_action(plan, **changes))


# --- Actions: the state machine -------------------------------------------------------

ACTION_COMMANDS: dict[str, Callable[[AccountPlan, UUID], Any]] = {
    "start_action": lambda p, a: p.start_action(action_id=a, meta=META),
    "complete_action": lambda p, a: p.complete_action(action_id=a, outcome="Signed", meta=META),
    "block_action": lambda p, a: p.block_action(action_id=a, meta=WHY),
    "unblock_action": lambda p, a: p.unblock_action(action_id=a, meta=META),
    "reschedule_action": lambda p, a: p.reschedule_action(
        action_id=a, due_on=date(2027, 9, 30), meta=WHY
    ),
    "reassign_action": lambda p, a: p.reassign_action(action_id=a, owner="carol", meta=META),
    "cancel_action": lambda p, a: p.cancel_action(action_id=a, meta=WHY),
}

# (from status, command) -> (event, status after); the complete table of legal moves.
LEGAL_MOVES: dict[tuple[ActionStatus, str], tuple[str, ActionStatus]] = {
    (P, "start_action"): ("ActionStarted", IP),
    (P, "complete_action"): ("ActionCompleted", C),
    (IP, "complete_action"): ("ActionCompleted", C),
    (P, "block_action"): ("ActionBlocked", B),
    (IP, "block_action"): ("ActionBlocked", B),
    (B, "unblock_action"): ("ActionUnblocked", P),
    (P, "reschedule_action"): ("ActionRescheduled", P),
    (IP, "reschedule_action"): ("ActionRescheduled", IP),
    (B, "reschedule_action"): ("ActionRescheduled", B),
    (P, "reassign_action"): ("ActionReassigned", P),
    (IP, "reassign_action"): ("ActionReassigned", IP),
    (B, "reassign_action"): ("ActionReassigned", B),
    (P, "cancel_action"): ("ActionCancelled", X),
    (IP, "cancel_action"): ("ActionCancelled", X),
    (B, "cancel_action"): ("ActionCancelled", X),
}
ILLEGAL_MOVES = [
    (status, command)
    for status in ActionStatus
    for command in ACTION_COMMANDS
    if (status, command) not in LEGAL_MOVES
]


@pytest.mark.parametrize(("status", "command"), list(LEGAL_MOVES))
def test_legal_action_moves_emit_their_event_and_reach_their_status(
    status: ActionStatus, command: str
) -> None:
    plan = given_plan()
    action_id = given_action(plan, status)

    ACTION_COMMANDS[command](plan, action_id)

    event_name, after = LEGAL_MOVES[(status, command)]
    assert then_one_event(plan, event_name).action_id == action_id
    assert plan.actions[str(action_id)].status is after


@pytest.mark.parametrize(("status", "command"), ILLEGAL_MOVES)
def test_illegal_action_moves_are_refused(status: ActionStatus, command: str) -> None:
    plan = given_plan()
    action_id = given_action(plan, status)

    error = then_refused(
        plan, IllegalActionTransitionError, lambda: ACTION_COMMANDS[command](plan, action_id)
    )
    assert error.details == {
        "action_id": str(action_id),
        "from_status": status.value,
        "command": command,
    }


def test_every_terminal_status_refuses_every_action_command() -> None:
    terminal = {s for s in ActionStatus if s.is_terminal}

    assert terminal == {C, X}
    assert all((s, c) in ILLEGAL_MOVES for s in terminal for c in ACTION_COMMANDS)


@pytest.mark.parametrize("command", list(ACTION_COMMANDS))
def test_an_unknown_action_is_not_found(command: str) -> None:
    plan = given_plan()
    given_action(plan)

    error = then_refused(plan, ActionNotFoundError, lambda: ACTION_COMMANDS[command](plan, uuid4()))
    assert "action_id" in error.details


def test_completing_an_action_records_its_outcome() -> None:
    plan = given_plan()
    action_id = given_action(plan, IP)

    plan.complete_action(action_id=action_id, outcome=" Budget approved ", meta=META)

    assert then_one_event(plan, "ActionCompleted").outcome == "Budget approved"
    assert plan.actions[str(action_id)].outcome == "Budget approved"


def test_completing_an_action_needs_an_outcome() -> None:
    plan = given_plan()
    action_id = given_action(plan, IP)

    then_refused(
        plan,
        InvalidValueError,
        lambda: plan.complete_action(action_id=action_id, outcome=" ", meta=META),
    )


@pytest.mark.parametrize("status", [P, IP])
def test_blocking_remembers_the_status_that_unblocking_returns_to(status: ActionStatus) -> None:
    plan = given_plan()
    action_id = given_action(plan, status)

    plan.block_action(action_id=action_id, meta=WHY)

    blocked = then_one_event(plan, "ActionBlocked")
    assert (blocked.blocked_from, blocked.meta.reason) == (status, "the customer asked")
    assert plan.actions[str(action_id)].status is B
    assert plan.actions[str(action_id)].blocked_from is status

    plan.unblock_action(action_id=action_id, meta=META)

    assert then_one_event(plan, "ActionUnblocked").status is status
    assert plan.actions[str(action_id)].status is status
    assert plan.actions[str(action_id)].blocked_from is None


@pytest.mark.parametrize(
    ("command", "status"),
    [("block_action", P), ("reschedule_action", P), ("cancel_action", B)],
)
def test_blocking_rescheduling_and_cancelling_need_a_reason(
    command: str, status: ActionStatus
) -> None:
    plan = given_plan()
    action_id = given_action(plan, status)
    calls: dict[str, Callable[[], Any]] = {
        "block_action": lambda: plan.block_action(action_id=action_id, meta=META),
        "reschedule_action": lambda: plan.reschedule_action(
            action_id=action_id, due_on=date(2027, 9, 1), meta=META
        ),
        "cancel_action": lambda: plan.cancel_action(action_id=action_id, meta=META),
    }

    then_refused(plan, ReasonRequiredError, calls[command])


def test_rescheduling_records_the_previous_and_new_due_dates() -> None:
    plan = given_plan()
    action_id = given_action(plan, B)

    plan.reschedule_action(action_id=action_id, due_on=date(2027, 9, 30), meta=WHY)

    rescheduled = then_one_event(plan, "ActionRescheduled")
    assert (rescheduled.previous_due_on, rescheduled.due_on) == (DUE, date(2027, 9, 30))
    assert plan.actions[str(action_id)].due_on == date(2027, 9, 30)
    assert plan.actions[str(action_id)].status is B


@pytest.mark.parametrize("due_on", [DUE, datetime(2027, 9, 30, 9), "2027-09-30"])
def test_rescheduling_needs_a_different_date(due_on: Any) -> None:
    plan = given_plan()
    action_id = given_action(plan)

    then_refused(
        plan,
        InvalidValueError,
        lambda: plan.reschedule_action(action_id=action_id, due_on=due_on, meta=WHY),
    )


def test_reassigning_records_the_previous_and_new_owner() -> None:
    plan = given_plan()
    action_id = given_action(plan, IP)

    plan.reassign_action(action_id=action_id, owner="carol", meta=META)

    reassigned = then_one_event(plan, "ActionReassigned")
    assert (reassigned.previous_owner, reassigned.owner) == ("bob", "carol")
    assert plan.actions[str(action_id)].owner == "carol"


@pytest.mark.parametrize("owner", ["bob", " bob ", ""])
def test_reassigning_needs_a_different_owner(owner: str) -> None:
    plan = given_plan()
    action_id = given_action(plan)

    then_refused(
        plan,
        InvalidValueError,
        lambda: plan.reassign_action(action_id=action_id, owner=owner, meta=META),
    )


def test_cancelling_a_blocked_action_forgets_where_it_was_blocked_from() -> None:
    plan = given_plan()
    action_id = given_action(plan, B)

    plan.cancel_action(action_id=action_id, meta=WHY)

    assert then_one_event(plan, "ActionCancelled").meta.reason == "the customer asked"
    assert plan.actions[str(action_id)].status is X
    assert plan.actions[str(action_id)].blocked_from is None


def test_open_actions_are_those_not_completed_or_cancelled() -> None:
    plan = given_plan()
    ids = {status: given_action(plan, status) for status in ActionStatus}

    assert [a.id for a in plan.open_actions()] == [ids[P], ids[IP], ids[B]]


def test_overdue_actions_are_open_actions_due_before_today_most_overdue_first() -> None:
    plan = given_plan()
    late = given_action(plan, IP, due_on=date(2027, 3, 1))
    later = given_action(plan, B, due_on=date(2027, 1, 1))
    given_action(plan, C, due_on=date(2027, 1, 1))
    given_action(plan, X, due_on=date(2027, 1, 1))
    given_action(plan, P, due_on=date(2027, 4, 1))

    assert [a.id for a in plan.overdue_actions(date(2027, 4, 1))] == [later, late]


# --- Research -------------------------------------------------------------------------


def test_answering_a_research_question_records_the_answer_and_its_category() -> None:
    plan = given_plan()

    plan.answer_research_question(question_id="needs-01", answer="Cost, speed, ESG", meta=META)

    answered = then_one_event(plan, "ResearchQuestionAnswered")
    assert (answered.question_id, answered.category, answered.answer) == (
        "needs-01",
        ResearchCategory.NEEDS,
        "Cost, speed, ESG",
    )
    assert plan.research_answers == {"needs-01": "Cost, speed, ESG"}


def test_answering_a_question_again_replaces_the_answer() -> None:
    plan = given_plan()
    plan.answer_research_question(question_id="needs-01", answer="first", meta=META)

    plan.answer_research_question(question_id="needs-01", answer="second", meta=META)

    assert plan.research_answers == {"needs-01": "second"}


def test_answering_an_unknown_question_is_not_found() -> None:
    plan = given_plan()

    then_refused(
        plan,
        ResearchQuestionNotFoundError,
        lambda: plan.answer_research_question(question_id="needs-99", answer="a", meta=META),
    )


def test_answering_needs_an_answer() -> None:
    plan = given_plan()

    then_refused(
        plan,
        InvalidValueError,
        lambda: plan.answer_research_question(question_id="needs-01", answer=" ", meta=META),
    )


def test_unanswered_categories_shrink_as_questions_are_answered() -> None:
    plan = given_plan()
    assert plan.unanswered_categories() == list(ResearchCategory)

    for question in questions_in(ResearchCategory.COMPETITORS)[:2]:
        plan.answer_research_question(question_id=question.id, answer="x", meta=META)
    plan.answer_research_question(question_id="needs-03", answer="x", meta=META)

    assert plan.unanswered_categories() == [
        c
        for c in ResearchCategory
        if c not in {ResearchCategory.COMPETITORS, ResearchCategory.NEEDS}
    ]
    for question_id in QUESTION_BANK:
        plan.answer_research_question(question_id=question_id, answer="x", meta=META)
    assert plan.unanswered_categories() == []


# --- Review and close -----------------------------------------------------------------


def test_reviewing_the_plan_records_notes_kpi_status_reviewer_and_date() -> None:
    plan = given_plan()
    when = datetime(2027, 4, 2, 10, 0)

    plan.review_plan(
        notes="Pilot slipping", kpi_status=KpiStatus.AT_RISK, meta=Envelope("dora", when)
    )

    reviewed = then_one_event(plan, "Reviewed")
    assert (reviewed.notes, reviewed.kpi_status) == ("Pilot slipping", KpiStatus.AT_RISK)
    assert plan.reviews == [PlanReview("Pilot slipping", KpiStatus.AT_RISK, "dora", when)]


@pytest.mark.parametrize(("notes", "kpi"), [("", KpiStatus.ON_TRACK), ("ok", "on_track")])
def test_a_review_needs_notes_and_a_kpi_status(notes: str, kpi: Any) -> None:
    plan = given_plan()

    then_refused(
        plan, InvalidValueError, lambda: plan.review_plan(notes=notes, kpi_status=kpi, meta=META)
    )


def test_closing_the_plan() -> None:
    plan = given_plan()

    plan.close_plan(meta=META)

    assert then_one_event(plan, "Closed").meta == META
    assert plan.closed is True


def _bind(command: Callable[[AccountPlan, UUID], Any], plan: AccountPlan, id_: UUID) -> Any:
    return lambda: command(plan, id_)


def _every_command(plan: AccountPlan, o: UUID, op: UUID, a: UUID) -> dict[str, Callable[[], Any]]:
    return {
        "state_direction": lambda: plan.state_direction(direction="d", priorities=[], meta=META),
        "share_plan": lambda: plan.share_plan(agreed=True, notes=None, meta=META),
        "set_objective": lambda: given_objective(plan),
        "identify_opportunity": lambda: given_opportunity(plan),
        "add_action": lambda: given_action(plan),
        "answer_research_question": lambda: plan.answer_research_question(
            question_id="needs-01", answer="a", meta=META
        ),
        "review_plan": lambda: plan.review_plan(
            notes="n", kpi_status=KpiStatus.ON_TRACK, meta=META
        ),
        "close_plan": lambda: plan.close_plan(meta=META),
        **{name: _bind(c, plan, o) for name, c in OBJECTIVE_COMMANDS.items()},
        **{name: _bind(c, plan, op) for name, c in OPPORTUNITY_COMMANDS.items()},
        **{name: _bind(c, plan, a) for name, c in ACTION_COMMANDS.items()},
    }


COMMAND_NAMES = list(_every_command(given_plan(), uuid4(), uuid4(), uuid4()))


@pytest.mark.parametrize("command", COMMAND_NAMES)
def test_a_closed_plan_refuses_every_command(command: str) -> None:
    plan = given_plan()
    calls = _every_command(
        plan, given_objective(plan), given_opportunity(plan), given_action(plan, P)
    )
    plan.close_plan(meta=META)
    plan.collect_events()

    error = then_refused(plan, PlanClosedError, calls[command])
    assert error.details == {"plan_id": str(plan.id)}


def test_every_command_is_covered_by_the_closed_plan_test() -> None:
    public = {
        name
        for name, value in vars(AccountPlan).items()
        if isinstance(value, FunctionType | classmethod | staticmethod) and not name.startswith("_")
    }
    queries = {"open_actions", "overdue_actions", "unanswered_categories", "upcast_v1_v2"}

    assert public - queries == set(COMMAND_NAMES) | {"create_id", "draft_plan"}


# --- Replay and transcoding -----------------------------------------------------------


def _full_history() -> tuple[AccountPlan, list[Any]]:
    plan = AccountPlan.draft_plan(account_id=ACCOUNT_ID, period="2027", title=None, meta=META)
    plan.state_direction(direction="Grow", priorities=["robotics"], meta=META)
    plan.share_plan(agreed=True, notes=None, meta=WHY)
    objective_id = plan.set_objective(
        statement="s",
        metric="m",
        baseline=Decimal("1.10"),
        target=Decimal(2),
        due_on=DUE,
        meta=META,
    )
    plan.record_progress(objective_id=objective_id, value=Decimal("1.5"), note="n", meta=META)
    opportunity_id = plan.identify_opportunity(
        kind=OpportunityKind.CROSS_SELL,
        title="t",
        value=Decimal("9.99"),
        probability=10,
        meta=META,
    )
    plan.advance_opportunity(opportunity_id=opportunity_id, probability=70, note=None, meta=META)
    plan.win_opportunity(opportunity_id=opportunity_id, value=None, meta=META)
    action_id = plan.add_action(
        what="w",
        owner="bob",
        due_on=DUE,
        stakeholder_ids=[uuid4()],
        success_measure="m",
        objective_id=objective_id,
        meta=META,
    )
    plan.start_action(action_id=action_id, meta=META)
    plan.block_action(action_id=action_id, meta=WHY)
    plan.reschedule_action(action_id=action_id, due_on=date(2027, 8, 1), meta=WHY)
    plan.reassign_action(action_id=action_id, owner="carol", meta=META)
    plan.unblock_action(action_id=action_id, meta=META)
    plan.complete_action(action_id=action_id, outcome="o", meta=META)
    dropped = plan.add_action(
        what="w2",
        owner="bob",
        due_on=DUE,
        stakeholder_ids=[],
        success_measure=None,
        objective_id=None,
        meta=META,
    )
    plan.cancel_action(action_id=dropped, meta=WHY)
    plan.achieve_objective(objective_id=objective_id, meta=META)
    plan.answer_research_question(question_id="trends-02", answer="a", meta=META)
    plan.review_plan(
        notes="n", kpi_status=KpiStatus.ON_TRACK, meta=Envelope("x", datetime(2027, 1, 1))
    )
    plan.close_plan(meta=META)
    return plan, list(plan.collect_events())


def test_replaying_the_events_rebuilds_an_equal_plan() -> None:
    plan, events = _full_history()

    assert replay(events) == plan


def test_events_and_snapshots_survive_json_transcoding() -> None:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_kam_transcodings(transcoder)
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
    plan, events = _full_history()

    decoded = [mapper.to_domain_event(mapper.to_stored_event(e)) for e in events]
    snapshot = AccountPlan.Snapshot.take(plan)
    restored: Any = mapper.to_domain_event(mapper.to_stored_event(snapshot))

    assert decoded == events
    assert replay(decoded) == plan
    assert restored.mutate(None) == plan
