"""Exchange rates: what one unit of a currency is worth in the reporting currency, from a day on.

One ``ExchangeRate`` aggregate per pair (currency, reporting currency), its id ``uuid5`` of the
pair, so each rate recorded is an event with its actor and time like every other change, and
the rates of one pair are one history. Recording a rate again for the same effective day
replaces it from then on (the earlier one stays in the log). The read side converts an amount of
a period with the latest rate effective on or before the period's last day
(``kam_projections.money``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from kam_domain.base import KamAggregate
from kam_domain.errors import InvalidValueError
from kam_domain.values import Envelope, require_currency


class ExchangeRate(KamAggregate):
    """The dated rates of one currency to the reporting currency."""

    @staticmethod
    def create_id(currency: str, to_currency: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"kam:exchange-rate:{currency}:{to_currency}")

    @classmethod
    def open(cls, *, currency: str, to_currency: str, meta: Envelope) -> ExchangeRate:
        """The history of a new pair of ISO 4217 currencies (refused when they are the same)."""
        currency = require_currency("currency", currency)
        to_currency = require_currency("to_currency", to_currency)
        if currency == to_currency:
            raise InvalidValueError(
                "currency", f"{currency} is the reporting currency: it needs no rate"
            )
        return cls(currency=currency, to_currency=to_currency, meta=meta)

    @event("Opened")
    def __init__(self, currency: str, to_currency: str, meta: Envelope) -> None:
        self.currency = currency
        self.to_currency = to_currency
        #: Effective day (ISO) -> rate: the current answer for each day a rate was given.
        self.rates: dict[str, Decimal] = {}

    def record(self, *, rate: Decimal, effective_on: date, meta: Envelope) -> None:
        """Records that one unit of ``currency`` is worth ``rate`` units of the reporting
        currency from ``effective_on`` on."""
        if isinstance(rate, bool) or not isinstance(rate, Decimal) or not rate.is_finite():
            raise InvalidValueError("rate", "must be a finite decimal number")
        if rate <= 0:
            raise InvalidValueError("rate", "must be greater than 0")
        if isinstance(effective_on, datetime) or not isinstance(effective_on, date):
            raise InvalidValueError("effective_on", "must be a date")
        self._recorded(
            currency=self.currency,
            to_currency=self.to_currency,
            rate=rate,
            effective_on=effective_on,
            meta=meta,
        )

    @event("Recorded")
    def _recorded(
        self, currency: str, to_currency: str, rate: Decimal, effective_on: date, meta: Envelope
    ) -> None:
        self.rates[effective_on.isoformat()] = rate

    def rate_on(self, day: date) -> Decimal | None:
        """The rate effective on ``day``: the latest given on or before it."""
        days = [d for d in self.rates if d <= day.isoformat()]
        return self.rates[max(days)] if days else None
