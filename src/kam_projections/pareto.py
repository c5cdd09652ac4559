"""The portfolio's revenue ranking, pure: each account's revenue and won cross-sell and upsell
in the reporting currency, its revenue at risk, then the revenue share, cumulative share,
Pareto rank and top-20 % flag of every live account whose converted revenue is above zero
(others: no rank, no share). ``PortfolioModel.rank`` writes what moved."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from kam_projections.money import Rates, Won

#: The columns the ranking derives from revenue, wins, risks and rates.
DERIVED = (
    "revenue",
    "cross_sell_won",
    "upsell_won",
    "unconverted_won",
    "revenue_at_risk_converted",
    "pareto_rank",
    "revenue_share",
    "cumulative_share",
    "top20",
)


def revenue_ranking(
    rows: Sequence[Mapping[str, Any]],
    rates: Rates,
    won: Mapping[str, Won],
    at_risk: Mapping[str, float | None],
) -> list[dict[str, Any]]:
    """The derived values of every portfolio row (``account_id``, ``exited``,
    ``last_revenue``, ``currency``, ``period_end``), in the rows' order."""
    updates = []
    for r in rows:
        sums = won.get(r["account_id"], Won())
        updates.append(
            {
                "account_id": r["account_id"],
                "exited": r["exited"],
                "revenue": rates.convert(r["last_revenue"], r["currency"], r["period_end"]),
                "cross_sell_won": sums.cross_sell,
                "upsell_won": sums.upsell,
                "unconverted_won": json.dumps(sums.apart) if sums.apart else None,
                "revenue_at_risk_converted": at_risk.get(r["account_id"], 0.0),
                "pareto_rank": None,
                "revenue_share": None,
                "cumulative_share": None,
                "top20": 0,
            }
        )
    ranked = sorted(
        (u for u in updates if not u["exited"] and (u["revenue"] or 0) > 0),
        key=lambda u: (-u["revenue"], u["account_id"]),
    )
    total = sum(u["revenue"] for u in ranked)
    top = math.ceil(len(ranked) * 0.2)
    cumulative = 0.0
    for rank, u in enumerate(ranked, start=1):
        cumulative += u["revenue"]
        u.update(
            pareto_rank=rank,
            revenue_share=u["revenue"] / total,
            cumulative_share=cumulative / total,
            top20=1 if rank <= top else 0,
        )
    return updates
