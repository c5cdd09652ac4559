"""The demo's story is realistic, measured over its steps before anything runs (pure, no
storage): after a handover only the incoming manager acts; most actions are done on time, some
late, and a few are still open past their due date; plans are reviewed at the pace the
account's service profile sets."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from functools import cache

import pytest
from tests.demo_realism import (
    Accounts,
    action_fates,
    day_of,
    handovers,
    outgoing_managers_acting,
    review_gaps,
)

from kam_api.demo.load import demo_story
from kam_api.demo.steps import Step
from kam_domain import commands as cmd

#: The demo's default size and seed (``kam demo``), and days across the year.
ACCOUNTS, SEED = 60, 7
TODAYS = (date(2026, 6, 15), date(2026, 9, 20), date(2026, 12, 2))


@cache
def demo_steps(today: date) -> tuple[Step, ...]:
    return tuple(demo_story(ACCOUNTS, SEED, today).steps())


@pytest.mark.parametrize("today", TODAYS)
def test_most_actions_are_done_on_time_some_late_and_a_few_are_overdue(today: date) -> None:
    # Given the demo's two years up to today
    fates = action_fates(demo_steps(today)).values()

    # When its actions are sorted by how they ended
    done = [a for a in fates if a.completed_on is not None]
    on_time = [a for a in done if a.on_time]
    late = [a for a in done if a.late]
    due = [a for a in fates if a.due_on < today and not a.cancelled]
    overdue = [a for a in fates if a.overdue_on(today)]

    # Then most were done by their due date, some after it, and a few are still open past it
    assert len(on_time) >= 0.7 * len(done), (len(on_time), len(done))
    assert 0.05 * len(done) <= len(late) <= 0.3 * len(done)
    assert 0 < len(overdue) <= 0.05 * len(due), (len(overdue), len(due))
    assert all((today - a.due_on).days <= 160 for a in overdue)
    assert any(a.completed_on is None and a.due_on >= today for a in fates)  # work ahead too


@pytest.mark.parametrize("today", TODAYS)
def test_after_a_handover_the_incoming_manager_acts_and_the_outgoing_one_stops(
    today: date,
) -> None:
    # Given the demo's steps, and the accounts that changed hands
    steps = demo_steps(today)
    changed = handovers(steps)
    assert len(changed) >= 10

    # When we look for the outgoing manager at work on the account after the handover
    acting = outgoing_managers_acting(list(steps))

    # Then there is none, the incoming manager acknowledged, and took the work over
    assert acting == [], Counter(type(s.command).__name__ for _, s in acting)
    acknowledged = {
        (s.command.account_id, s.meta.actor)
        for s in steps
        if isinstance(s.command, cmd.AcknowledgeHandover)
    }
    assert {(h.account, h.incoming) for h in changed} <= acknowledged
    accounts = Accounts.of_steps(steps)
    for handover in changed:
        if handover.effective_on + timedelta(days=90) > today:
            continue  # too recent to expect the incoming manager's work
        assert any(
            accounts.account_of(s.command) == handover.account
            and s.meta.actor == handover.incoming
            and day_of(s) > handover.effective_on
            for s in steps
        ), handover


@pytest.mark.parametrize("today", TODAYS)
def test_plans_are_mostly_reviewed_within_the_service_profiles_cadence(today: date) -> None:
    # Given the demo's steps
    gaps = review_gaps(demo_steps(today))

    # When each account's reviews are paired with the one before
    within = [days for profile, days in gaps if days <= profile.review_cadence_days]

    # Then most follow within the cadence, and none is more than a month past it
    assert len(gaps) >= ACCOUNTS * 6
    assert len(within) >= 0.85 * len(gaps), (len(within), len(gaps))
    assert all(days <= profile.review_cadence_days + 30 for profile, days in gaps)


def test_the_measures_see_an_outgoing_manager_who_keeps_acting() -> None:
    # Given a history where the outgoing manager completes an action after the handover
    steps = list(demo_steps(TODAYS[-1]))
    handover = handovers(steps)[0]
    accounts = Accounts.of_steps(steps)
    late = next(
        s
        for s in steps
        if isinstance(s.command, cmd.ReviewPlan)
        and accounts.account_of(s.command) == handover.account
        and day_of(s) > handover.effective_on
    )
    forged = replace(late, meta=replace(late.meta, actor=handover.outgoing))

    # When measured, then that step is found
    found = outgoing_managers_acting([*steps, forged])
    assert [step for _, step in found] == [forged]
