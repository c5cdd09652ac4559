"""The portfolio's charts: the attractiveness x health matrix, the Pareto curve and the pending
handovers, read from ``rm_portfolio`` (see ``portfolio.py``) and ``rm_health``.

A portfolio can hold 10,000 accounts, more than a chart can show one by one: the matrix gives
the ``limit`` largest scored accounts (by converted revenue) as points and every scored account
in a 10 x 10 grid of cell counts, and the Pareto curve is sampled to at most ``points`` ranks
(always the first, the last and the last of the top 20 %).
"""

from __future__ import annotations

from typing import Any

from kam_projections.db import ViewDatabase
from kam_projections.pagination import add_filters
from kam_projections.portfolio_reads import QUADRANT_SQL, PortfolioFilter
from kam_projections.search import ACCOUNT_MATCH_SQL, like_pattern

#: The matrix's grid: cells of this many points on each 0-100 axis.
CELL = 10


def _where(where: PortfolioFilter) -> tuple[str, dict[str, Any]]:
    """The portfolio filter's conditions over ``rm_portfolio p`` joined with ``rm_health h``."""
    clauses = ["p.exited = 0"]
    params: dict[str, Any] = {}
    add_filters(
        clauses,
        params,
        {
            "tier": ("p.tier = :tier", where.tier),
            "manager": ("p.manager = :manager", where.manager),
            "band": ("h.band = :band", where.band),
            "quadrant": (f"({QUADRANT_SQL}) = :quadrant", where.quadrant),
            "q": (ACCOUNT_MATCH_SQL, like_pattern(where.q) if where.q else None),
        },
    )
    return " AND ".join(clauses), params


def matrix(views: ViewDatabase, where: PortfolioFilter, *, limit: int = 400) -> dict[str, Any]:
    """The matrix of the accounts ``where`` selects: ``points`` (the ``limit`` largest by
    converted revenue that have both scores: id, name, attractiveness, health, band, quadrant),
    ``cells`` (every scored account counted per grid cell), ``scored``, ``unscored`` and
    ``quadrants`` (accounts per quadrant, unscored included)."""
    condition, params = _where(where)
    base = (
        "FROM rm_portfolio p LEFT JOIN rm_health h ON h.account_id = p.account_id "
        f"WHERE {condition}"
    )
    scored = f"{base} AND p.attractiveness IS NOT NULL AND h.score IS NOT NULL"
    # Scores run 0..100: 100 falls into the top cell, not an eleventh one.
    cell_of = f"CASE WHEN {{0}} >= 100 THEN {100 // CELL - 1} ELSE {{0}} / {CELL} END"
    points, cells, quadrants = views.query_batch(
        [
            (
                "SELECT p.account_id, p.name, p.attractiveness, h.score AS health, "
                f"h.band, {QUADRANT_SQL} AS quadrant, p.revenue {scored} "
                "ORDER BY COALESCE(p.revenue, 0) DESC, p.account_id LIMIT :limit",
                {**params, "limit": limit},
            ),
            (
                f"SELECT {cell_of.format('p.attractiveness')} AS column_, "
                f"{cell_of.format('h.score')} AS row_, COUNT(*) AS accounts {scored} "
                "GROUP BY 1, 2 ORDER BY 1, 2",
                params,
            ),
            (
                f"SELECT {QUADRANT_SQL} AS quadrant, COUNT(*) AS accounts {base} GROUP BY 1",
                params,
            ),
        ]
    )
    by_quadrant = {r["quadrant"]: int(r["accounts"]) for r in quadrants}
    unscored = by_quadrant.get("unscored", 0)
    return {
        "points": points,
        "cells": [
            {
                "attractiveness_from": int(c["column_"]) * CELL,
                "health_from": int(c["row_"]) * CELL,
                "accounts": int(c["accounts"]),
            }
            for c in cells
        ],
        "scored": sum(by_quadrant.values()) - unscored,
        "unscored": unscored,
        "quadrants": {
            q: by_quadrant.get(q, 0) for q in ("grow", "fix", "maintain", "reconsider", "unscored")
        },
        "cell_size": CELL,
    }


def pareto_curve(views: ViewDatabase, *, points: int = 200) -> dict[str, Any]:
    """The cumulative revenue share by Pareto rank (live accounts with converted revenue above
    zero): ``ranked`` accounts, ``top20`` of them in the top 20 %, and ``curve``, at most about
    ``points`` ranks in order (rank, cumulative share, top20)."""
    totals = views.query(
        "SELECT COUNT(*) AS ranked, "
        "COALESCE(SUM(CASE WHEN top20 = 1 THEN 1 ELSE 0 END), 0) AS top20 "
        "FROM rm_portfolio WHERE exited = 0 AND pareto_rank IS NOT NULL"
    )[0]
    ranked, top20 = int(totals["ranked"]), int(totals["top20"])
    step = max(1, -(-ranked // max(1, points)))
    curve = views.query(
        "SELECT pareto_rank AS rank, cumulative_share, top20 FROM rm_portfolio "
        "WHERE exited = 0 AND pareto_rank IS NOT NULL AND ((pareto_rank - 1) % :step = 0 "
        "OR pareto_rank = :last OR pareto_rank = :top) ORDER BY pareto_rank",
        {"step": step, "last": ranked, "top": top20},
    )
    return {
        "ranked": ranked,
        "top20": top20,
        "curve": [
            {
                "rank": int(c["rank"]),
                "cumulative_share": float(c["cumulative_share"]),
                "top20": bool(c["top20"]),
            }
            for c in curve
        ],
    }


def pending_handovers(views: ViewDatabase, *, limit: int = 50) -> list[dict[str, Any]]:
    """Live accounts whose handover is not yet acknowledged, the longest pending first."""
    return views.query(
        "SELECT account_id, name, pending_handover_from, pending_handover_to, "
        "pending_handover_since FROM rm_portfolio "
        "WHERE exited = 0 AND pending_handover_to IS NOT NULL "
        "ORDER BY pending_handover_since, name, account_id LIMIT :limit",
        {"limit": limit},
    )


def managers(views: ViewDatabase) -> list[str]:
    """The managers of live accounts, by name (the portfolio's manager filter)."""
    return [
        r["manager"]
        for r in views.query(
            "SELECT DISTINCT manager FROM rm_portfolio WHERE exited = 0 AND manager IS NOT NULL "
            "ORDER BY manager"
        )
    ]
