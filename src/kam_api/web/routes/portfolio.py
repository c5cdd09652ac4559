"""The portfolio page (every signed-in role; directors' main view): the accounts' table with
filters, sort and pages, the attractiveness x health matrix, the Pareto curve, tiers against
caps, revenue at risk, managers' load and pending handovers; and the table as CSV."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from kam_api.csv_export import csv_response
from kam_api.schemas.reads import PortfolioRowPublic
from kam_api.settings import Settings
from kam_api.web.auth import PageUser
from kam_api.web.portfolio_view import StateCache, matrix_chart, summary_view
from kam_api.web.templating import pages_of
from kam_projections.db import ViewDatabase
from kam_projections.pagination import Page
from kam_projections.portfolio import PortfolioFilter, portfolio_rows

router = APIRouter(include_in_schema=False)

#: Rows per page of the table.
PAGE_SIZE = 50
TIERS = ("strategic", "key", "emerging")
BANDS = ("green", "amber", "red")
QUADRANTS = ("grow", "fix", "maintain", "reconsider", "unscored")
SORTS = {
    "revenue": "Revenue (largest first)",
    "name": "Name",
    "health": "Health (weakest first)",
}

# A blank select option sends "": it means "any".
TierChoice = Literal["", "strategic", "key", "emerging"]
BandChoice = Literal["", "green", "amber", "red"]
QuadrantChoice = Literal["", "grow", "fix", "maintain", "reconsider", "unscored"]
SortChoice = Literal["revenue", "name", "health"]
NameText = Annotated[str, Query(max_length=200)]
ManagerText = Annotated[str, Query(max_length=200)]
CursorText = Annotated[str, Query(max_length=1000)]


def _cache(request: Request) -> StateCache:
    """The app's cache of summaries and charts (made on first use)."""
    cache: StateCache | None = getattr(request.app.state, "portfolio_cache", None)
    if cache is None:
        cache = request.app.state.portfolio_cache = StateCache()
    return cache


def _filter(tier: str, manager: str, band: str, quadrant: str, q: str) -> PortfolioFilter:
    return PortfolioFilter(
        tier=tier or None,
        manager=manager.strip() or None,
        band=band or None,
        quadrant=quadrant or None,
        q=q.strip() or None,
    )


def _query(**values: str) -> str:
    """A query string of the values that are set."""
    return urlencode({k: v for k, v in values.items() if v})


@router.get("/app/portfolio")
def portfolio(
    request: Request,
    user: PageUser,
    tier: TierChoice = "",
    manager: ManagerText = "",
    band: BandChoice = "",
    quadrant: QuadrantChoice = "",
    q: NameText = "",
    sort: SortChoice = "revenue",
    cursor: CursorText = "",
) -> Response:
    """The portfolio: a page of the table (filtered, sorted), the summary and the charts."""
    views: ViewDatabase = request.app.state.views
    settings: Settings = request.app.state.settings
    today = settings.clock()
    where = _filter(tier, manager, band, quadrant, q)
    page = portfolio_rows(
        views,
        where,
        today=today,
        sort=sort,
        limit=PAGE_SIZE,
        cursor=cursor or None,
        clv=settings.clv,
    )
    cache = _cache(request)
    state = cache.state(views)
    summary = cache.get(("summary", today), state, lambda: summary_view(views, settings))
    chart = cache.get(("matrix", today, where), state, lambda: matrix_chart(views, where))
    filters = {"tier": tier, "manager": where.manager or "", "band": band, "quadrant": quadrant}
    filters["q"] = where.q or ""
    kept = _query(**filters, sort=sort if sort != "revenue" else "")
    filtered = any(filters.values())
    return pages_of(request).render(
        request,
        "portfolio/portfolio.html",
        {
            "title": "Portfolio",
            "rows": page.items,
            "summary": summary,
            "matrix": chart,
            "pareto": summary["pareto"],
            "filters": filters,
            "filtered": filtered,
            "sort": sort,
            "sorts": list(SORTS.items()),
            "tiers": TIERS,
            "bands": BANDS,
            "quadrants": QUADRANTS,
            "managers": summary["managers"],
            "first_page": bool(cursor),
            "first_url": "/app/portfolio" + (f"?{kept}" if kept else ""),
            "next_url": (
                "/app/portfolio?" + _query(**filters, sort=sort, cursor=page.next_cursor)
                if page.next_cursor
                else None
            ),
            "csv_url": "/app/portfolio.csv" + (f"?{kept}" if kept else ""),
            "currency": settings.reporting_currency,
        },
    )


@router.get("/app/portfolio.csv")
def portfolio_csv(
    request: Request,
    user: PageUser,
    tier: TierChoice = "",
    manager: ManagerText = "",
    band: BandChoice = "",
    quadrant: QuadrantChoice = "",
    q: NameText = "",
    sort: SortChoice = "revenue",
) -> Response:
    """The whole table (every page, same filters and order) as a CSV attachment, with the
    columns of ``GET /portfolio?format=csv``."""
    views: ViewDatabase = request.app.state.views
    settings: Settings = request.app.state.settings
    where = _filter(tier, manager, band, quadrant, q)

    def fetch(after: str | None, size: int) -> Page:
        return portfolio_rows(
            views,
            where,
            today=settings.clock(),
            sort=sort,
            limit=size,
            cursor=after,
            clv=settings.clv,
        )

    return csv_response("portfolio", PortfolioRowPublic, fetch)
