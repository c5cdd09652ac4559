"""Read models forget an erased person: projecting an erasure leaves them equal to a rebuild
over the person's events as the crypto-shredding store decodes them (with the placeholders),
and no row, no byte of the SQLite file and no line of a PostgreSQL dump holds the person's
data or the text of their relationship (both backends)."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.erasure_story import BEN, ERIKA, erased_texts, kept_texts, tell
from tests.projections.test_projector import ANN, VIEW_TABLES, snapshot
from tests.redaction import shredded
from tests.strategies import apply_history, histories
from tests.support import open_views, postgres_url_or_skip

from kam_domain import commands as cmd
from kam_domain.application import KamApplication
from kam_domain.errors import KamError
from kam_domain.personal import ERASED
from kam_domain.values import Envelope, InteractionKind
from kam_projections.db import PostgresViews, SqliteViews, ViewDatabase
from kam_projections.projector import Projector
from kam_projections.rebuild import rebuild

TODAY = date(2026, 6, 30)


@pytest.fixture
def views(database_url: str) -> Iterator[ViewDatabase]:
    database = open_views(database_url)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def fresh_views(views: ViewDatabase, tmp_path: Path) -> Iterator[ViewDatabase]:
    """An empty read-model database beside ``views``, on the same backend."""
    if isinstance(views, SqliteViews):
        database: ViewDatabase = SqliteViews(str(tmp_path / "fresh-views.db"))
        try:
            yield database
        finally:
            database.close()
        return
    url = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    database = PostgresViews(url, schema=schema)
    try:
        yield database
    finally:
        database.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def project(app: KamApplication, views: ViewDatabase, batch_size: int = 1000) -> Projector:
    projector = Projector(app, views, batch_size=batch_size, clock=lambda: TODAY)
    projector.setup()
    projector.catch_up()
    return projector


def every_row(views: ViewDatabase) -> str:
    """Every row of every read-model table (and the projector's own), as one text."""
    tables = [*VIEW_TABLES, "rm_owners", "rm_erased", "rm_tracking"]
    return "\n".join(repr(row) for t in tables for row in views.query(f"SELECT * FROM {t}"))


def test_projecting_an_erasure_equals_a_rebuild_over_the_redacted_events(
    app: KamApplication, views: ViewDatabase, fresh_views: ViewDatabase
) -> None:
    tell(app)
    project(app, views, batch_size=3)
    incremental = snapshot(views)
    with shredded(app) as people:
        assert len(people) == 1
        project(app, fresh_views)
        assert snapshot(fresh_views) == incremental
        rebuild(app, views, clock=lambda: TODAY)
        assert snapshot(views) == incremental


def test_an_erasure_in_the_same_batch_as_the_persons_events_is_projected_alike(
    app: KamApplication, views: ViewDatabase, fresh_views: ViewDatabase
) -> None:
    tell(app)
    project(app, views)  # one batch: the person's rows are written and rewritten in it
    with shredded(app):
        project(app, fresh_views)
    assert snapshot(views) == snapshot(fresh_views)


def test_a_first_rebuild_knowing_no_erasure_yet_forgets_the_person_too(
    app: KamApplication, views: ViewDatabase, fresh_views: ViewDatabase
) -> None:
    tell(app)
    rebuild(app, views, chunk=4, clock=lambda: TODAY)  # bulk-copied rows, then rewritten
    with shredded(app):
        project(app, fresh_views)
    assert snapshot(views) == snapshot(fresh_views)


def test_a_crash_while_projecting_the_erasure_leaves_the_models_as_a_rebuild_would(
    app: KamApplication, views: ViewDatabase, fresh_views: ViewDatabase
) -> None:
    tell(app)
    erasure = next(
        n.id
        for n in app.recorder.select_notifications(1, limit=1000)
        if n.topic.endswith(":Relationship.PersonalDataErased")
    )
    # Batches of 3 from the start; the crash hits the one that holds the erasure.
    projector = Projector(app, views, batch_size=3, clock=lambda: TODAY)
    projector.setup()
    crashes = iter([False] * ((erasure - 1) // 3) + [True])

    def crash() -> None:
        if next(crashes, False):
            raise RuntimeError("crash before commit")

    projector.before_commit = crash
    with pytest.raises(RuntimeError):
        projector.catch_up()
    projector.catch_up()  # retried after the crash
    projector.catch_up()  # and again: a duplicate delivery changes nothing
    with shredded(app):
        project(app, fresh_views)
    assert snapshot(views) == snapshot(fresh_views)


def test_no_read_model_row_holds_the_erased_persons_data(
    app: KamApplication, views: ViewDatabase
) -> None:
    story = tell(app)
    project(app, views, batch_size=4)
    rows = every_row(views)
    for text in erased_texts():
        assert text not in rows
    for text in kept_texts():
        assert text in rows
    timeline = views.query(
        "SELECT event_type, reason, summary FROM rm_timeline WHERE aggregate_id = :a "
        "ORDER BY position",
        {"a": str(story.erika)},
    )
    by_type = {r["event_type"]: r for r in timeline}
    assert by_type["Identified"]["summary"] == (
        f"Stakeholder identified: {ERASED}, decision maker, influence 5/5"
    )
    assert by_type["DispositionChanged"]["reason"] == ERASED
    because = f" — reason: {ERASED}"
    assert by_type["TitleCorrected"]["summary"] == f"Title corrected: {ERASED}{because}"
    assert by_type["ContactDetailsCorrected"]["summary"] == (
        f"Contact details corrected: email and phone on record{because}"
    )
    assert by_type["ReportsToCorrected"]["reason"] == ERASED
    assert by_type["PersonalDataErased"]["reason"] == ERASED
    assert by_type["CommitmentFulfilled"]["summary"] == (
        f"Commitment '{ERASED}' fulfilled: {ERASED}"
    )
    interactions = [r["summary"] for r in timeline if r["event_type"] == "InteractionLogged"]
    assert len(interactions) == 2 and all(s.endswith(f": {ERASED}") for s in interactions)
    # Search: her row keeps the placeholders and matches nothing; Ben's is as it was.
    people = views.query(
        "SELECT entity_id, name, title, terms FROM rm_search WHERE kind = 'stakeholder' "
        "ORDER BY sort_key"
    )
    assert people == [
        {"entity_id": str(story.erika), "name": ERASED, "title": ERASED, "terms": None},
        {
            "entity_id": str(story.ben),
            "name": BEN["name"],
            "title": BEN["title"],
            "terms": "ben stayput\nhead of capybara logistics",
        },
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_sqlite_views_file_keeps_no_byte_of_the_erased_person(
    app: KamApplication, views: ViewDatabase
) -> None:
    assert isinstance(views, SqliteViews)
    tell(app)
    project(app, views, batch_size=2)  # rows written in clear, then rewritten
    rebuild(app, views, clock=lambda: TODAY)  # tables dropped and swapped too
    with views.transaction() as tx:
        assert tx.one("PRAGMA secure_delete") == {"secure_delete": 1}
    views.query("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(views.path)
    contents = path.read_bytes()
    wal = Path(f"{views.path}-wal")
    contents += wal.read_bytes() if wal.exists() else b""
    for text in erased_texts():
        assert text.encode() not in contents, text
    for text in kept_texts():
        assert text.encode() in contents, text


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_postgres_dump_of_the_read_models_holds_nothing_of_the_erased_person(
    app: KamApplication, views: ViewDatabase
) -> None:
    assert isinstance(views, PostgresViews)
    tell(app)
    project(app, views, batch_size=2)
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "--table",
            f"{views.schema}.rm_*",
            postgres_url_or_skip(),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "COPY" in dump
    for text in erased_texts():
        assert text not in dump, text
    for text in kept_texts():
        assert text in dump, text


def _people(app: KamApplication) -> list[UUID]:
    """Every stakeholder in the log, in the order identified."""
    notifications = app.recorder.select_notifications(1, limit=100_000)
    return [n.originator_id for n in notifications if n.topic.endswith(":Relationship.Identified")]  # type: ignore[misc]


def _erase_and_talk(app: KamApplication, person: UUID) -> None:
    """Erases the person (if not yet), then logs a call with them; either may be refused."""
    why = Envelope(actor="dora", reason=ERIKA["erasure_reason"])
    call = cmd.LogInteraction(
        stakeholder_id=person,
        kind=InteractionKind.CALL,
        on=date(2026, 6, 1),
        summary=ERIKA["later"],
        sentiment=1,
    )
    for command, meta in ((cmd.ErasePersonalData(stakeholder_id=person), why), (call, ANN)):
        with contextlib.suppress(KamError):
            app.handle(command, meta=meta)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=histories(max_accounts=2, max_steps=50),
    size=st.integers(min_value=1, max_value=20),
    erase=st.lists(st.booleans(), min_size=1, max_size=8),
)
def test_for_generated_histories_incremental_equals_a_fresh_projection_of_redacted_events(
    app: KamApplication,
    views: ViewDatabase,
    fresh_views: ViewDatabase,
    steps: list[object],
    size: int,
    erase: list[bool],
) -> None:
    apply_history(app, steps)  # type: ignore[arg-type]  # erases some people itself
    project(app, views, batch_size=size)
    for person, chosen in zip(_people(app), erase, strict=False):
        if chosen:
            _erase_and_talk(app, person)
    project(app, views, batch_size=size)
    incremental = snapshot(views)
    with shredded(app):
        rebuild(app, fresh_views, clock=lambda: TODAY)
    assert snapshot(fresh_views) == incremental
