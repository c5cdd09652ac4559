"""Health as of a day is what the history said that day: for generated histories (facts dated
at random over three years, so many are logged out of date order), an account's health as of
day D read from the projection of the whole log equals its health with D as "today" over a
fresh projection of only the events that happened up to D (dated by the same rule,
``kam_domain.dates.fact_time``). Both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.strategies import apply_history, histories
from tests.support import open_views, postgres_url_or_skip

from kam_api.demo.walk import FIRST_DAY, LAST_DAY
from kam_domain.application import KamApplication
from kam_projections.db import ViewDatabase
from kam_projections.health import HealthModel
from kam_projections.health_reads import account_health
from kam_projections.projector import Projector, decode
from kam_projections.tables import Event

TODAY = LAST_DAY  # the projector's day: every fact of the walk is dated up to it


@pytest.fixture
def views(database_url: str) -> Iterator[ViewDatabase]:
    database = open_views(database_url)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def cut_views(database_url: str, tmp_path: Path) -> Iterator[ViewDatabase]:
    """A second, empty read-model database on the same backend."""
    if database_url.startswith("sqlite"):
        database = open_views(f"sqlite:///{tmp_path / 'cut.db'}")
        try:
            yield database
        finally:
            database.close()
        return
    url, schema = postgres_url_or_skip(), f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    database = open_views(f"{url}?schema={schema}")
    try:
        yield database
    finally:
        database.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def project_only(
    views: ViewDatabase, events: list[Event], owners: dict[UUID, UUID], today: date
) -> None:
    """A fresh health model fed only ``events`` (in log order). Which account a plan or a
    stakeholder belongs to is not a dated fact: it comes from the whole log (``owners``), so
    an interaction dated before its stakeholder was identified still counts for the account."""
    model = HealthModel()
    with views.transaction() as tx:
        for table in model.table_names():
            tx.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in model.ddl(views.dialect, "") + model.index_ddl(""):
            tx.execute(statement)
        for event in events:
            account = event.aggregate_id if event.aggregate_type == "KeyAccount" else None
            model.apply(tx, event, owners.get(event.aggregate_id, account))
        model.finish(tx, today)
    model.committed()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=histories(max_accounts=2, max_steps=50),
    offsets=st.lists(
        st.integers(-30, (LAST_DAY - FIRST_DAY).days + 30), min_size=1, max_size=3, unique=True
    ),
)
def test_health_as_of_a_day_equals_health_over_only_what_happened_up_to_it(
    app: KamApplication,
    views: ViewDatabase,
    cut_views: ViewDatabase,
    steps: list[object],
    offsets: list[int],
) -> None:
    # Given a generated history, projected whole
    start = app.recorder.max_notification_id() or 0
    result = apply_history(app, steps)  # type: ignore[arg-type]
    projector = Projector(app, views, clock=lambda: TODAY)
    projector.setup()
    projector.catch_up()
    log = [decode(app, n) for n in app.recorder.select_notifications(start + 1, 10_000)]
    owners = {
        e.aggregate_id: e.data["account_id"]
        for e in log
        if e.aggregate_type in ("AccountPlan", "Relationship") and e.version == 1
    }
    # Days to look at: drawn, and the days facts happened (a fact's own day is the edge case)
    days = {FIRST_DAY + timedelta(days=offset) for offset in offsets}
    days |= {e.day for e in log[: len(offsets) * 7 : 7]}

    for day in sorted(days):
        # When only the events that happened up to that day are projected afresh
        project_only(cut_views, [e for e in log if e.day <= day], owners, day)

        # Then every account's health as of that day, trend included, is the same
        for account in result.account_ids:
            whole = account_health(views, account, today=day)
            cut = account_health(cut_views, account, today=day)
            assert whole == cut, (account, day)
            registration = next(
                e.day for e in log if e.aggregate_id == account and e.event_type == "Registered"
            )
            assert (whole is None) == (day < registration)
            if whole is not None:
                assert all(point["on"] >= registration.isoformat() for point in whole["trend"])
