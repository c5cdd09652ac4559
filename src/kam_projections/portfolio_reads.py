"""Reading the portfolio: pages of rows (filtered, sorted, with health, quadrant, action counts
and contact cadence), one account's row, the summary, and every account's name. The rows are
written by ``PortfolioModel`` (``portfolio.py``).

Matrix quadrant (attractiveness by health, each split at 50): ``grow`` (attractive, healthy),
``fix`` (attractive, unhealthy), ``maintain`` (less attractive, healthy), ``reconsider``
(neither); ``unscored`` until both are known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from kam_domain.values import Tier
from kam_projections.cadence import add_contact_cadence, key_people_query
from kam_projections.db import ViewDatabase
from kam_projections.money import DEFAULT_CLV, ClvAssumptions, present_money
from kam_projections.pagination import (
    Page,
    add_filters,
    decode_cursor,
    encode_cursor,
    equal_to,
    number,
    uuid_text,
)
from kam_projections.pagination import text as text_key
from kam_projections.search import ACCOUNT_MATCH_SQL, like_pattern


def quadrant(attractiveness: int | None, health: int | None) -> str:
    """The matrix quadrant (same rule as ``QUADRANT_SQL``)."""
    if attractiveness is None or health is None:
        return "unscored"
    if attractiveness >= 50:
        return "grow" if health >= 50 else "fix"
    return "maintain" if health >= 50 else "reconsider"


QUADRANT_SQL = (
    "CASE WHEN p.attractiveness IS NULL OR h.score IS NULL THEN 'unscored' "
    "WHEN p.attractiveness >= 50 AND h.score >= 50 THEN 'grow' "
    "WHEN p.attractiveness >= 50 THEN 'fix' "
    "WHEN h.score >= 50 THEN 'maintain' ELSE 'reconsider' END"
)
_OPEN = "('planned', 'in_progress', 'blocked')"

SORTS = {
    # name: (SQL expression, descending). Pareto rank is revenue order (ties by account id),
    # so sorting by rank is sorting by revenue.
    "revenue": ("COALESCE(p.revenue, 0)", True),
    "name": ("p.name", False),
    "health": ("COALESCE(h.score, -1)", False),
    "rank": ("COALESCE(p.revenue, 0)", True),
}


@dataclass(frozen=True)
class PortfolioFilter:
    tier: str | None = None
    manager: str | None = None
    band: str | None = None
    quadrant: str | None = None
    include_exited: bool = False
    account_id: UUID | None = None
    q: str | None = None  # the name contains it (case and accents ignored)


def portfolio_rows(
    views: ViewDatabase,
    where: PortfolioFilter,
    *,
    today: date,
    sort: str = "revenue",
    limit: int = 50,
    cursor: str | None = None,
    clv: ClvAssumptions = DEFAULT_CLV,
) -> Page:
    """Portfolio rows with health, quadrant, open/overdue actions and contact cadence, one
    page at a time, in one round trip to the database (the page and its key people)."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    expression, descending = SORTS[sort]
    clauses: list[str] = [] if where.include_exited else ["p.exited = 0"]
    params: dict[str, Any] = {"limit": limit + 1, "today": today.isoformat()}
    add_filters(
        clauses,
        params,
        {
            "account_id": (
                "p.account_id = :account_id",
                str(where.account_id) if where.account_id else None,
            ),
            "tier": ("p.tier = :tier", where.tier),
            "manager": ("p.manager = :manager", where.manager),
            "band": ("h.band = :band", where.band),
            "quadrant": (f"({QUADRANT_SQL}) = :quadrant", where.quadrant),
            "q": (ACCOUNT_MATCH_SQL, like_pattern(where.q) if where.q else None),
        },
    )
    if cursor:
        key = text_key if sort == "name" else number
        values = decode_cursor(cursor, equal_to(sort), key, uuid_text)
        op = "<" if descending else ">"
        # The first condition bounds the index range scan (the sort's index holds the key
        # after ``exited``), so a page deep in the list costs what the first one does.
        clauses.append(
            f"{expression} {op}= :c_key AND ({expression} {op} :c_key OR p.account_id > :c_id)"
        )
        params["c_key"], params["c_id"] = values[1], values[2]
    order = "DESC" if descending else "ASC"
    where_sql = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    # Health decides which rows make the page when it filters or sorts: join it before the
    # limit. Otherwise the page comes from rm_portfolio alone (an index range scan).
    counts = (
        f"(SELECT COUNT(*) FROM rm_actions a WHERE a.account_id = p.account_id "
        f"AND a.status IN {_OPEN}) AS open_actions, "
        f"(SELECT COUNT(*) FROM rm_actions a WHERE a.account_id = p.account_id "
        f"AND a.status IN {_OPEN} AND a.due_on < :today) AS overdue_actions"
    )
    ordered = f"ORDER BY {expression} {order}, p.account_id ASC LIMIT :limit"
    if where.band or where.quadrant or sort == "health":
        # Health decides which rows make the page: join it before the limit.
        joined = "rm_portfolio p LEFT JOIN rm_health h ON h.account_id = p.account_id"
        sql = (
            f"SELECT p.*, {expression} AS sort_key, h.score AS health_score, "
            f"h.band AS health_band, {counts} FROM {joined} {where_sql} {ordered}"
        )
        chosen = f"SELECT p.account_id FROM {joined} {where_sql} {ordered}"
    else:
        # The page comes from rm_portfolio alone (an index range scan); health and action
        # counts are looked up for its rows only (primary-key and index lookups, no join
        # over the whole health table).
        sql = (
            "SELECT p.*, h.score AS health_score, h.band AS health_band, "
            f"{counts} FROM (SELECT p.*, {expression} AS sort_key FROM rm_portfolio p "
            f"{where_sql} {ordered}) p LEFT JOIN rm_health h ON h.account_id = p.account_id "
            f"ORDER BY p.sort_key {order}, p.account_id ASC"
        )
        chosen = f"SELECT p.account_id FROM rm_portfolio p {where_sql} {ordered}"
    # The page's key people (contact cadence) in the same round trip: the page's accounts are
    # chosen again by the same index range scan.
    people_sql, roles = key_people_query(chosen)
    statements: list[tuple[str, Mapping[str, Any] | None]] = [
        (sql, params),
        (people_sql, {**params, **roles}),
    ]
    rows, people = views.query_batch(statements)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        encode_cursor([sort, rows[-1]["sort_key"], rows[-1]["account_id"]])
        if more and rows
        else None
    )
    for row in rows:
        row.pop("sort_key")
        row["quadrant"] = quadrant(row["attractiveness"], row["health_score"])
        row["top20"] = bool(row["top20"])
        row["exited"] = bool(row["exited"])
        row["pending_handover"] = row["pending_handover_to"] is not None
        row["review_overdue"] = row["next_review_due"] < today.isoformat()
        row["reevaluation_overdue"] = (
            not row["exited"] and row["reevaluation_due_on"] < today.isoformat()
        )
        row["exit_decided"] = bool(row["exit_decided"])
        present_money(row, clv)
    add_contact_cadence(rows, people, today)
    return Page(items=rows, next_cursor=next_cursor)


def portfolio_row(
    views: ViewDatabase,
    account_id: UUID,
    *,
    today: date,
    clv: ClvAssumptions = DEFAULT_CLV,
) -> dict[str, Any] | None:
    """One account's portfolio row (exited accounts included), or None."""
    where = PortfolioFilter(include_exited=True, account_id=account_id)
    rows = portfolio_rows(views, where, today=today, limit=1, clv=clv).items
    return rows[0] if rows else None


def portfolio_summary(
    views: ViewDatabase, caps: Mapping[Tier, int], reporting_currency: str = "EUR"
) -> dict[str, Any]:
    """Accounts per tier against the cap, revenue (in the reporting currency) held by the top
    20 %, revenue that could not be converted (by currency, never added), accounts per
    manager."""
    with views.read() as tx:
        tiers = {
            r["tier"]: r["n"]
            for r in tx.execute(
                "SELECT tier, COUNT(*) AS n FROM rm_portfolio WHERE exited = 0 GROUP BY tier"
            )
        }
        managers = tx.execute(
            "SELECT manager, COUNT(*) AS accounts FROM rm_portfolio WHERE exited = 0 "
            "GROUP BY manager ORDER BY accounts DESC, manager"
        )
        totals = (
            tx.one(
                "SELECT COUNT(*) AS accounts, COALESCE(SUM(revenue), 0) AS revenue, "
                "COALESCE(SUM(CASE WHEN top20 = 1 THEN revenue ELSE 0 END), 0) AS top20, "
                "SUM(CASE WHEN unordered_periods IS NOT NULL THEN 1 ELSE 0 END) AS unordered, "
                "SUM(CASE WHEN pending_handover_to IS NOT NULL THEN 1 ELSE 0 END) AS handovers, "
                "COALESCE(SUM(revenue_at_risk_converted), 0) AS at_risk, "
                "SUM(CASE WHEN revenue_at_risk_converted IS NULL THEN 1 ELSE 0 END) AS risk_apart "
                "FROM rm_portfolio WHERE exited = 0"
            )
            or {}
        )
        unconverted = tx.execute(
            "SELECT currency, SUM(last_revenue) AS amount, COUNT(*) AS accounts "
            "FROM rm_portfolio WHERE exited = 0 AND revenue IS NULL AND last_revenue IS NOT NULL "
            "GROUP BY currency ORDER BY currency"
        )
        currencies = [
            r["currency"]
            for r in tx.execute(
                "SELECT DISTINCT currency FROM rm_portfolio "
                "WHERE exited = 0 AND currency IS NOT NULL ORDER BY currency"
            )
        ]
    revenue = float(totals.get("revenue") or 0)
    return {
        "accounts": totals.get("accounts") or 0,
        "tiers": [
            {"tier": t.value, "accounts": tiers.get(t.value, 0), "cap": caps.get(t, 0)}
            for t in Tier
        ],
        "unclassified": tiers.get(None, 0),
        "reporting_currency": reporting_currency,
        "total_revenue": revenue,
        "unconverted_revenue": [
            {"currency": u["currency"], "amount": float(u["amount"]), "accounts": u["accounts"]}
            for u in unconverted
        ],
        "accounts_with_unordered_periods": totals.get("unordered") or 0,
        "top20_revenue": float(totals.get("top20") or 0),
        "top20_revenue_share": (float(totals.get("top20") or 0) / revenue) if revenue else 0.0,
        "revenue_at_risk": float(totals.get("at_risk") or 0),
        "accounts_with_unconverted_risk": totals.get("risk_apart") or 0,
        "pending_handovers": totals.get("handovers") or 0,
        "accounts_per_manager": [
            {"manager": m["manager"], "accounts": m["accounts"]} for m in managers
        ],
        "currencies": currencies,
    }


def account_names(views: ViewDatabase) -> list[str]:
    """Every account's name (for suggesting one when a name given is not found)."""
    return [row["name"] for row in views.query("SELECT name FROM rm_portfolio ORDER BY name")]
