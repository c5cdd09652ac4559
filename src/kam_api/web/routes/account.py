"""The account page's Overview (snapshot, health, risks, feedback), and what its tabs share:
the account now or as it was on a past day (``?as_of=YYYY-MM-DD``, the as-of slider).

As of a day, the account, its plans and stakeholders are as they were at the end of that day
(UTC) by when things happened (``kam_projections.as_of``: the fact-date rule the health as of
a day follows), so the state, the plan, the health and the timeline of a past day agree, and
history loaded after the fact (the demo, an import) reads as it happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kam_api.errors import ApiError
from kam_api.presenters import account_public
from kam_api.schemas.accounts import AccountPublic
from kam_api.settings import Settings
from kam_api.web.auth import PageStoreReader
from kam_api.web.routes.account_charts import Series, line_chart, money_value
from kam_api.web.templating import pages_of
from kam_domain.application import KamApplication
from kam_domain.key_accounts import KeyAccount
from kam_domain.values import Stage
from kam_projections.as_of import Version, page_facts, versions_at
from kam_projections.db import ViewDatabase
from kam_projections.health_cache import cached_account_health
from kam_projections.portfolio_reads import portfolio_row

router = APIRouter(include_in_schema=False)

#: What each health flag means, in words.
FLAG_SENTENCES = {
    "single_threaded": "Single-threaded: fewer than three current contacts were engaged in the "
    "last 90 days, so the relationship hangs on too few people.",
    "no_decision_maker": "No decision maker: nobody current at the customer is known to hold "
    "the decision-maker role.",
    "champion_left": "Champion left: a champion left the customer within the last 180 days "
    "and no current champion has been found.",
    "detractor_decision_maker": "Detractor in charge: a decision maker or economic buyer is a "
    "detractor.",
    "no_contact_60d": "No recent contact: nobody at the customer has been contacted for more "
    "than 60 days.",
    "nps_drop": "NPS drop: the latest NPS is at least 2 points below the one before.",
    "review_overdue": "Review overdue: the account plan has not been reviewed within the "
    "service profile's review cadence.",
    "overdue_actions": "Overdue actions: at least one open plan action is past its due date.",
}

COMPONENT_LABELS = {
    "coverage": "Coverage",
    "recency": "Recency",
    "sentiment": "Sentiment",
    "voice_of_customer": "Voice of the customer",
    "execution": "Execution",
    "assessment": "Assessment",
}


def _kam(request: Request) -> KamApplication:
    kam: KamApplication = request.app.state.kam
    return kam


def _views(request: Request) -> ViewDatabase:
    views: ViewDatabase = request.app.state.views
    return views


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def end_of(day: date) -> datetime:
    """The last instant of ``day`` (UTC)."""
    return datetime.combine(day, time.max, tzinfo=UTC)


@dataclass(frozen=True)
class AccountAt:
    """The account now (``as_of`` None) or at the end of ``as_of``, with what the tabs and
    the slider need."""

    account: AccountPublic
    as_of: date | None
    today: date
    registered_on: date
    #: The key of the account's health facts (``kam_projections.health_cache``).
    health_facts: tuple[int, int] | None = None
    #: Each aggregate of the account with its version at ``as_of`` (empty when now).
    versions: dict[UUID, Version] = field(default_factory=dict)

    @property
    def day(self) -> date:
        """The day the page shows: ``as_of``, else today."""
        return self.as_of or self.today

    @property
    def query(self) -> str:
        return f"?as_of={self.as_of.isoformat()}" if self.as_of else ""


def parse_day(value: str | None, name: str) -> date | None:
    """A ``YYYY-MM-DD`` query value (blank: none); else a readable 400."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(
            400,
            "bad-date",
            "Bad date",
            f"'{value[:40]}' is not a date: give {name} as YYYY-MM-DD, e.g. 2026-03-04.",
        ) from None


def account_at(request: Request, account_id: UUID, as_of_text: str | None) -> AccountAt:
    """The account now or as of ``as_of_text``; 404 for an unknown account, 400 for a day
    before its registration or after today."""
    kam, views = _kam(request), _views(request)
    today = _settings(request).clock()
    as_of = parse_day(as_of_text, "as_of")
    current = kam.get_account(account_id)  # 404 for an unknown account
    known, facts = page_facts(views, account_id)
    first = known or current.created_on.date()
    if as_of is None:
        return AccountAt(account_public(current), None, today, first, facts)
    if as_of > today:
        raise ApiError(
            400,
            "future-as-of",
            "Day in the future",
            f"{as_of:%-d %b %Y} has not happened yet: choose a day up to today "
            f"({today:%-d %b %Y}).",
        )
    if as_of < first:
        raise ApiError(
            400,
            "before-registration",
            "Before the account existed",
            f"{current.name} was registered on {first:%-d %b %Y}: choose a day from then to today.",
        )
    versions = versions_at(views, account_id, end_of(as_of))
    own = versions.get(account_id)
    if own is None or own.version < 1:
        raise ApiError(
            400,
            "before-registration",
            "Before the account existed",
            f"{current.name} was not registered yet on {as_of:%-d %b %Y}.",
        )
    past = kam.load(KeyAccount, account_id, version=own.version, fresh=False)
    return AccountAt(account_public(past), as_of, today, first, facts, versions)


def tabs_context(at: AccountAt, tab: str, title: str) -> dict[str, Any]:
    """What every tab of the account page needs: the tab bar, the slider, the banner."""
    return {
        "title": f"{title} · {at.account.name}",
        "at": at,
        "account": at.account,
        "account_id": at.account.id,
        "account_name": at.account.name,
        "tab": tab,
        "as_of_query": at.query,
        "slider_days": (at.today - at.registered_on).days,
        "slider_value": (at.day - at.registered_on).days,
    }


def financial_rows(account: AccountPublic) -> list[dict[str, Any]]:
    """The account's financial periods in order, with revenue against target."""
    rows = []
    for period in sorted(account.financials):
        f = account.financials[period]
        rows.append(
            {
                "period": period,
                "revenue": f.revenue,
                "target": f.revenue_target,
                "margin": f.gross_margin,
                "currency": f.currency,
                "met": None if f.revenue_target is None else f.revenue >= f.revenue_target,
            }
        )
    return rows


def health_of(request: Request, at: AccountAt) -> dict[str, Any] | None:
    """The health with the page's day as today (as ``GET /accounts/{id}/health?as_of=``),
    with each flag in words and the trend drawn."""
    health = cached_account_health(
        _views(request),
        at.account.id,
        today=at.day,
        weights=_settings(request).health_weights,
        facts=at.health_facts,
    )
    if health is None:
        return None
    trend = health["trend"]
    health["flag_sentences"] = [
        (flag, FLAG_SENTENCES.get(flag, flag.replace("_", " "))) for flag in health["flags"]
    ]
    for component in health["components"]:
        component["label"] = COMPONENT_LABELS.get(component["name"], component["name"])
    health["chart"] = line_chart(
        f"Health score by month end, {len(trend)} points, from "
        f"{trend[0]['on']} to {trend[-1]['on']}",
        [date.fromisoformat(p["on"]).strftime("%b %y") for p in trend],
        [Series("Score", "line-score", [float(p["score"]) for p in trend])],
        top=100,
    )
    return health


@router.get("/app/accounts/{account_id}", response_class=HTMLResponse)
def overview(
    request: Request, account_id: UUID, user: PageStoreReader, as_of: str | None = None
) -> HTMLResponse:
    """The account's Overview: snapshot, KPIs, financial trend, health, risks, feedback."""
    at = account_at(request, account_id, as_of)
    account = at.account
    finances = financial_rows(account)
    chart = None
    if finances:
        chart = line_chart(
            "Revenue against target per period",
            [row["period"] for row in finances],
            [
                Series("Revenue", "line-revenue", [money_value(r["revenue"]) for r in finances]),
                Series("Target", "line-target", [money_value(r["target"]) for r in finances]),
            ],
        )
    settings = _settings(request)
    # The KPIs come from the portfolio read model, which holds today's figures only.
    kpis = (
        None
        if at.as_of
        else portfolio_row(_views(request), account_id, today=at.today, clv=settings.clv)
    )
    stages = list(Stage)
    context = tabs_context(at, "overview", "Overview") | {
        "stages": stages,
        "stage_index": stages.index(account.stage),
        "finances": finances,
        "finance_chart": chart,
        "kpis": kpis,
        "reporting_currency": settings.reporting_currency,
        "health": health_of(request, at),
        "reevaluation_overdue": not account.exited and account.reevaluation_due_on < at.day,
    }
    return pages_of(request).render(request, "account/overview.html", context)
