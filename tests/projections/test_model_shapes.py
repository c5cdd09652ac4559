"""Read models built under another shape are rebuilt before use, on both backends.

Given a store whose read models were built by an older version (a column fewer, another
reporting currency, or before shapes were recorded), when a process that projects starts
(``rebuild_stale``), then exactly the changed models are rebuilt from the log and equal a
rebuild from scratch, and the next start finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from tests.support import open_views

from kam_domain.application import KamApplication
from kam_domain.commands import RecordFinancials, RegisterAccount
from kam_domain.values import Envelope, ServiceProfile
from kam_projections.db import ViewDatabase
from kam_projections.portfolio import PortfolioModel
from kam_projections.projector import Projector, build_models
from kam_projections.rebuild import rebuild, rebuild_stale
from kam_projections.tables import ReadModel

TODAY = date(2026, 11, 22)
ANN = Envelope(actor="ann")


def clock() -> date:
    return TODAY


@pytest.fixture
def views(database_url: str) -> Iterator[ViewDatabase]:
    database = open_views(database_url)
    try:
        yield database
    finally:
        database.close()


def record(app: KamApplication, name: str, revenue: int) -> None:
    account_id = app.handle(
        RegisterAccount(
            name=name, industry="Retail", region="EMEA", service_profile=ServiceProfile.STANDARD
        ),
        meta=ANN,
    ).id
    app.handle(
        RecordFinancials(
            account_id=account_id,
            period="2026",
            revenue=Decimal(revenue),
            gross_margin=None,
            revenue_target=None,
            currency="EUR",
        ),
        meta=ANN,
    )


def projector(app: KamApplication, views: ViewDatabase, models: list[ReadModel]) -> Projector:
    return Projector(app, views, models, clock=clock)


def portfolio(views: ViewDatabase) -> list[dict[str, Any]]:
    return views.query("SELECT * FROM rm_portfolio ORDER BY account_id")


class RevisedPortfolio(PortfolioModel):
    revision: ClassVar[int] = PortfolioModel.revision + 1


def test_a_fresh_store_records_the_shapes_and_rebuilds_nothing(
    app: KamApplication, views: ViewDatabase
) -> None:
    live = projector(app, views, build_models())
    assert rebuild_stale(live) == []
    shapes = {r["model"]: r["shape"] for r in views.query("SELECT model, shape FROM rm_shapes")}
    assert shapes == {m.name: m.shape(views.dialect) for m in live.models}


def test_a_model_built_under_an_older_table_is_rebuilt_with_the_new_one(
    app: KamApplication, views: ViewDatabase
) -> None:
    # Given read models an older version built: its portfolio table lacks a column, and the
    # shape recorded is that version's.
    old = projector(app, views, build_models())
    assert rebuild_stale(old) == []
    record(app, "Acme", 100)
    record(app, "Globex", 50)
    old.catch_up()
    with views.transaction() as tx:
        tx.execute("ALTER TABLE rm_portfolio DROP COLUMN csat_on")
        tx.execute("UPDATE rm_shapes SET shape = 'older' WHERE model = 'portfolio'")
    # When this version starts.
    live = projector(app, views, build_models())
    rebuilt = rebuild_stale(live)
    # Then the portfolio alone was rebuilt, its rows have every column and are a rebuild's.
    assert rebuilt == ["portfolio"]
    rows = portfolio(views)
    assert len(rows) == 2
    assert "csat_on" in rows[0]
    rebuild(app, views, ["portfolio"], clock=clock)
    assert portfolio(views) == rows
    # And the next start has nothing to do; the projector goes on from where it stood.
    assert rebuild_stale(projector(app, views, build_models())) == []
    record(app, "Initech", 10)
    live.catch_up()
    assert len(portfolio(views)) == 3


def test_another_reporting_currency_or_revision_rebuilds_the_model(
    app: KamApplication, views: ViewDatabase
) -> None:
    live = projector(app, views, build_models())
    rebuild_stale(live)
    record(app, "Acme", 100)
    live.catch_up()
    generation = views.query("SELECT generation FROM rm_tracking WHERE model = 'portfolio'")
    # When the model's revision rises, it is rebuilt (its generation moves on) ...
    revised: list[ReadModel] = [
        RevisedPortfolio() if m.name == "portfolio" else m for m in build_models()
    ]
    assert rebuild_stale(projector(app, views, revised)) == ["portfolio"]
    after = views.query("SELECT generation FROM rm_tracking WHERE model = 'portfolio'")
    assert after[0]["generation"] == generation[0]["generation"] + 1
    # ... and so when the reporting currency changes; the other models are left alone.
    usd = build_models(reporting_currency="USD")
    assert rebuild_stale(projector(app, views, usd)) == ["portfolio"]
    assert rebuild_stale(projector(app, views, usd)) == []


def test_models_that_projected_before_shapes_were_recorded_are_rebuilt(
    app: KamApplication, views: ViewDatabase
) -> None:
    # Given read models that projected events before this version recorded shapes.
    live = projector(app, views, build_models())
    rebuild_stale(live)
    record(app, "Acme", 100)
    live.catch_up()
    with views.transaction() as tx:
        tx.execute("DELETE FROM rm_shapes")
    # When this version starts, then every model is rebuilt once.
    again = projector(app, views, build_models())
    assert sorted(rebuild_stale(again)) == sorted(m.name for m in again.models)
    assert rebuild_stale(again) == []
    assert len(portfolio(views)) == 1
