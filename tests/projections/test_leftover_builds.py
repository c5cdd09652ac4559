"""Issue 15 part 7: the ``__build`` tables a killed ``kam rebuild`` leaves behind are dropped
when the next rebuild or projector starts, but never those of a rebuild running now."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from tests.support import open_views

from kam_domain.application import KamApplication
from kam_domain.commands import RegisterAccount
from kam_domain.values import Envelope, ServiceProfile
from kam_projections.db import ViewDatabase
from kam_projections.projector import Projector
from kam_projections.rebuild import SUFFIX, drop_leftover_builds, rebuild, rebuild_stale

ANN = Envelope(actor="ann", correlation_id="leftovers")
#: Named as ``kam rebuild`` names the table it builds the timeline into.
LEFTOVER = f"rm_timeline{SUFFIX}"


@pytest.fixture
def views(database_url: str) -> Iterator[ViewDatabase]:
    database = open_views(database_url)
    try:
        yield database
    finally:
        database.close()


def leave_a_build_table(views: ViewDatabase) -> None:
    """What a rebuild killed mid-way leaves: a half-filled build table with an index."""
    with views.transaction() as tx:
        tx.execute(f"CREATE TABLE {LEFTOVER} (position BIGINT PRIMARY KEY, body TEXT)")
        tx.execute(f"CREATE INDEX ix_timeline_body{SUFFIX} ON {LEFTOVER} (body)")
        tx.execute(f"INSERT INTO {LEFTOVER} (position, body) VALUES (1, 'half-built')")


def build_tables(views: ViewDatabase) -> list[str]:
    if views.dialect == "postgres":
        sql = "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return sorted(str(row["name"]) for row in views.query(sql) if row["name"].endswith(SUFFIX))


def register(app: KamApplication) -> None:
    app.handle(
        RegisterAccount(
            name="Acme",
            industry="Manufacturing",
            region="EMEA",
            service_profile=ServiceProfile.PREMIUM,
        ),
        meta=ANN,
    )


def test_a_starting_projector_drops_a_killed_rebuilds_tables(
    app: KamApplication, views: ViewDatabase
) -> None:
    register(app)
    projector = Projector(app, views)
    projector.setup()
    leave_a_build_table(views)
    assert build_tables(views) == [LEFTOVER]

    rebuild_stale(projector)  # what every projecting process runs as it starts

    assert build_tables(views) == []
    projector.run_once()  # the live models are untouched and keep working
    assert projector.position() == app.recorder.max_notification_id()


def test_the_next_rebuild_drops_a_killed_rebuilds_tables(
    app: KamApplication, views: ViewDatabase
) -> None:
    register(app)
    leave_a_build_table(views)
    # Only the portfolio is rebuilt: the timeline's leftover goes all the same.
    position = rebuild(app, views, ["portfolio"])
    assert position == app.recorder.max_notification_id()
    assert build_tables(views) == []


def test_the_tables_of_a_rebuild_running_now_are_left_alone(
    app: KamApplication, views: ViewDatabase, database_url: str
) -> None:
    register(app)
    Projector(app, views).setup()
    holding, release, done = threading.Event(), threading.Event(), threading.Event()
    other = open_views(database_url)  # the running rebuild: another connection, its own lock

    def running_rebuild() -> None:
        with other.rebuilding():
            leave_a_build_table(other)
            holding.set()
            release.wait(30)
        done.set()

    thread = threading.Thread(target=running_rebuild)
    thread.start()
    try:
        assert holding.wait(30)
        assert drop_leftover_builds(views) == []
        rebuild_stale(Projector(app, views))
        assert build_tables(views) == [LEFTOVER]
    finally:
        release.set()
        thread.join(30)
        other.close()
    assert done.is_set()
    # Once it is gone without finishing (killed), its table is a leftover like any other.
    assert drop_leftover_builds(views) == [LEFTOVER]
    assert build_tables(views) == []
