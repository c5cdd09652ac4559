"""``kam project``: the standalone projector on PostgreSQL survives its connections being
killed, runs as the one active instance among several, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from tests.support import open_views, postgres_url_or_skip

from kam_domain.application import KamApplication
from kam_domain.commands import (
    IdentifyStakeholder,
    LogInteraction,
    RecordFinancials,
    RegisterAccount,
)
from kam_domain.values import (
    BuyingRole,
    Envelope,
    InteractionKind,
    PersonalData,
    ServiceProfile,
)
from kam_projections.db import PostgresViews
from kam_projections.freshness import wait_for_position
from kam_projections.projector import MODEL_NAMES, Projector, build_models, decode, model_groups
from kam_projections.rebuild import rebuild
from kam_projections.standalone import StandaloneProjector
from kam_store.env import library_env
from kam_store.features import store_features

ANN = Envelope(actor="ann", correlation_id="req-standalone")
TODAY = date(2026, 11, 22)
#: Aggregates whose events belong to an account (and so are on its timeline).
ACCOUNT_AGGREGATES = ("KeyAccount", "AccountPlan", "Relationship")


def fixed_clock() -> date:
    return TODAY


def schema_url(schema: str) -> str:
    return f"{postgres_url_or_skip()}?schema={schema}"


def open_app(url: str) -> KamApplication:
    return KamApplication(
        env=library_env(url, pool_size=2, max_overflow=4), store_features=store_features
    )


def postgres_views(url: str) -> PostgresViews:
    views = open_views(url)
    assert isinstance(views, PostgresViews)
    return views


def projector_name(schema: str) -> str:
    """The application name of one test's projector connections: unique, so that killing
    them never hits another test's, in this run or in a concurrent one."""
    return f"kam-projector-{schema}"


def named_views(schema: str, name: str) -> PostgresViews:
    """Views whose connections (pool and the dedicated lock connection) carry a name."""
    conninfo = f"{postgres_url_or_skip()}?application_name={name}"
    return PostgresViews(conninfo, schema=schema)


def write_commands(app: KamApplication, count: int, prefix: str) -> int:
    """``count`` accounts, each with a stakeholder, an interaction and a year's revenue (so
    every read model, the portfolio's ranks included, has something to show); returns the
    head."""
    for i in range(count):
        account_id = app.handle(
            RegisterAccount(
                name=f"{prefix} {i}",
                industry="Manufacturing",
                region="EMEA",
                service_profile=ServiceProfile.PREMIUM,
            ),
            meta=ANN,
        ).id
        stakeholder = app.handle(
            IdentifyStakeholder.of(
                account_id,
                PersonalData(name=f"Dana {prefix} {i}", email="dana@example.com"),
                title="CFO",
                buying_role=BuyingRole.ECONOMIC_BUYER,
                influence=4,
                reports_to=None,
            ),
            meta=ANN,
        )
        app.handle(
            LogInteraction(
                stakeholder_id=stakeholder.id,
                kind=InteractionKind.MEETING,
                on=date(2026, 11, 2),
                summary="quarterly review",
                sentiment=1,
            ),
            meta=ANN,
        )
        position = app.handle(
            RecordFinancials(
                account_id=account_id,
                period="2026",
                revenue=Decimal(1000 * (i + 1)),
                gross_margin=None,
                revenue_target=None,
                currency="EUR",
            ),
            meta=ANN,
        ).position
    assert app.recorder.max_notification_id() == position
    return position


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting until {what}")
        time.sleep(0.05)


@contextmanager
def running(*runners: StandaloneProjector) -> Iterator[list[threading.Thread]]:
    """Runs each runner on its own thread; stops and joins them all on the way out, and fails
    if any of them raised (``run`` must only ever return, and only once stopped)."""
    errors: list[BaseException] = []

    def run(runner: StandaloneProjector) -> None:
        try:
            runner.run()
        except BaseException as error:
            errors.append(error)
            raise

    threads = [
        threading.Thread(target=run, args=(r,), name=f"standalone-{i}", daemon=True)
        for i, r in enumerate(runners)
    ]
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        for runner in runners:
            runner.stop()
        for thread in threads:
            thread.join(10)
    assert not any(t.is_alive() for t in threads), "a projector thread did not stop"
    assert not errors, f"a projector thread died: {errors!r}"


def standalone(
    app: KamApplication, views: PostgresViews, *, channel: str | None = None
) -> StandaloneProjector:
    return StandaloneProjector(
        Projector(app, views, clock=fixed_clock),
        views,
        channel=channel or app.recorder.channel_name,  # type: ignore[attr-defined]
        poll_interval=0.2,
        standby_interval=0.1,
    )


def tracking(views: PostgresViews) -> dict[str, int]:
    rows = views.query("SELECT model, position FROM rm_tracking")
    return {r["model"]: r["position"] for r in rows}


def read_model_tables(views: PostgresViews) -> dict[str, list[dict[str, Any]]]:
    """Every read-model table's rows, in a total order (all columns)."""
    contents = {}
    for model in build_models():
        for table in model.table_names():
            columns = views.query(
                "SELECT count(*) AS n FROM information_schema.columns "
                "WHERE table_schema = :schema AND table_name = :table",
                {"schema": views.schema, "table": table},
            )[0]["n"]
            order = ", ".join(str(i) for i in range(1, columns + 1))
            contents[table] = views.query(f"SELECT * FROM {table} ORDER BY {order}")
    return contents


def account_event_count(app: KamApplication) -> int:
    count, start = 0, 1
    while batch := app.recorder.select_notifications(start, limit=500):
        count += sum(decode(app, n).aggregate_type in ACCOUNT_AGGREGATES for n in batch)
        start = batch[-1].id + 1
    return count


def terminate_backends(name: str) -> int:
    with psycopg.connect(postgres_url_or_skip(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = %s",
            (name,),
        ).fetchall()
    return len(rows)


def lock_connection_idle(name: str, seconds: float) -> bool:
    """Whether the projector's lock connection has been idle for ``seconds`` since its last
    statement, the liveness check before each batch: it is then waiting for a NOTIFY."""
    with psycopg.connect(postgres_url_or_skip(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s AND query = 'SELECT 1' AND state = 'idle' "
            "AND now() - state_change > make_interval(secs => %s)",
            (name, seconds),
        ).fetchone()
    return bool(row and row[0])


def open_named_app(url: str, name: str, monkeypatch: pytest.MonkeyPatch) -> KamApplication:
    """An application whose event-store connections, reconnections included, carry the
    projector's name too: libpq reads PGAPPNAME whenever it connects, so from here on every
    new connection without a name of its own gets it (open other pools first, and wait until
    they are full, or name their connections)."""
    monkeypatch.setenv("PGAPPNAME", name)
    return open_app(url)


@pytest.mark.postgres
def test_the_projector_reconnects_and_catches_up_when_its_connection_is_killed(
    pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = schema_url(pg_schema)
    writer = open_app(url)
    writer.recorder.datastore.pool.wait(10)  # type: ignore[attr-defined]
    observer = named_views(pg_schema, "kam-test-observer")  # not killed with the projector
    name = projector_name(pg_schema)
    projector_app = open_named_app(url, name, monkeypatch)
    views = named_views(pg_schema, name)
    runner = standalone(projector_app, views)
    try:
        with running(runner):
            wait_until(runner.active.is_set, 10, "the projector is active")
            head = write_commands(writer, 5, "Before")
            assert wait_for_position(observer, head, 10), tracking(observer)

            # Twice: a second outage must be survived as fast as the first (the reconnect
            # back-off starts short again once the projector works again).
            for outage in ("First", "Second"):
                # The lock connection, the views pool and the event store's pool.
                assert terminate_backends(name) >= 3, outage
                head = write_commands(writer, 5, f"{outage} outage")
                assert wait_for_position(observer, head, 5), (outage, tracking(observer))
                # Another connection killed with the first may surface only after the catch-up
                # (each one costs a reconnect): active again soon is what counts.
                wait_until(runner.active.is_set, 5, f"{outage}: the projector is active again")
                assert set(tracking(observer).values()) == {head}

            head = write_commands(writer, 2, "After")
            assert wait_for_position(observer, head, 5), tracking(observer)

        timeline = observer.query("SELECT position FROM rm_timeline ORDER BY position")
        positions = [r["position"] for r in timeline]
        assert len(positions) == len(set(positions))
        assert len(positions) == account_event_count(writer)
        assert runner.processed == head  # each event exactly once: none lost or doubled

        projected = read_model_tables(observer)
        assert rebuild(writer, observer, clock=fixed_clock) == head
        assert read_model_tables(observer) == projected
    finally:
        views.close()
        observer.close()
        projector_app.close()
        writer.close()


@pytest.mark.postgres
def test_only_one_standalone_projector_is_active_and_a_standby_takes_over(
    pg_schema: str,
) -> None:
    url = schema_url(pg_schema)
    writer = open_app(url)
    apps = [open_app(url), open_app(url)]
    all_views = [postgres_views(url), postgres_views(url)]
    runners = [standalone(app, v) for app, v in zip(apps, all_views, strict=True)]
    try:
        with running(*runners) as threads:
            wait_until(lambda: any(r.active.is_set() for r in runners), 10, "one is active")
            # The other keeps trying the lock (every 0.1 s) and must keep failing.
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                assert sum(r.active.is_set() for r in runners) == 1
                time.sleep(0.02)
            active, standby = runners if runners[0].active.is_set() else runners[::-1]

            head = write_commands(writer, 4, "First")
            assert wait_for_position(all_views[0], head, 10), tracking(all_views[0])
            # The counter moves just after the commit the position shows.
            wait_until(lambda: active.processed == head, 5, "the active one counts them all")
            assert standby.processed == 0
            assert not standby.active.is_set()

            active.stop()
            threads[runners.index(active)].join(10)
            assert not active.active.is_set()
            wait_until(standby.active.is_set, 5, "the standby takes over")

            head = write_commands(writer, 3, "Second")
            assert wait_for_position(all_views[0], head, 10), tracking(all_views[0])
            wait_until(
                lambda: active.processed + standby.processed == head, 5, "all are counted once"
            )
            assert standby.processed > 0
            assert set(tracking(all_views[1]).values()) == {head}
    finally:
        for views in all_views:
            views.close()
        for app in [*apps, writer]:
            app.close()


@pytest.mark.postgres
def test_the_projector_outlasts_an_event_store_outage_longer_than_the_library_retries(
    pg_schema: str,
) -> None:
    url = schema_url(pg_schema)
    writer = open_app(url)
    projector_app = open_app(url)
    views = postgres_views(url)
    runner = standalone(projector_app, views)
    select = projector_app.recorder.select_notifications
    outage = threading.Event()
    refused = [0]

    def unreachable_during_outage(*args: Any, **kwargs: Any) -> Any:
        if outage.is_set():
            refused[0] += 1
            # What the library raises once its own retries on a lost connection run out.
            raise OperationalError("connection refused (simulated outage)")
        return select(*args, **kwargs)

    projector_app.recorder.select_notifications = unreachable_during_outage  # type: ignore[method-assign]
    try:
        with running(runner):
            wait_until(runner.active.is_set, 10, "the projector is active")
            head = write_commands(writer, 2, "Before")
            assert wait_for_position(views, head, 5), tracking(views)

            outage.set()
            head = write_commands(writer, 3, "During")
            wait_until(lambda: refused[0] >= 2, 5, "the projector has retried")
            assert min(tracking(views).values()) < head
            outage.clear()

            assert wait_for_position(views, head, 5), tracking(views)
        assert runner.processed == head  # once stopped: the counter moves after the commit
    finally:
        views.close()
        projector_app.close()
        writer.close()


@pytest.mark.postgres
def test_the_projector_stops_cleanly_when_its_database_connections_are_gone(
    pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = schema_url(pg_schema)
    writer = open_app(url)
    writer.recorder.datastore.pool.wait(10)  # type: ignore[attr-defined]
    observer = named_views(pg_schema, "kam-test-observer")
    name = projector_name(pg_schema)
    projector_app = open_named_app(url, name, monkeypatch)
    views = named_views(pg_schema, name)
    # Idle in LISTEN until its connection is killed: no polling, and a channel of its own (the
    # events channel is database-wide, so other tests' writes would keep waking it).
    runner = standalone(projector_app, views, channel=f"{name}-quiet")
    runner.poll_interval = 30.0
    try:
        head = write_commands(writer, 2, "Before")  # caught up by the first batch on start
        with running(runner) as threads:
            wait_until(runner.active.is_set, 10, "the projector is active")
            assert wait_for_position(observer, head, 10), tracking(observer)
            wait_until(lambda: lock_connection_idle(name, 0.3), 5, "the projector waits in LISTEN")

            runner.stop()
            assert terminate_backends(name) >= 2
            threads[0].join(5)
            assert not threads[0].is_alive(), "the projector did not stop"
            assert not runner.active.is_set()
    finally:
        views.close()
        observer.close()
        projector_app.close()
        writer.close()


def kam_command() -> str:
    return str(Path(sys.executable).with_name("kam"))


def cli_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAM_")}
    env["KAM_DATABASE_URL"] = database_url
    # A projector's thread needs a few connections, not the API's 20 + 10 (each worker of
    # `--workers` opens its own pools): the parallel suite stays far from max_connections.
    env["KAM_PG_POOL_SIZE"], env["KAM_PG_MAX_OVERFLOW"] = "2", "2"
    return env


@pytest.mark.postgres
def test_kam_project_stops_cleanly_on_sigterm(pg_schema: str) -> None:
    url = schema_url(pg_schema)
    writer = open_app(url)
    views = postgres_views(url)
    process = subprocess.Popen(
        [kam_command(), "project", "--poll-interval", "0.2"],
        env=cli_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        head = write_commands(writer, 2, "Signalled")

        def caught_up() -> bool:
            assert process.poll() is None, process.communicate()[0]
            try:
                return wait_for_position(views, head, 0)
            except psycopg.errors.UndefinedTable:
                return False  # the projector has not created its tables yet

        wait_until(caught_up, 60, "kam project has processed the log")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
        assert process.returncode == 0, output
        assert "stopping" in output
        assert f"projector stopped at position {head}" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        views.close()
        writer.close()


def test_kam_project_refuses_sqlite(tmp_path: Path) -> None:
    result = subprocess.run(
        [kam_command(), "project"],
        env=cli_env(f"sqlite:///{tmp_path / 'kam.db'}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "kam project needs PostgreSQL" in result.stderr


# --- Worker processes, one per group of read models -----------------------------------------


@pytest.mark.parametrize("workers", range(1, len(MODEL_NAMES) + 1))
def test_model_groups_feed_every_read_model_once(workers: int) -> None:
    groups = model_groups(workers)
    assert len(groups) == workers
    assert all(groups), groups
    assert sorted(n for g in groups for n in g) == sorted(MODEL_NAMES)


@pytest.mark.parametrize("workers", [0, len(MODEL_NAMES) + 1])
def test_model_groups_refuse_a_worker_count_out_of_range(workers: int) -> None:
    with pytest.raises(ValueError, match="workers"):
        model_groups(workers)


def group_runner(
    app: KamApplication, views: PostgresViews, names: tuple[str, ...]
) -> StandaloneProjector:
    models = [m for m in build_models() if m.name in names]
    return StandaloneProjector(
        Projector(app, views, models, clock=fixed_clock, peers=MODEL_NAMES),
        views,
        channel=app.recorder.channel_name,  # type: ignore[attr-defined]
        poll_interval=0.2,
        standby_interval=0.1,
        name=f"kam-projector:{'+'.join(names)}",
    )


@pytest.mark.postgres
def test_groups_fed_side_by_side_equal_a_rebuild_and_one_does_not_wait_for_another(
    pg_schema: str,
) -> None:
    url = schema_url(pg_schema)
    writer = open_app(url)
    first, second = model_groups(2)
    apps = [open_app(url), open_app(url)]
    all_views = [postgres_views(url), postgres_views(url)]
    runners = [
        group_runner(app, views, names)
        for app, views, names in zip(apps, all_views, (first, second), strict=True)
    ]
    try:
        with running(*runners):
            wait_until(lambda: all(r.active.is_set() for r in runners), 10, "both are active")
            head = write_commands(writer, 4, "Grouped")
            assert wait_for_position(all_views[0], head, 20), tracking(all_views[0])
            # A transaction holding the first group's tracking rows (as a batch or a rebuild's
            # swap of that group does) holds up that group only.
            with all_views[0].transaction() as tx:
                runners[0].projector.tracked(tx, lock=True)
                head = write_commands(writer, 2, "Held")
                wait_until(
                    lambda: all(tracking(all_views[1])[n] == head for n in second),
                    10,
                    "the other group goes on",
                )
                assert all(tracking(all_views[1])[n] < head for n in first)
            assert wait_for_position(all_views[0], head, 20), tracking(all_views[0])
        live = read_model_tables(all_views[0])
        rebuild(writer, all_views[0], clock=fixed_clock)
        assert read_model_tables(all_views[0]) == live
    finally:
        for views in all_views:
            views.close()
        for app in [*apps, writer]:
            app.close()


@pytest.mark.postgres
def test_kam_project_with_workers_feeds_every_model_and_stops_them_all_on_sigterm(
    pg_schema: str,
) -> None:
    url = schema_url(pg_schema)
    writer = open_app(url)
    views = postgres_views(url)
    process = subprocess.Popen(
        [kam_command(), "project", "--workers", "2", "--poll-interval", "0.2"],
        env=cli_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        head = write_commands(writer, 3, "Workers")

        def caught_up() -> bool:
            assert process.poll() is None, process.communicate()[0]
            try:
                return wait_for_position(views, head, 0)
            except psycopg.errors.UndefinedTable:
                return False  # the workers have not created their tables yet

        wait_until(caught_up, 60, "both workers have processed the log")
        # Every model's row was there from the first worker's start: the wait above was for
        # both groups, whichever started first.
        assert set(tracking(views)) == set(MODEL_NAMES)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        # Each worker stopped at the head, each with its own group of models.
        assert output.count(f"projector stopped at position {head}") == 2, output
    finally:
        if process.poll() is None:
            process.kill()  # its workers see it gone and stop (stop_with_parent)
            process.communicate(timeout=30)
        views.close()
        writer.close()


def test_kam_project_refuses_an_unknown_read_model(tmp_path: Path) -> None:
    result = subprocess.run(
        [kam_command(), "project", "--model", "nonsense"],
        env=cli_env(f"sqlite:///{tmp_path / 'kam.db'}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unknown read model nonsense" in result.stderr
