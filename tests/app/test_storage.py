"""Storage: the database URL translation and the group-commit PostgreSQL write path."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, StoredEvent
from eventsourcing.utils import Environment
from tests.support import postgres_url_or_skip

from kam_projections.storage import (
    APP_NAME,
    KamPostgresApplicationRecorder,
    UnsupportedDatabaseURLError,
    library_env,
)


def test_a_sqlite_url_names_a_file_under_its_path(tmp_path: Path) -> None:
    env = library_env(f"sqlite:///{tmp_path}/sub/kam.db")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == f"{tmp_path}/sub/kam.db"
    assert (tmp_path / "sub").is_dir()


def test_a_relative_sqlite_url_stays_relative() -> None:
    assert library_env("sqlite:///./var/kam.db")["SQLITE_DBNAME"] == "./var/kam.db"


def test_a_postgres_url_sets_pool_timeouts_and_the_group_commit_recorder() -> None:
    env = library_env(
        "postgresql://u:p%40ss@db.example:6543/kam?schema=tenant1", pool_size=7, lock_timeout=3
    )
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.example",
        "6543",
        "kam",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("u", "p@ss")
    assert env["POSTGRES_POOL_SIZE"] == "7"
    assert env["POSTGRES_LOCK_TIMEOUT"] == "3"
    assert env["POSTGRES_SCHEMA"] == "tenant1"
    assert env["APPLICATION_RECORDER_TOPIC"].endswith("KamPostgresApplicationRecorder")


def test_an_unknown_url_scheme_is_refused() -> None:
    with pytest.raises(UnsupportedDatabaseURLError):
        library_env("mysql://localhost/kam")


@pytest.fixture
def pg_recorder(pg_schema: str):  # type: ignore[no-untyped-def]
    url = f"{postgres_url_or_skip()}?schema={pg_schema}"
    env = library_env(url, pool_size=4, max_overflow=16)
    factory = InfrastructureFactory.construct(Environment(APP_NAME, env))
    recorder = factory.application_recorder()
    assert isinstance(recorder, KamPostgresApplicationRecorder)
    yield recorder
    recorder.close()
    factory.close()


def event(originator: uuid.UUID, version: int) -> StoredEvent:
    return StoredEvent(originator, version, "tests:Event", b'{"n":1}')


@pytest.mark.postgres
def test_group_commit_fails_only_the_conflicting_command(pg_recorder) -> None:  # type: ignore[no-untyped-def]
    taken = uuid.uuid4()
    pg_recorder.insert_events([event(taken, 1)])
    outcomes: dict[int, object] = {}
    barrier = threading.Barrier(12)

    def write(i: int) -> None:
        barrier.wait()
        try:
            if i == 0:
                outcomes[i] = pg_recorder.insert_events([event(taken, 2), event(taken, 1)])
            else:
                outcomes[i] = pg_recorder.insert_events(
                    [event(uuid.uuid4(), 1), event(uuid.uuid4(), 1)]
                )
        except IntegrityError as error:
            outcomes[i] = error

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(outcomes[0], IntegrityError)
    assert all(
        isinstance(outcomes[i], list) and len(outcomes[i]) == 2  # type: ignore[arg-type]
        for i in range(1, 12)
    )
    # The refused command wrote nothing, not even its first (non-conflicting) event.
    assert [e.originator_version for e in pg_recorder.select_events(taken)] == [1]


@pytest.mark.postgres
def test_a_reader_following_the_log_never_skips_an_event_under_concurrent_writers(
    pg_recorder,  # type: ignore[no-untyped-def]
) -> None:
    stop = threading.Event()
    writers_done = threading.Event()
    seen: list[int] = []
    regressions: list[tuple[int, int]] = []

    def follow() -> None:
        last = 0
        while not writers_done.is_set() or last < (pg_recorder.max_notification_id() or 0):
            for notification in pg_recorder.select_notifications(last + 1, limit=500):
                if notification.id <= last:
                    regressions.append((last, notification.id))
                seen.append(notification.id)
                last = notification.id

    def write() -> None:
        while not stop.is_set():
            pg_recorder.insert_events([event(uuid.uuid4(), 1)])

    reader = threading.Thread(target=follow)
    writers = [threading.Thread(target=write) for _ in range(16)]
    reader.start()
    for w in writers:
        w.start()
    time.sleep(1.5)
    stop.set()
    for w in writers:
        w.join()
    writers_done.set()
    reader.join(timeout=30)
    stored = [n.id for n in pg_recorder.select_notifications(1, limit=10**6)]
    assert not regressions
    assert seen == stored  # nothing skipped, nothing doubled, in order
    assert len(stored) > 100
