"""The portfolio page (every signed-in role; directors' main view): the accounts' table with
filters, sort and pages, the attractiveness x health matrix, the Pareto curve, tiers against
caps, revenue at risk, managers' load and pending handovers; and the table as CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from markupsafe import Markup

from kam_api.csv_export import csv_response
from kam_api.schemas.reads import PortfolioRowPublic
from kam_api.settings import Settings
from kam_api.web.auth import PageUser
from kam_api.web.portfolio_view import (
    PortfolioCaches,
    TablePart,
    fragment,
    matrix_chart,
    summary_view,
)
from kam_api.web.templating import pages_of
from kam_projections.db import ViewDatabase
from kam_projections.pagination import Page
from kam_projections.portfolio_reads import PortfolioFilter, portfolio_rows

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


def _caches(request: Request) -> PortfolioCaches:
    """The app's caches of the page's parts (made on first use)."""
    caches: PortfolioCaches | None = getattr(request.app.state, "portfolio_caches", None)
    if caches is None:
        settings: Settings = request.app.state.settings
        caches = request.app.state.portfolio_caches = PortfolioCaches(settings.page_cache_size)
    return caches


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
    today, currency = settings.clock(), settings.reporting_currency
    where = _filter(tier, manager, band, quadrant, q)
    pages = pages_of(request)
    caches = _caches(request)
    state = caches.state(views)

    def table() -> TablePart:
        page = portfolio_rows(
            views,
            where,
            today=today,
            sort=sort,
            limit=PAGE_SIZE,
            cursor=cursor or None,
            clv=settings.clv,
        )
        context = {"rows": page.items, "filtered": where != PortfolioFilter(), "currency": currency}
        return TablePart(fragment(pages, "portfolio/_table.html", context), page.next_cursor)

    def summary() -> dict[str, Any]:
        return summary_view(views, settings)

    def charts() -> Markup:
        context = {
            "summary": caches.summaries.get(today, state, summary),
            "matrix": matrix_chart(views, where),
            "filtered": where != PortfolioFilter(),
        }
        context["pareto"] = context["summary"]["pareto"]
        return fragment(pages, "portfolio/_charts_section.html", context)

    part = caches.tables.get((today, where, sort, cursor, PAGE_SIZE), state, table)
    overview = caches.summaries.get(today, state, summary)
    summary_html = caches.fragments.get(
        ("summary", today),
        state,
        lambda: fragment(
            pages, "portfolio/_summary.html", {"summary": overview, "currency": currency}
        ),
    )
    charts_html = caches.fragments.get(("charts", today, where), state, charts)
    filters = {"tier": tier, "manager": where.manager or "", "band": band, "quadrant": quadrant}
    filters["q"] = where.q or ""
    kept = _query(**filters, sort=sort if sort != "revenue" else "")
    filtered = any(filters.values())
    return pages.render(
        request,
        "portfolio/portfolio.html",
        {
            "title": "Portfolio",
            "summary_html": summary_html,
            "table_html": part.html,
            "charts_html": charts_html,
            "filters": filters,
            "filtered": filtered,
            "sort": sort,
            "sorts": list(SORTS.items()),
            "tiers": TIERS,
            "bands": BANDS,
            "quadrants": QUADRANTS,
            "managers": overview["managers"],
            "first_page": bool(cursor),
            "first_url": "/app/portfolio" + (f"?{kept}" if kept else ""),
            "next_url": (
                "/app/portfolio?" + _query(**filters, sort=sort, cursor=part.next_cursor)
                if part.next_cursor
                else None
            ),
            "csv_url": "/app/portfolio.csv" + (f"?{kept}" if kept else ""),
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
