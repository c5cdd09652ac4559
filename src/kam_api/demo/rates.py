"""The demo's money: which currency each account's figures are in, and the exchange rates to
the reporting currency (EUR) the director records on the first day of every quarter, so the
portfolio converts every account's figures."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from kam_api.demo.steps import Step
from kam_api.demo.words import DIRECTOR
from kam_domain.commands import RecordExchangeRate
from kam_domain.values import Envelope

#: Roughly what one unit was worth in euros in 2025-2026; each quarter drifts from the last.
STARTING_RATES = {"USD": 0.92, "GBP": 1.17}


def account_currency(number: int) -> str:
    """Most accounts trade in euros; every fourth in US dollars, every sixth in pounds."""
    if number % 4 == 3:
        return "USD"
    if number % 6 == 5:
        return "GBP"
    return "EUR"


def quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def exchange_rate_steps(starts_on: date, ends_on: date, *, seed: int) -> Iterator[Step]:
    """A rate of each currency on the first day of each quarter from ``starts_on``'s (recorded
    that morning) until ``ends_on``, drifting by at most 2 % a quarter."""
    drift = random.Random(f"fx:{seed}")
    rates = dict(STARTING_RATES)
    day = quarter_start(starts_on)
    while day <= ends_on:
        at = datetime(day.year, day.month, day.day, 8, 30, tzinfo=UTC)
        for currency in sorted(rates):
            rates[currency] *= 1 + drift.uniform(-0.02, 0.02)
            command = RecordExchangeRate(
                currency=currency,
                rate=Decimal(f"{rates[currency]:.4f}"),
                effective_on=day,
            )
            yield Step(command, Envelope(actor=DIRECTOR, occurred_on=at))
        month = day.month + 3
        day = date(day.year + 1, 1, 1) if month > 12 else date(day.year, month, 1)
