"""Money in the domain: ISO 4217 currencies, typed financial periods ordered by time, and the
dated exchange rates (``ExchangeRate``). Pure: no storage."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.domain.test_key_accounts import assert_refused, meta, record, registered

from kam_domain.errors import InvalidValueError
from kam_domain.exchange_rates import ExchangeRate
from kam_domain.key_accounts import KeyAccount
from kam_domain.values import Period, is_currency, require_currency
from kam_projections.money import Rates, lifetime_value

# --- Currencies ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["EUR", "USD", "GBP", "CHF", "JPY", "XAF"])
def test_iso_4217_codes_are_currencies(code: str) -> None:
    assert is_currency(code) and require_currency("currency", code) == code


@pytest.mark.parametrize("code", ["XYZ", "ABC", "eur", "EURO", "E1R", "", "XXX", "XTS", None, 978])
def test_anything_else_is_refused_as_a_currency(code: Any) -> None:
    assert not is_currency(code)
    with pytest.raises(InvalidValueError) as refused:
        require_currency("currency", code)
    assert refused.value.field == "currency"


def test_given_an_account_when_figures_in_an_unknown_currency_are_recorded_then_refused() -> None:
    assert_refused(registered(), InvalidValueError, lambda a: record(a, currency="XYZ"))


# --- Periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "start", "end", "months"),
    [
        ("2026", date(2026, 1, 1), date(2026, 12, 31), 12),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), 3),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), 3),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), 1),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31), 1),
    ],
)
def test_a_period_label_names_its_days(label: str, start: date, end: date, months: int) -> None:
    period = Period.parse(label)
    assert (period.start, period.end, period.months, str(period)) == (start, end, months, label)


@pytest.mark.parametrize(
    "label", ["Q4/2026", "2026-Q5", "2026-13", "2026-1", "FY2025", "26", "2026 Q4", "", None, 2026]
)
def test_any_other_period_label_is_refused(label: Any) -> None:
    with pytest.raises(InvalidValueError) as refused:
        Period.parse(label)
    assert refused.value.field == "period"


def test_periods_order_by_time_not_by_their_text() -> None:
    labels = ["2026-Q4", "2027", "2026-11", "2026", "2025-Q4", "2026-12", "2026-Q1"]
    ordered = [str(p) for p in sorted(Period.parse(label) for label in labels)]
    # By last day; of periods ending the same day, the shorter (later-starting) is later.
    assert ordered == ["2025-Q4", "2026-Q1", "2026-11", "2026", "2026-Q4", "2026-12", "2027"]
    assert Period.parse("2026-Q4") < Period.parse("2027-Q1")
    assert not Period.parse("2027-Q1") < Period.parse("2026-Q4")


periods = st.one_of(
    st.builds(Period, st.integers(1990, 2100)),
    st.builds(lambda y, q: Period(y, quarter=q), st.integers(1990, 2100), st.integers(1, 4)),
    st.builds(lambda y, m: Period(y, month=m), st.integers(1990, 2100), st.integers(1, 12)),
)


@given(periods, periods)
def test_any_period_reads_back_from_its_label_and_orders_by_its_days(a: Period, b: Period) -> None:
    assert Period.parse(str(a)) == a and Period.read(str(a)) == a
    assert a.start <= a.end and (a.end - a.start).days + 1 in range(
        28 * a.months, 31 * a.months + 1
    )
    assert (a < b) == ((a.end, a.start) < (b.end, b.start))
    if a.start > b.end:  # wholly after: later, whatever the labels say
        assert b < a and not a < b


@pytest.mark.parametrize(
    ("label", "read"),
    [
        ("2026-Q4", "2026-Q4"),
        ("Q4/2026", "2026-Q4"),
        ("q4 2026", "2026-Q4"),
        ("2026/Q2", "2026-Q2"),
        ("2026Q3", "2026-Q3"),
        ("03/2026", "2026-03"),
        ("2026/11", "2026-11"),
        ("FY2025", None),
        ("H1 2026", None),
        ("next year", None),
    ],
)
def test_a_stored_label_reads_as_a_period_only_where_unambiguous(
    label: str, read: str | None
) -> None:
    period = Period.read(label)
    assert (str(period) if period else None) == read


def test_given_an_account_when_figures_of_a_free_text_period_are_recorded_then_refused() -> None:
    account = registered()
    for label in ("Q4/2026", "FY2025", "2026-Q5"):
        assert_refused(account, InvalidValueError, lambda a, label=label: record(a, period=label))


def test_given_an_account_when_figures_of_a_typed_period_are_recorded_then_kept_by_it() -> None:
    account = registered()
    record(account, period="2026-Q4", currency="USD")
    (event,) = [e for e in account.collect_events() if isinstance(e, KeyAccount.FinancialsRecorded)]
    assert (event.period, event.currency) == ("2026-Q4", "USD")


# --- Exchange rates -----------------------------------------------------------------------


def usd() -> ExchangeRate:
    return ExchangeRate.open(currency="USD", to_currency="EUR", meta=meta())


def test_given_a_pair_when_rates_are_recorded_then_each_day_has_the_latest_rate_before_it() -> None:
    rates = usd()
    rates.record(rate=Decimal("0.90"), effective_on=date(2026, 1, 1), meta=meta("dora"))
    rates.record(rate=Decimal("0.80"), effective_on=date(2026, 7, 1), meta=meta("dora"))
    events = rates.collect_events()
    assert [type(e).__name__ for e in events] == ["Opened", "Recorded", "Recorded"]
    recorded = events[1]
    assert (recorded.currency, recorded.to_currency, recorded.rate, recorded.effective_on) == (
        "USD",
        "EUR",
        Decimal("0.90"),
        date(2026, 1, 1),
    )
    assert recorded.meta.actor == "dora"
    assert rates.rate_on(date(2025, 12, 31)) is None
    assert rates.rate_on(date(2026, 6, 30)) == Decimal("0.90")
    assert rates.rate_on(date(2026, 7, 1)) == Decimal("0.80")
    assert rates.id == ExchangeRate.create_id("USD", "EUR")


def test_recording_a_day_again_replaces_that_days_rate() -> None:
    rates = usd()
    rates.record(rate=Decimal("0.90"), effective_on=date(2026, 1, 1), meta=meta())
    rates.record(rate=Decimal("0.91"), effective_on=date(2026, 1, 1), meta=meta())
    assert rates.rate_on(date(2026, 3, 1)) == Decimal("0.91")


@pytest.mark.parametrize(
    ("currency", "to_currency"), [("XYZ", "EUR"), ("USD", "XYZ"), ("EUR", "EUR"), ("usd", "EUR")]
)
def test_a_pair_needs_two_different_iso_currencies(currency: str, to_currency: str) -> None:
    with pytest.raises(InvalidValueError):
        ExchangeRate.open(currency=currency, to_currency=to_currency, meta=meta())


@pytest.mark.parametrize(
    ("rate", "effective_on"),
    [
        (Decimal(0), date(2026, 1, 1)),
        (Decimal("-0.5"), date(2026, 1, 1)),
        (Decimal("NaN"), date(2026, 1, 1)),
        (0.9, date(2026, 1, 1)),
        (Decimal("0.9"), datetime(2026, 1, 1)),
        (Decimal("0.9"), "2026-01-01"),
    ],
)
def test_a_rate_must_be_a_positive_decimal_from_a_day(rate: Any, effective_on: Any) -> None:
    rates = usd()
    rates.collect_events()
    with pytest.raises(InvalidValueError):
        rates.record(rate=rate, effective_on=effective_on, meta=meta())
    assert rates.collect_events() == [] and rates.rates == {}


# --- Conversion and lifetime value (pure read-side arithmetic) -----------------------------


def test_an_amount_converts_with_the_latest_rate_on_or_before_its_day() -> None:
    rates = Rates("EUR", {"USD": (["2026-01-01", "2026-07-01"], [0.9, 0.8])})
    assert rates.convert(100.0, "EUR", None) == 100.0
    assert rates.convert(100.0, "USD", "2026-06-30") == pytest.approx(90.0)
    assert rates.convert(100.0, "USD", "2026-07-01") == pytest.approx(80.0)
    assert rates.convert(100.0, "USD", "2025-12-31") is None  # no rate yet: unconverted
    assert rates.convert(100.0, "GBP", "2026-06-30") is None  # no rate at all
    assert rates.convert(100.0, None, "2026-06-30") is None  # currency unknown


def test_lifetime_value_is_the_annualised_margin_times_r_over_1_plus_d_minus_r() -> None:
    # A quarter's revenue of 1,000 at 30 % margin: 1,200 a year; r = 0.85, d = 0.10.
    assert lifetime_value(1000.0, 0.3, 3, retention=0.85, discount_rate=0.10) == pytest.approx(
        1200 * 0.85 / 0.25
    )
    assert lifetime_value(1000.0, 0.3, 12, retention=0.9, discount_rate=0.1) == pytest.approx(
        300 * 4.5
    )
    assert lifetime_value(None, 0.3, 3, retention=0.85, discount_rate=0.1) is None
    assert lifetime_value(1000.0, None, 3, retention=0.85, discount_rate=0.1) is None
