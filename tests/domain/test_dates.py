"""Dates that cannot be: the bounds (pure, no storage), the command checks and the plan's own
rule. "Today" is always given; nothing here reads the real date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from kam_domain import commands as cmd
from kam_domain.account_plans import AccountPlan
from kam_domain.dates import FLOOR, MAX_YEARS_AHEAD, DateBounds, period_start
from kam_domain.errors import InvalidValueError
from kam_domain.handlers.dates import check_dates
from kam_domain.key_accounts import KeyAccount
from kam_domain.values import Envelope, InteractionKind, ServiceProfile

TODAY = date(2026, 6, 15)
BOUNDS = DateBounds(today=TODAY, tolerance_days=1)
ID = UUID("6f1c1f3e-0000-4000-8000-000000000001")
META = Envelope(actor="alice")


def at(day: date) -> Envelope:
    return Envelope(actor="alice", occurred_on=datetime(day.year, day.month, day.day, tzinfo=UTC))


def refused_field(call: Any) -> str:
    with pytest.raises(InvalidValueError) as raised:
        call()
    return raised.value.field


# --- The bounds ----------------------------------------------------------------------------


def test_what_happened_may_be_dated_up_to_today_plus_the_tolerance() -> None:
    BOUNDS.past("on", TODAY)
    BOUNDS.past("on", date(2026, 6, 16))
    BOUNDS.past("on", FLOOR)

    assert refused_field(lambda: BOUNDS.past("on", date(2026, 6, 17))) == "on"
    assert refused_field(lambda: BOUNDS.past("on", date(1989, 12, 31))) == "on"


def test_the_tolerance_is_a_setting_and_zero_means_not_after_today() -> None:
    strict = DateBounds(today=TODAY, tolerance_days=0)

    strict.past("occurred_on", datetime(2026, 6, 15, 23, 59, tzinfo=UTC))
    with pytest.raises(InvalidValueError, match="in the future"):
        strict.past("occurred_on", datetime(2026, 6, 16, tzinfo=UTC))


def test_planned_dates_stay_between_the_floor_and_ten_years_ahead() -> None:
    BOUNDS.planned("effective_on", date(2036, 6, 15))

    with pytest.raises(InvalidValueError, match=f"more than {MAX_YEARS_AHEAD} years"):
        BOUNDS.planned("effective_on", date(2036, 6, 16))
    with pytest.raises(InvalidValueError, match="before 1990-01-01"):
        BOUNDS.planned("effective_on", date(1999, 1, 1).replace(year=1989))


def test_without_a_today_only_the_floor_applies() -> None:
    unknown = DateBounds()

    unknown.past("on", date(2999, 1, 1))
    unknown.planned("due_on", date(2999, 1, 1))
    assert refused_field(lambda: unknown.past("on", date(1900, 1, 1))) == "on"


def test_ten_years_after_a_29_february_is_the_28th() -> None:
    assert DateBounds(today=date(2028, 2, 29)).latest_planned == date(2038, 2, 28)


@pytest.mark.parametrize(
    ("period", "start"),
    [("2027", date(2027, 1, 1)), ("2027-H2", date(2027, 1, 1)), (" 2030 ", date(2030, 1, 1))],
)
def test_a_period_starts_with_its_year(period: str, start: date) -> None:
    assert period_start(period) == start


@pytest.mark.parametrize("period", ["FY27", "next year", "0000"])
def test_a_period_without_a_leading_year_has_no_start(period: str) -> None:
    assert period_start(period) is None


# --- The commands' dates ---------------------------------------------------------------------


def test_a_future_interaction_is_refused_naming_on() -> None:
    command = cmd.LogInteraction(
        stakeholder_id=ID,
        kind=InteractionKind.MEETING,
        on=date(2027, 1, 1),
        summary="s",
        sentiment=0,
    )

    assert refused_field(lambda: check_dates(command, META, BOUNDS)) == "on"
    check_dates(command.model_copy(update={"on": TODAY}), META, BOUNDS)


@pytest.mark.parametrize(
    "command",
    [
        cmd.RecordFeedback(account_id=ID, nps=9),
        cmd.AssessRelationship(
            account_id=ID, engagement="engaged", trust=4, satisfaction=4, partner_rating=8
        ),
        cmd.AdvanceStage(account_id=ID, to="research"),
    ],
)
def test_any_command_dated_in_the_future_is_refused_naming_occurred_on(
    command: cmd.Command,
) -> None:
    assert refused_field(lambda: check_dates(command, at(date(2026, 7, 1)), BOUNDS)) == (
        "occurred_on"
    )
    assert refused_field(lambda: check_dates(command, at(date(1980, 1, 1)), BOUNDS)) == (
        "occurred_on"
    )
    check_dates(command, at(TODAY), BOUNDS)
    check_dates(command, META, BOUNDS)


def test_a_handover_effective_in_1989_or_in_twenty_years_is_refused() -> None:
    command = cmd.HandOver(account_id=ID, to="eve", effective_on=date(1989, 7, 1))

    assert refused_field(lambda: check_dates(command, META, BOUNDS)) == "effective_on"
    later = command.model_copy(update={"effective_on": date(2046, 7, 1)})
    assert refused_field(lambda: check_dates(later, META, BOUNDS)) == "effective_on"
    check_dates(command.model_copy(update={"effective_on": date(2027, 1, 1)}), META, BOUNDS)


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (cmd.AddAction(plan_id=ID, what="w", owner="bob", due_on=date(1970, 1, 1)), "due_on"),
        (cmd.RescheduleAction(plan_id=ID, action_id=ID, due_on=date(2099, 1, 1)), "due_on"),
        (cmd.MakeCommitment(stakeholder_id=ID, description="d", due_on=date(1970, 1, 1)), "due_on"),
        (cmd.RecordDeparture(stakeholder_id=ID, left_on=date(1970, 1, 1)), "left_on"),
    ],
)
def test_planned_dates_of_commands_keep_their_bounds(command: cmd.Command, field: str) -> None:
    assert refused_field(lambda: check_dates(command, META, BOUNDS)) == field


# --- The plan's own rule: an objective is not due before its period ---------------------------


def given_plan(period: str) -> AccountPlan:
    plan = AccountPlan.draft_plan(account_id=ID, period=period, title=None, meta=META)
    plan.collect_events()
    return plan


def set_objective(plan: AccountPlan, due_on: date) -> UUID:
    return plan.set_objective(
        statement="Grow",
        metric="revenue",
        baseline=Decimal(1),
        target=Decimal(2),
        due_on=due_on,
        meta=META,
    )


def test_an_objective_due_before_its_plans_period_is_refused_and_changes_nothing() -> None:
    plan = given_plan("2027")

    with pytest.raises(InvalidValueError, match="before the plan's period") as raised:
        set_objective(plan, date(2024, 12, 31))

    assert raised.value.field == "due_on"
    assert plan.collect_events() == []
    assert plan.objectives == {}


def test_an_objective_due_in_or_after_its_period_is_set() -> None:
    plan = given_plan("2027")

    first = set_objective(plan, date(2027, 1, 1))
    second = set_objective(plan, date(2028, 1, 5))

    events = plan.collect_events()
    assert [type(e).__name__ for e in events] == ["ObjectiveSet", "ObjectiveSet"]
    assert set(plan.objectives) == {str(first), str(second)}


def test_a_plan_without_a_year_in_its_period_takes_any_due_date() -> None:
    plan = given_plan("FY-next")

    set_objective(plan, date(1995, 1, 1))

    assert len(plan.objectives) == 1


# --- The account's own rule: a handover is not effective before the registration ------------


def registered_on(day: date | None) -> KeyAccount:
    account = KeyAccount.register_account(
        name="Acme",
        industry="Retail",
        region="NA",
        service_profile=ServiceProfile.STANDARD,
        meta=at(day) if day is not None else META,
    )
    account.assign_manager(manager="ann", meta=META)
    account.collect_events()
    return account


def test_a_handover_effective_before_the_registration_is_refused_and_changes_nothing() -> None:
    account = registered_on(date(2020, 3, 1))
    why = Envelope(actor="dora", reason="Ann moves on")

    with pytest.raises(InvalidValueError, match="before the account was registered") as raised:
        account.hand_over(to="eve", effective_on=date(1999, 1, 1), meta=why)

    assert raised.value.field == "effective_on"
    assert account.collect_events() == []
    assert (account.manager, account.pending_handover) == ("ann", None)
    account.hand_over(to="eve", effective_on=date(2020, 3, 1), meta=why)
    assert [type(e).__name__ for e in account.collect_events()] == ["HandedOver"]


def test_a_registration_without_a_day_is_registered_the_day_it_was_recorded() -> None:
    account = registered_on(None)
    recorded = account.created_on.date()

    assert account.registered_on == recorded
    with pytest.raises(InvalidValueError, match="before the account was registered"):
        account.hand_over(
            to="eve", effective_on=date(1999, 1, 1), meta=Envelope(actor="dora", reason="why")
        )
    account.hand_over(to="eve", effective_on=recorded, meta=Envelope(actor="dora", reason="why"))
    assert account.manager == "eve"


def test_a_version_2_snapshot_has_no_registration_day() -> None:
    state: dict[str, Any] = {"name": "Acme"}

    KeyAccount.upcast_v2_v3(state)

    assert state["registered_on"] is None
