"""The history strategies themselves: histories apply cleanly, mostly succeed, cover every event."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

from hypothesis import HealthCheck, example, given, settings
from tests.strategies import (
    ACCEPTED,
    SKIPPED,
    Step,
    apply_history,
    build_history,
    histories,
)

from kam_api.demo import Kind, ref
from kam_domain.account_plans import AccountPlan
from kam_domain.application import KamApplication
from kam_domain.base import KamAggregate
from kam_domain.commands import ALL_COMMANDS, Command, LogInteraction, StartAction
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import BuyingRole, Envelope, InteractionKind, Tier
from kam_store.features import store_features

ALL = 100_000


def event_topics(cls: type[KamAggregate]) -> set[str]:
    """The stored topic of every event type the aggregate defines."""
    return {
        f"{cls.__module__}:{cls.__qualname__}.{name}"
        for name, value in vars(cls).items()
        if isinstance(value, type)
        and issubclass(value, cls.Event)
        and name not in {"Event", "Created"}
    }


def concrete_step_types() -> set[type[Command]]:
    """Every kind of step a history can hold: one per use case (command)."""
    return set(ALL_COMMANDS)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=histories())
@example(steps=build_history(random.Random(7), n_accounts=3, n_steps=60))
def test_generated_histories_apply_without_unexpected_errors(
    app: KamApplication, steps: list[Step]
) -> None:
    # The same application serves every example: names are namespaced per history.
    start = app.recorder.max_notification_id() or 0
    result = apply_history(app, steps)

    assert len(result.outcomes) == len(steps)
    assert result.accepted + result.refused + result.skipped == len(steps)
    assert result.position == (app.recorder.max_notification_id() or 0) >= start
    assert len(result.account_ids) <= 3
    assert set(result.action_ids) == set(result.plan_ids)
    written = app.recorder.select_notifications(start + 1, limit=ALL)
    assert len(written) >= result.accepted  # every accepted step wrote at least one event
    if not result.accepted:
        assert result.position == start


def test_seeded_histories_are_deterministic_and_mostly_accepted(app: KamApplication) -> None:
    # Seeds whose 60 steps include an action (seed 3 drew none once the walk could also
    # change a service profile).
    for seed in (1, 2, 4):
        steps = build_history(random.Random(seed), n_accounts=3, n_steps=60)
        assert steps == build_history(random.Random(seed), n_accounts=3, n_steps=60)
        result = apply_history(app, steps)
        assert result.accepted > 3 * result.refused, Counter(result.outcomes)
        assert result.skipped == 0  # the builder only names what it has created
        assert len(result.account_ids) == 3
        assert result.plan_ids and any(result.action_ids.values())


def test_refused_and_skipped_steps_write_nothing(app: KamApplication) -> None:
    nobody = Envelope(actor="ann")
    steps = [
        # Names things nobody has created: skipped.
        Step(StartAction(plan_id=ref(Kind.PLAN, 0), action_id=ref(Kind.ACTION, 0)), nobody),
        *build_history(random.Random(11), n_accounts=2, n_steps=60),
        Step(
            LogInteraction(
                stakeholder_id=ref(Kind.STAKEHOLDER, 99),
                kind=InteractionKind.CALL,
                on=date(2026, 5, 4),
                summary="Follow-up",
                sentiment=1,
            ),
            nobody,
        ),
    ]
    positions = [app.recorder.max_notification_id() or 0]
    seen: list[str] = []

    def check(step: Step, outcome: str) -> None:
        position = app.recorder.max_notification_id() or 0
        if outcome == ACCEPTED:
            assert position > positions[-1], step
        else:
            assert position == positions[-1], (step, outcome)
        positions.append(position)
        seen.append(outcome)

    result = apply_history(app, steps, after_step=check)
    assert seen == list(result.outcomes)
    assert result.outcomes[0] == result.outcomes[-1] == SKIPPED
    assert result.refused > 0  # the builder makes some mistakes on purpose
    assert result.position == positions[-1]


def test_thirty_seeded_histories_cover_every_event_type(store_env: dict[str, str]) -> None:
    # Small caps, so classifying beyond a tier's cap (refused, or with an override reason)
    # happens too.
    app = KamApplication(
        env=store_env,
        snapshot_interval=5,
        tier_caps={Tier.STRATEGIC: 1, Tier.KEY: 2, Tier.EMERGING: 3},
        store_features=store_features,
    )
    try:
        outcomes: Counter[str] = Counter()
        kinds: set[type[Command]] = set()
        for seed in range(30):
            steps = build_history(random.Random(seed), 3, 60)
            kinds.update(type(step.command) for step in steps)
            result = apply_history(app, steps)
            outcomes.update(result.outcomes)
        assert concrete_step_types() - kinds == set()
        notifications = app.recorder.select_notifications(1, limit=ALL)
        topics = {n.topic for n in notifications}

        for cls in (KeyAccount, AccountPlan, Relationship):
            expected = event_topics(cls)
            assert len(expected) >= 9
            assert expected - topics == set(), f"{cls.__name__} events never generated"

        assert outcomes[ACCEPTED] > 3 * (outcomes.total() - outcomes[ACCEPTED])
        assert outcomes["TierCapExceededError"] > 0
        classified = [
            app.mapper.to_domain_event(n) for n in notifications if n.topic.endswith(".Classified")
        ]
        assert any(e.override_reason for e in classified)  # type: ignore[attr-defined]
        identified = [
            app.mapper.to_domain_event(n) for n in notifications if n.topic.endswith(".Identified")
        ]
        assert {e.buying_role for e in identified} == set(BuyingRole)  # type: ignore[attr-defined]
    finally:
        app.close()
