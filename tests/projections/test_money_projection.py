"""The portfolio's money as projected, on both backends: financial events stored before
periods were typed still read (parsed where they name one period, kept apart otherwise), and
what the projector builds event by event with rates arriving in any order equals a rebuild."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest
from tests.projections.test_projector import ANN, TODAY, clock, snapshot
from tests.support import open_views

from kam_domain.application import KamApplication
from kam_domain.commands import RecordExchangeRate, RecordFinancials, RegisterAccount
from kam_domain.key_accounts import KeyAccount
from kam_domain.values import ServiceProfile
from kam_projections.db import ViewDatabase
from kam_projections.portfolio_reads import PortfolioFilter, portfolio_rows, portfolio_summary
from kam_projections.projector import Projector
from kam_projections.rebuild import rebuild


@pytest.fixture
def views(database_url: str) -> Iterator[ViewDatabase]:
    database = open_views(database_url)
    try:
        yield database
    finally:
        database.close()


def register(app: KamApplication, name: str) -> UUID:
    command = RegisterAccount(
        name=name, industry="Retail", region="EMEA", service_profile=ServiceProfile.STANDARD
    )
    return app.handle(command, meta=ANN).id


def figures(app: KamApplication, account: UUID, period: str, revenue: int, currency: str) -> None:
    command = RecordFinancials(
        account_id=account,
        period=period,
        revenue=Decimal(revenue),
        gross_margin=Decimal("0.2"),
        revenue_target=None,
        currency=currency,
    )
    app.handle(command, meta=ANN)


def stored_before_periods_were_typed(
    app: KamApplication, account: UUID, period: str, revenue: int
) -> None:
    """A FinancialsRecorded event as the service stored it when the period was free text."""
    aggregate = app.get_account(account)
    aggregate._financials_recorded(
        period=period,
        revenue=Decimal(revenue),
        gross_margin=None,
        revenue_target=None,
        currency="EUR",
        meta=ANN,
    )
    app.save(aggregate)


def rate(app: KamApplication, currency: str, value: str, effective_on: date) -> None:
    command = RecordExchangeRate(currency=currency, rate=Decimal(value), effective_on=effective_on)
    app.handle(command, meta=ANN)


def rows(views: ViewDatabase) -> dict[str, dict[str, object]]:
    page = portfolio_rows(views, PortfolioFilter(), today=TODAY, limit=100)
    return {str(r["name"]): r for r in page.items}


def test_old_period_labels_read_where_they_name_one_period_and_are_kept_apart_otherwise(
    app: KamApplication, views: ViewDatabase
) -> None:
    """Given figures stored as "Q4/2026", "2026-Q3" and "FY2025" (a fiscal year: no one
    calendar period), when projected, then the last period is 2026-Q4 (as text "Q4/2026"
    came first and "2026-Q3" sorted after it), FY2025 is listed apart and never the last
    period, and an account with only FY2025 has no last period, revenue or rank."""
    old = register(app, "Old Co")
    fiscal = register(app, "Fiscal Co")
    stored_before_periods_were_typed(app, old, "Q4/2026", 400)
    stored_before_periods_were_typed(app, old, "2026-Q3", 300)
    stored_before_periods_were_typed(app, old, "FY2025", 9000)
    stored_before_periods_were_typed(app, fiscal, "FY2025", 5000)
    assert app.get_account(old).financials.keys() == {"Q4/2026", "2026-Q3", "FY2025"}
    projector = Projector(app, views, batch_size=2, clock=clock)
    projector.setup()
    projector.catch_up()

    found = rows(views)
    assert (found["Old Co"]["last_period"], found["Old Co"]["revenue"]) == ("2026-Q4", 400)
    assert found["Old Co"]["unordered_periods"] == ["FY2025"]
    assert found["Fiscal Co"]["last_period"] is None and found["Fiscal Co"]["revenue"] is None
    assert found["Fiscal Co"]["unordered_periods"] == ["FY2025"]
    assert found["Fiscal Co"]["pareto_rank"] is None
    summary = portfolio_summary(views, {})
    assert summary["total_revenue"] == 400 and summary["accounts_with_unordered_periods"] == 2

    incremental = snapshot(views)
    rebuild(app, views, clock=clock)
    assert snapshot(views) == incremental


def test_rates_recorded_in_any_order_convert_as_a_rebuild_does(
    app: KamApplication, views: ViewDatabase
) -> None:
    """Given figures before, between and after the rates they need, when projected one event
    at a time, then every row converts with the rate effective at its period's end, and the
    tables equal a rebuild from scratch."""
    projector = Projector(app, views, batch_size=1, clock=clock)
    projector.setup()
    us, uk, home = register(app, "US Co"), register(app, "UK Co"), register(app, "Home Co")
    figures(app, us, "2026-Q1", 1000, "USD")
    projector.catch_up()
    assert rows(views)["US Co"]["revenue"] is None
    rate(app, "USD", "0.9", date(2026, 1, 1))
    rate(app, "GBP", "1.2", date(2026, 7, 1))
    figures(app, uk, "2026-Q2", 1000, "GBP")  # ends before the GBP rate: unconverted
    figures(app, home, "2026-Q2", 500, "EUR")
    rate(app, "USD", "0.8", date(2026, 4, 1))  # after Q1: leaves US Co at 0.9
    rate(app, "USD", "0.85", date(2026, 1, 1))  # the same day again: replaces 0.9
    projector.catch_up()

    found = rows(views)
    assert found["US Co"]["revenue"] == pytest.approx(850)
    assert found["UK Co"]["revenue"] is None
    assert [r for r in found if found[r]["top20"]] == ["US Co"]
    assert portfolio_summary(views, {})["unconverted_revenue"] == [
        {"currency": "GBP", "amount": 1000, "accounts": 1}
    ]
    rates = views.query("SELECT currency, effective_on, rate FROM rm_fx_rates ORDER BY 1, 2")
    assert [(r["currency"], r["effective_on"], r["rate"]) for r in rates] == [
        ("GBP", "2026-07-01", "1.2"),
        ("USD", "2026-01-01", "0.85"),
        ("USD", "2026-04-01", "0.8"),
    ]
    incremental = snapshot(views)
    rebuild(app, views, clock=clock)
    assert snapshot(views) == incremental
    assert isinstance(app.get_account(us), KeyAccount)
