"""The portfolio's revenue ranking (``pareto.revenue_ranking``): pure, no storage."""

from __future__ import annotations

from typing import Any

import pytest

from kam_projections.money import Rates, Won
from kam_projections.pareto import DERIVED, revenue_ranking


def account(account_id: str, revenue: float | None, currency: str = "EUR", **kw: Any) -> dict:
    return {
        "account_id": account_id,
        "exited": kw.get("exited", 0),
        "last_revenue": revenue,
        "currency": currency,
        "period_end": "2026-03-31",
    }


def test_live_accounts_with_converted_revenue_are_ranked_and_the_top_fifth_flagged() -> None:
    rates = Rates("EUR", {"USD": (["2026-01-01"], [0.5])})
    rows = [
        account("a", 100.0),
        account("b", 600.0),
        account("c", 200.0, "USD"),  # 100 EUR
        account("d", 300.0),
        account("e", 0.0),  # no revenue: no rank, no share
        account("f", 900.0, exited=1),  # exited: not ranked
        account("g", 50.0, "GBP"),  # no rate: unconverted, not ranked
    ]
    won = {"a": Won(cross_sell=10.0, upsell=5.0)}
    updates = revenue_ranking(rows, rates, won, {"b": 7.5})
    by_id = {u["account_id"]: u for u in updates}
    assert [u["account_id"] for u in updates] == list("abcdefg")  # the rows' order
    assert all(set(DERIVED) <= set(u) for u in updates)
    assert by_id["c"]["revenue"] == pytest.approx(100.0)
    assert by_id["g"]["revenue"] is None
    ranked = sorted((u for u in updates if u["pareto_rank"]), key=lambda u: u["pareto_rank"])
    # Equal revenue (a and c, 100 each) is ordered by account id.
    assert [u["account_id"] for u in ranked] == ["b", "d", "a", "c"]
    assert [u["top20"] for u in ranked] == [1, 0, 0, 0]  # ceil(4 * 0.2) = 1
    assert [u["revenue_share"] for u in ranked] == pytest.approx([6 / 11, 3 / 11, 1 / 11, 1 / 11])
    assert ranked[-1]["cumulative_share"] == pytest.approx(1.0)
    for unranked in "efg":
        assert by_id[unranked]["pareto_rank"] is None and by_id[unranked]["top20"] == 0
    assert (by_id["a"]["cross_sell_won"], by_id["a"]["upsell_won"]) == (10.0, 5.0)
    assert by_id["b"]["revenue_at_risk_converted"] == 7.5
    assert by_id["c"]["revenue_at_risk_converted"] == 0.0
