"""The eventsourcing library's own recorder contract suites, run against our event stores.

``eventsourcing.tests.persistence`` ships the contract every application recorder must keep:
``ApplicationRecorderTestCase`` (insert/select, notification ids starting at 1 and contiguous,
topic filters, ``IntegrityError`` on a conflict, concurrent writers with readers) and
``NonInterleavingNotificationIDsBaseCase`` (two concurrent writes never interleave their ids).
Whatever we change in the write path (group commit, plpgsql insert functions, hash chain,
encryption), these must keep passing, on both backends:

* ``KamPostgresApplicationRecorder`` on PostgreSQL, built the way ``library_env`` configures
  the application (``APPLICATION_RECORDER_TOPIC``, ``?schema=``), each test in a schema of its
  own;
* ``KamSQLiteApplicationRecorder`` (the library's, with the store's own set-up) on a temporary
  file database, as ``library_env("sqlite:///...")`` configures the embedded default.

The suites are imported through their module, not by name, so pytest does not collect the
abstract base classes themselves. Each test checks on the way out that it left no thread (the
group committer has one, the connection pool has workers) and no PostgreSQL session behind.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory, Subscription
from eventsourcing.tests import persistence as contract
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier
from tests.support import postgres_url_or_skip

from kam_store.env import APP_NAME, library_env
from kam_store.postgres_recorder import KamPostgresApplicationRecorder
from kam_store.sqlite_recorder import KamSQLiteApplicationRecorder

#: How long tearDown waits for the test's threads to end and its sessions to go.
CLEANUP_TIMEOUT = 10.0
#: How long the subscription contract may wait for a notification before it fails.
SUBSCRIBE_TIMEOUT = 30.0


class _RecorderCleanup:
    """Opens recorders as the application does and closes everything a test opened.

    Mixed into ``unittest.TestCase`` subclasses: ``setUp`` notes the threads already running,
    ``tearDown`` closes the recorders (stopping the group committer) and their factories
    (closing the connection pools), then fails the test if a thread it started is still alive.
    """

    def setUp(self) -> None:
        self._threads_before = set(threading.enumerate())
        self._opened: list[tuple[ApplicationRecorder, InfrastructureFactory[Any]]] = []

    def open_recorder(self, env: dict[str, str], app_name: str = APP_NAME) -> ApplicationRecorder:
        factory = InfrastructureFactory.construct(Environment(app_name, env))
        try:
            recorder = factory.application_recorder()
        except BaseException:
            factory.close()
            raise
        self._opened.append((recorder, factory))
        return recorder

    def tearDown(self) -> None:
        # The contract's reader threads are told to stop but never joined: let them finish
        # their last read before the pool under them closes.
        self._join_new_threads(exclude_daemons=True)
        while self._opened:
            recorder, factory = self._opened.pop()
            try:
                close = getattr(recorder, "close", None)
                if close is not None:
                    close()
            finally:
                factory.close()
        leftover = self._join_new_threads(exclude_daemons=False)
        assert not leftover, f"threads left running: {[t.name for t in leftover]}"

    def _join_new_threads(self, *, exclude_daemons: bool) -> list[threading.Thread]:
        deadline = time.monotonic() + CLEANUP_TIMEOUT
        alive = []
        for thread in set(threading.enumerate()) - self._threads_before:
            if thread is threading.current_thread() or (exclude_daemons and thread.daemon):
                continue
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                alive.append(thread)
        return alive


class _PostgresRecorder(_RecorderCleanup):
    """``KamPostgresApplicationRecorder`` in a fresh schema, dropped after the test."""

    #: The application name: the events table is ``<name>_events``, as in production.
    app_name = APP_NAME

    def setUp(self) -> None:
        # Fails (not skips) under KAM_REQUIRE_POSTGRES when no server is reachable.
        self.postgres_url = postgres_url_or_skip()
        self.schema = f"contract_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.postgres_url, autocommit=True) as conn:
            conn.execute(SQL("CREATE SCHEMA {}").format(Identifier(self.schema)))
        super().setUp()

    def create_recorder(self) -> KamPostgresApplicationRecorder:
        env = library_env(f"{self.postgres_url}?schema={self.schema}", pool_size=4, max_overflow=16)
        recorder = self.open_recorder(env, self.app_name)
        assert isinstance(recorder, KamPostgresApplicationRecorder), type(recorder)
        return recorder

    def tearDown(self) -> None:
        try:
            super().tearDown()
        finally:
            with psycopg.connect(self.postgres_url, autocommit=True) as conn:
                conn.execute("SET lock_timeout = '10s'")
                sessions = self._sessions_naming_schema(conn)
                conn.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(self.schema)))
        assert not sessions, f"sessions left open on schema {self.schema}: {sessions}"

    def _sessions_naming_schema(self, conn: psycopg.Connection[Any]) -> list[Any]:
        """Other sessions whose last statement named this test's schema: every connection the
        recorder used ran one, so one still here was leaked (the server may take a moment to
        see a closed connection go)."""
        deadline = time.monotonic() + CLEANUP_TIMEOUT
        while True:
            rows = conn.execute(
                "SELECT pid, state, left(query, 120) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                "AND position(%s in query) > 0",
                (self.schema,),
            ).fetchall()
            if not rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)


class _SQLiteRecorder(_RecorderCleanup):
    """``KamSQLiteApplicationRecorder`` on a file database in a temporary directory,
    configured by ``library_env`` as the embedded default is."""

    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="kam-contract-")
        super().setUp()

    def create_recorder(self) -> KamSQLiteApplicationRecorder:
        recorder = self.open_recorder(library_env(f"sqlite:///{self._tmp.name}/kam.db"))
        assert type(recorder) is KamSQLiteApplicationRecorder, type(recorder)
        return recorder

    def tearDown(self) -> None:
        try:
            super().tearDown()
        finally:
            self._tmp.cleanup()


@pytest.mark.postgres
class TestKamPostgresApplicationRecorderContract(
    _PostgresRecorder, contract.ApplicationRecorderTestCase[KamPostgresApplicationRecorder]
):
    def test_insert_subscribe(self) -> None:
        """The optional part of the contract that the library runs for its PostgreSQL recorder:
        our insert functions must send the NOTIFY that wakes subscribers.

        The channel is the events table's name, without the schema, so every ``kam_events``
        in the database shares it: here the application has a name of its own, or another
        schema's writers (a concurrent test run) could wake the subscriber in our place. A
        subscriber that is never woken waits forever: a watchdog stops the subscriptions
        and fails the test instead."""
        self.app_name = f"KAM{uuid.uuid4().hex[:12]}"
        subscriptions: list[Subscription[Any]] = []
        create_recorder = self.create_recorder

        def create_watched_recorder() -> KamPostgresApplicationRecorder:
            recorder = create_recorder()
            subscribe = recorder.subscribe

            def watched_subscribe(*args: Any, **kwargs: Any) -> Subscription[Any]:
                subscription = subscribe(*args, **kwargs)
                subscriptions.append(subscription)
                return subscription

            recorder.subscribe = watched_subscribe  # type: ignore[method-assign]
            return recorder

        timed_out = threading.Event()

        def stop_subscriptions() -> None:
            timed_out.set()
            for subscription in subscriptions:
                subscription.stop()

        self.create_recorder = create_watched_recorder  # type: ignore[method-assign]
        watchdog = threading.Timer(SUBSCRIBE_TIMEOUT, stop_subscriptions)
        watchdog.start()
        try:
            super().optional_test_insert_subscribe()
        except Exception as error:
            if timed_out.is_set():
                raise AssertionError(
                    f"a subscriber got no notification within {SUBSCRIBE_TIMEOUT} s"
                ) from error
            raise
        finally:
            watchdog.cancel()
            watchdog.join()
        assert not timed_out.is_set(), "the watchdog stopped the subscriptions"


@pytest.mark.postgres
class TestKamPostgresNonInterleavingNotificationIDs(
    _PostgresRecorder, contract.NonInterleavingNotificationIDsBaseCase
):
    pass


class TestSQLiteApplicationRecorderContract(
    _SQLiteRecorder, contract.ApplicationRecorderTestCase[KamSQLiteApplicationRecorder]
):
    pass


class TestSQLiteNonInterleavingNotificationIDs(
    _SQLiteRecorder, contract.NonInterleavingNotificationIDsBaseCase
):
    pass
