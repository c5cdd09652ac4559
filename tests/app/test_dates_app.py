"""Dates that cannot be, through ``kam.handle`` on both backends: refused before the handler
runs, nothing written; "today" is the clock the application is given."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from kam_domain import commands as cmd
from kam_domain.application import KamApplication
from kam_domain.errors import InvalidValueError
from kam_domain.values import Envelope, InteractionKind
from kam_store.features import store_features

TODAY = date(2026, 6, 15)


@pytest.fixture
def dated(store_env: dict[str, str]) -> Iterator[KamApplication]:
    application = KamApplication(
        env=store_env, store_features=store_features, clock=lambda: TODAY, future_tolerance_days=0
    )
    try:
        yield application
    finally:
        application.close()


def at(day: date) -> Envelope:
    return Envelope(actor="dora", occurred_on=datetime(day.year, day.month, day.day, tzinfo=UTC))


def test_the_clock_bounds_every_command_and_a_refusal_writes_nothing(
    dated: KamApplication,
) -> None:
    account = dated.handle(
        cmd.RegisterAccount(name="Acme", industry="Retail", region="EMEA"), meta=at(TODAY)
    ).id
    stakeholder = dated.handle(
        cmd.IdentifyStakeholder(
            account_id=account, name="Grace", buying_role="economic_buyer", influence=3
        ),
        meta=at(TODAY),
    ).id
    head = dated.recorder.max_notification_id()
    tomorrow = date(2026, 6, 16)

    with pytest.raises(InvalidValueError) as future:
        dated.handle(cmd.RecordFeedback(account_id=account, nps=8), meta=at(tomorrow))
    with pytest.raises(InvalidValueError) as interaction:
        dated.handle(
            cmd.LogInteraction(
                stakeholder_id=stakeholder,
                kind=InteractionKind.CALL,
                on=tomorrow,
                summary="call",
                sentiment=1,
            ),
            meta=Envelope(actor="dora"),
        )

    assert (future.value.field, interaction.value.field) == ("occurred_on", "on")
    assert dated.recorder.max_notification_id() == head
    assert dated.get_account(account).feedback_count == 0


def test_a_clock_that_moves_moves_the_bound(store_env: dict[str, str]) -> None:
    days = [date(2026, 6, 15)]
    app = KamApplication(env=store_env, store_features=store_features, clock=lambda: days[0])
    try:
        register = cmd.RegisterAccount(name="Acme", industry="Retail", region="EMEA")
        with pytest.raises(InvalidValueError):
            app.handle(register, meta=at(date(2026, 7, 1)))
        days[0] = date(2026, 7, 1)
        app.handle(register, meta=at(date(2026, 7, 1)))
    finally:
        app.close()


def test_a_negative_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="future_tolerance_days"):
        KamApplication(future_tolerance_days=-1)
