"""As-of reads: the state at any instant equals the state built from only the events recorded
up to that instant (generated histories, snapshots every 5 events, both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from tests.strategies import apply_history, histories

from kam_domain.account_plans import AccountPlan
from kam_domain.application import KamApplication
from kam_domain.base import KamAggregate, replay
from kam_domain.errors import AccountNotFoundError
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=histories(max_accounts=2, max_steps=40))
def test_the_state_as_of_any_instant_is_built_from_the_events_recorded_until_then(
    app: KamApplication, steps: list[object]
) -> None:
    result = apply_history(app, steps)  # type: ignore[arg-type]
    kinds: list[tuple[type[KamAggregate], object]] = (
        [(KeyAccount, a) for a in result.account_ids]
        + [(AccountPlan, p) for p in result.plan_ids]
        + [(Relationship, s) for s in result.stakeholder_ids]
    )
    for cls, aggregate_id in kinds:
        events = list(app.events.get(aggregate_id))  # type: ignore[arg-type]
        instants = [e.timestamp for e in events]
        instants += [events[-1].timestamp + timedelta(seconds=1)]
        for instant in instants:
            expected = replay([e for e in events if e.timestamp <= instant])
            as_of = app.get_as_of(cls, aggregate_id, instant)  # type: ignore[arg-type]
            assert as_of == expected, (cls.__name__, instant)
        with pytest.raises(Exception, match="did not exist"):
            app.get_as_of(
                cls,
                aggregate_id,  # type: ignore[arg-type]
                events[0].timestamp - timedelta(microseconds=1),
            )


def test_an_account_that_did_not_exist_yet_is_not_found(app: KamApplication) -> None:
    from kam_domain.values import Envelope, ServiceProfile

    result = app.register_account(
        name="Later Co",
        industry="x",
        region="y",
        service_profile=ServiceProfile.LIGHT,
        meta=Envelope(actor="ann"),
    )
    first = next(iter(app.events.get(result.id))).timestamp
    with pytest.raises(AccountNotFoundError):
        app.get_as_of(KeyAccount, result.id, first - timedelta(days=1))
    assert app.get_as_of(KeyAccount, result.id, first).version == 1
