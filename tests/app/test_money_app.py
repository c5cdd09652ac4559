"""Exchange rates through the application service, on both backends: one history per currency
pair, recorded to the application's reporting currency, If-Match honoured, refusals write
nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kam_domain.application import KamApplication
from kam_domain.commands import RecordExchangeRate
from kam_domain.errors import InvalidValueError, VersionMismatchError
from kam_domain.exchange_rates import ExchangeRate
from kam_domain.values import Envelope

DORA = Envelope(actor="dora")


def usd(rate: str, on: date) -> RecordExchangeRate:
    return RecordExchangeRate(currency="USD", rate=Decimal(rate), effective_on=on)


def test_given_no_rates_when_two_are_recorded_then_one_pair_holds_both(
    app: KamApplication,
) -> None:
    first = app.handle(usd("0.90", date(2026, 1, 1)), meta=DORA)
    second = app.handle(usd("0.80", date(2026, 7, 1)), meta=DORA, expected_version=first.version)
    assert first.id == second.id == ExchangeRate.create_id("USD", "EUR")
    assert (first.version, second.version) == (2, 3)
    pair = app.get(ExchangeRate, first.id)
    assert (pair.currency, pair.to_currency) == ("USD", "EUR")
    assert pair.rate_on(date(2026, 6, 30)) == Decimal("0.90")
    assert pair.rate_on(date(2026, 12, 31)) == Decimal("0.80")


def test_a_stale_if_match_or_a_rate_that_cannot_be_writes_nothing(app: KamApplication) -> None:
    first = app.handle(usd("0.90", date(2026, 1, 1)), meta=DORA)
    before = app.recorder.max_notification_id()
    with pytest.raises(VersionMismatchError):
        app.handle(usd("0.80", date(2026, 7, 1)), meta=DORA, expected_version=first.version - 1)
    for refused in (
        RecordExchangeRate(currency="XYZ", rate=Decimal(1), effective_on=date(2026, 1, 1)),
        RecordExchangeRate(currency="EUR", rate=Decimal(1), effective_on=date(2026, 1, 1)),
    ):
        with pytest.raises(InvalidValueError):
            app.handle(refused, meta=DORA)
    assert app.recorder.max_notification_id() == before


def test_rates_are_recorded_to_the_applications_reporting_currency(
    store_env: dict[str, str],
) -> None:
    app = KamApplication(env=store_env, reporting_currency="USD")
    try:
        command = RecordExchangeRate(
            currency="EUR", rate=Decimal("1.09"), effective_on=date(2026, 1, 1)
        )
        result = app.handle(command, meta=DORA)
        assert result.id == ExchangeRate.create_id("EUR", "USD")
        assert app.get(ExchangeRate, result.id).to_currency == "USD"
    finally:
        app.close()
    with pytest.raises(InvalidValueError):
        KamApplication(env=store_env, reporting_currency="XYZ")
