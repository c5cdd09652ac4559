"""Money in the portfolio: dated exchange rates, conversion to the reporting currency, and
customer lifetime value.

An amount converts with the latest rate of its currency to the reporting currency effective on
or before the amount's day (a period's last day, a win's day). With no such rate the amount is
*unconverted*: it is shown in its own currency and never added to amounts of other currencies.

Customer lifetime value (CLV) of an account, in the reporting currency:
``annual gross margin * r / (1 + d - r)``, the constant-retention formula of Gupta and Lehmann
("Customers as assets", 2003), where the annual gross margin is the last period's revenue *
gross margin, annualised (* 12 / the period's months), ``r`` the yearly retention rate
(``KAM_CLV_RETENTION``, default 0.85) and ``d`` the yearly discount rate
(``KAM_CLV_DISCOUNT_RATE``, default 0.10): the margin of each future year the account is
expected to stay, discounted. With the defaults the multiple is 0.85 / 0.25 = 3.4 years.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from kam_domain.values import Period
from kam_projections.db import Tx, ViewDatabase

RATE_COLUMNS = (
    "currency",
    "to_currency",
    "effective_on",
    "rate",
    "recorded_by",
    "recorded_at",
    "position",
)


@dataclass(frozen=True)
class ClvAssumptions:
    """The yearly retention and discount rates of the CLV formula (settings)."""

    retention: float = 0.85
    discount_rate: float = 0.10


#: The settings' defaults.
DEFAULT_CLV = ClvAssumptions()


@dataclass
class Rates:
    """The rates to one reporting currency: each currency's (effective day, rate), by day."""

    reporting_currency: str
    by_currency: dict[str, tuple[list[str], list[float]]] = field(default_factory=dict)

    @classmethod
    def load(cls, tx: Tx, table: str, reporting_currency: str) -> Rates:
        rows = tx.execute(
            f"SELECT currency, effective_on, rate FROM {table} WHERE to_currency = :to "
            "ORDER BY currency, effective_on",
            {"to": reporting_currency},
        )
        rates = cls(reporting_currency)
        for r in rows:
            days, values = rates.by_currency.setdefault(r["currency"], ([], []))
            days.append(r["effective_on"])
            values.append(float(r["rate"]))
        return rates

    def convert(self, amount: float | None, currency: str | None, day: str | None) -> float | None:
        """``amount`` (of ``currency``, on the ISO ``day``) in the reporting currency; None
        when there is no rate effective on or before that day."""
        if amount is None or currency is None:
            return None
        if currency == self.reporting_currency:
            return amount
        if day is None or currency not in self.by_currency:
            return None
        days, values = self.by_currency[currency]
        index = bisect_right(days, day)
        return amount * values[index - 1] if index else None


def lifetime_value(
    revenue: float | None,
    gross_margin: float | None,
    months: int,
    *,
    retention: float,
    discount_rate: float,
) -> float | None:
    """The customer lifetime value (see the module docstring); None without a converted
    revenue or a gross margin."""
    if revenue is None or gross_margin is None:
        return None
    annual_margin = revenue * gross_margin * 12 / months
    return annual_margin * retention / (1 + discount_rate - retention)


@dataclass
class Won:
    """An account's won cross-sell and upsell: converted sums, and the wins kept apart."""

    cross_sell: float = 0.0
    upsell: float = 0.0
    apart: list[dict[str, Any]] = field(default_factory=list)


def won_by_account(tx: Tx, table: str, rates: Rates) -> dict[str, Won]:
    """Each account's won cross-sell and upsell (rows of ``table``: kind, value, and the
    currency and day of the win), each win converted at its day or else kept apart."""
    won: dict[str, Won] = {}
    for w in tx.execute(
        f"SELECT account_id, kind, value, currency, won_on FROM {table} "
        "WHERE won_on IS NOT NULL ORDER BY won_on, opportunity_id"
    ):
        sums = won.setdefault(w["account_id"], Won())
        value = rates.convert(w["value"], w["currency"], w["won_on"])
        if value is None:
            sums.apart.append({"kind": w["kind"], "amount": w["value"], "currency": w["currency"]})
        elif w["kind"] == "cross_sell":
            sums.cross_sell += value
        else:
            sums.upsell += value
    return won


def at_risk_by_account(tx: Tx, table: str, rates: Rates) -> dict[str, float | None]:
    """Each account's open revenue at risk converted at each risk's day; None when some open
    risk has no usable rate (the account's total is then unknown, never a partial sum)."""
    at_risk: dict[str, float | None] = {}
    for k in tx.execute(
        f"SELECT account_id, amount, currency, raised_on FROM {table} "
        "WHERE open = 1 AND amount > 0 ORDER BY risk_id"
    ):
        value = rates.convert(k["amount"], k["currency"], k["raised_on"])
        so_far = at_risk.get(k["account_id"], 0.0)
        at_risk[k["account_id"]] = None if value is None or so_far is None else so_far + value
    return at_risk


def present_money(row: dict[str, Any], clv: ClvAssumptions) -> None:
    """A portfolio row's money KPIs as served: gross margin in the reporting currency, CLV,
    and what could not be converted."""
    revenue, margin = row["revenue"], row["gross_margin"]
    row["revenue_converted"] = revenue is not None or row["last_revenue"] is None
    row["gross_margin_amount"] = None if revenue is None or margin is None else revenue * margin
    period = Period.read(row["last_period"]) if row["last_period"] else None
    row["lifetime_value"] = lifetime_value(
        revenue,
        margin,
        period.months if period else 12,
        retention=clv.retention,
        discount_rate=clv.discount_rate,
    )
    row["unordered_periods"] = json.loads(row["unordered_periods"] or "[]")
    row["unconverted_won"] = json.loads(row["unconverted_won"] or "[]")


def exchange_rates(views: ViewDatabase, currency: str | None = None) -> list[dict[str, Any]]:
    """Every recorded rate (the latest answer for each pair and day), by pair and day."""
    where = "WHERE currency = :currency " if currency else ""
    return views.query(
        f"SELECT {', '.join(RATE_COLUMNS)} FROM rm_fx_rates {where}"
        "ORDER BY currency, to_currency, effective_on",
        {"currency": currency} if currency else {},
    )
