"""The composition root: settings -> the application service, the read-model database, the
user store and the report-read pool. The API (``create_app``), every CLI command and the
benchmarks open them here, with ``open_services``, and nowhere else.

Each service is opened on first use, so a command opens only what it needs (``kam users add``
never creates the event tables), and closed with the others, last opened first closed.

The application is given the user store as its people directory (``kam_domain.people``): every
write path (API, CLI, demo) then refuses a command naming someone who is not an active user.
Only code may turn that off (``check_people=False``: the benchmarks), no setting.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import TypeVar, cast

from eventsourcing.persistence import PersistenceError

from kam_api.auth import UserStore
from kam_api.settings import Settings
from kam_api.webhooks.store import WebhookStore
from kam_domain.application import KamApplication
from kam_domain.people import KnownPerson, PeopleDirectory
from kam_projections.db import SQL_TEXTS, PostgresViews, SqliteViews, ViewDatabase
from kam_projections.health_cache import bound_health_cache
from kam_projections.projector import Projector, build_models
from kam_store.checkpoint import CheckpointError
from kam_store.crypto import check_master_key, person_key_table, personal_data_mapper
from kam_store.features import store_features
from kam_store.ledger import Ledger
from kam_store.reconnect import PromptlyReconnectingPool
from kam_store.setup_lock import setup_lock
from kam_store.url import DatabaseURL, PostgresTarget

T = TypeVar("T")

#: PostgreSQL's SQLSTATE for "must be owner" and "permission denied".
INSUFFICIENT_PRIVILEGE = "42501"
UNDEFINED_TABLE = "42P01"

#: Threads reading a report's health inputs alongside its other reads.
REPORT_READ_THREADS = 4


class Services:
    """What the settings name, each opened on first use; ``close()`` closes what was opened."""

    def __init__(self, settings: Settings, *, check_people: bool = True) -> None:
        self.settings = settings
        self.check_people = check_people
        self.database: DatabaseURL = settings.database
        self._opened: dict[str, object] = {}
        self._closing = ExitStack()
        self._closed = False
        self._lock = threading.RLock()

    def _once(self, name: str, open_: Callable[[], T], close: Callable[[T], object]) -> T:
        with self._lock:
            if self._closed:
                raise RuntimeError("the services are closed")
            if name not in self._opened:
                service = open_()
                self._closing.callback(close, service)
                self._opened[name] = service
            return cast(T, self._opened[name])

    @property
    def app(self) -> KamApplication:
        """The application service on the settings' event store, with its store features."""
        people = _ServicePeople(self) if self.check_people else None
        return self._once(
            "app", lambda: open_application(self.settings, people=people), KamApplication.close
        )

    @property
    def views(self) -> ViewDatabase:
        """The read-model database that goes with the event store (and its pool)."""
        # ``lambda``, not ``ViewDatabase.close``: that is the base class's abstract method,
        # and would leave the PostgreSQL views' pool open.
        return self._once(
            "views",
            self._open_views,
            lambda views: views.close(),
        )

    def _open_views(self) -> ViewDatabase:
        views = open_read_models(self.database, timeout=self.settings.pg_connect_timeout)
        # Process-wide caches, bounded by the settings of the service that opens them.
        bound_health_cache(views, self.settings.health_cache_size)
        SQL_TEXTS.resize(self.settings.sql_cache_size)
        return views

    @property
    def read_views(self) -> ViewDatabase:
        """Where the API's GET endpoints query the read models: the streaming replica of
        ``read_database_url``, or (none set) ``views`` itself. Everything that writes (the
        projector, rebuilds, users, sessions, webhooks) or LISTENs uses ``views``: a replica
        is read-only and NOTIFY does not reach it."""
        replica = self.settings.read_database
        if replica is None:
            return self.views
        return self._once(
            "read_views",
            lambda: open_replica_views(replica, self.database, self.settings.pg_connect_timeout),
            lambda views: views.close(),
        )

    @property
    def users(self) -> UserStore:
        """The user store, its table created if need be."""
        return self._once("users", self._open_users, lambda _: None)

    @property
    def projector(self) -> Projector:
        """The projector feeding every read model with the settings' health weights (its
        tables are not set up: ``projector.setup()``)."""
        return self._once("projector", self._open_projector, lambda _: None)

    def _open_projector(self) -> Projector:
        settings = self.settings
        projector = Projector(
            self.app,
            self.views,
            build_models(settings.health_weights, self.app.reporting_currency),
            clock=settings.clock,
            owner_cache_size=settings.projector_owner_cache_size,
        )
        for model in projector.models:
            model.bound_caches(settings.projector_row_cache_size)
        return projector

    @property
    def report_executor(self) -> ThreadPoolExecutor:
        """Threads for a report's reads that run alongside each other."""
        return self._once(
            "report_executor",
            lambda: ThreadPoolExecutor(
                max_workers=REPORT_READ_THREADS, thread_name_prefix="kam-report-health"
            ),
            ThreadPoolExecutor.shutdown,
        )

    @property
    def ledger(self) -> Ledger:
        """The verified tree over the log, with the configured signing key (if any)."""
        return self._once("ledger", lambda: open_ledger(self.settings, self.app), lambda _: None)

    @property
    def webhooks(self) -> WebhookStore:
        """Webhook subscriptions and their delivery log, their tables created if need be."""
        return self._once("webhooks", self._open_webhooks, lambda _: None)

    def _open_webhooks(self) -> WebhookStore:
        store = WebhookStore(self.views, self.settings.master())
        store.setup()
        return store

    def _open_users(self) -> UserStore:
        users = UserStore(self.views, cache_size=self.settings.token_cache_size)
        users.setup()
        return users

    def close(self) -> None:
        """Closes every service opened, the last opened first."""
        with self._lock:
            self._closed = True
            self._opened.clear()
            closing, self._closing = self._closing, ExitStack()
        closing.close()  # outside the lock: shutting the report pool waits for its reads


class _ServicePeople:
    """The people directory of the services' application: their user store, opened on the
    first command that names someone (so opening the application alone never needs it)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def person(self, name: str) -> KnownPerson | None:
        return self.services.users.person(name)


@contextmanager
def open_services(
    settings: Settings | None = None, *, check_people: bool = True
) -> Iterator[Services]:
    """The services the settings (default: from the environment) name, closed on exit.
    ``check_people=False`` leaves the application without a people directory (benchmarks)."""
    services = Services(settings if settings is not None else Settings(), check_people=check_people)
    try:
        yield services
    finally:
        services.close()


class StoreSetupRefusedError(RuntimeError):
    """The service's role may not create or replace the event store's tables and functions."""


class StoreNotSetUpError(RuntimeError):
    """Set-up is off (``KAM_DATABASE_SETUP=false``) but the event store's tables do not exist."""


def open_application(
    settings: Settings, *, people: PeopleDirectory | None = None
) -> KamApplication:
    """The application service on the store the settings name (creating its tables if need
    be, one process at a time, unless ``database_setup`` is off), sealing personal data with
    the settings' master key.

    Without a master key personal data is stored in clear, and erased people's data is still
    hidden on every read. ``MasterKeyError`` if the store's keys need a master key the settings
    do not give (none, or another one). ``people``: the directory the people commands name
    are checked against (None: not checked)."""
    master = settings.master()
    with setup_lock(settings.database):
        try:
            app = KamApplication(
                env=settings.library_env(),
                tier_caps=settings.tier_caps,
                snapshot_interval=settings.snapshot_interval,
                aggregate_cache_size=settings.aggregate_cache_size,
                liveness_ttl=settings.liveness_ttl,
                store_features=store_features,
                mapper=personal_data_mapper(
                    master,
                    cache_seconds=settings.key_cache_seconds,
                    cache_size=settings.key_cache_size,
                ),
                clock=settings.clock,
                future_tolerance_days=settings.future_tolerance_days,
                reporting_currency=settings.reporting_currency,
                people=people,
                command_retries=settings.command_retries,
                retry_pause=jittered_pause,
                idempotency_hours=settings.idempotency_hours,
            )
        except PersistenceError as error:
            if _sqlstate(error) != INSUFFICIENT_PRIVILEGE:
                raise
            raise StoreSetupRefusedError(
                f"{error}: the event store belongs to another role. Set it up with "
                "`kam db-setup` and start the service with KAM_DATABASE_SETUP=false"
            ) from error
    if settings.is_postgres and not settings.database_setup:
        try:
            app.recorder.max_notification_id()  # fails now, not at the first command
        except PersistenceError as error:
            app.close()
            if _sqlstate(error) != UNDEFINED_TABLE:
                raise
            raise StoreNotSetUpError(
                f"{error}: KAM_DATABASE_SETUP is false but the event store is not set up: "
                "run `kam db-setup` first"
            ) from error
    try:
        check_master_key(person_key_table(app.recorder), master)
    except BaseException:
        app.close()
        raise
    return app


#: The first and the longest bound of the wait before a command's retry after a conflict
#: (seconds): the bound doubles per retry, the wait is drawn below it ("full jitter").
RETRY_PAUSE_FIRST, RETRY_PAUSE_CAP = 0.005, 0.2


#: The retries' jitter comes from a generator of its own, not the process's global one.
_JITTER = random.Random()


def retry_delay(retry: int, draw: Callable[[float, float], float] = _JITTER.uniform) -> float:
    """The wait before retry number ``retry`` (0, 1, ...): ``draw(0, bound)``."""
    return draw(0.0, min(RETRY_PAUSE_CAP, RETRY_PAUSE_FIRST * 2**retry))


def jittered_pause(retry: int) -> None:
    """Waits before a command's retry (``retry_delay``)."""
    # Random, so writers that collided on one aggregate spread out instead of colliding again.
    time.sleep(retry_delay(retry))


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of the database error under a library error, if there is one."""
    return getattr(error.__cause__, "sqlstate", None)


def open_ledger(settings: Settings, app: KamApplication) -> Ledger:
    """The ledger over the application's log; a key that does not load leaves it without one
    (its endpoints then say why)."""
    key_error = None
    try:
        key = settings.ledger_signing_key()
    except (CheckpointError, OSError) as error:
        key, key_error = None, f"the ledger key does not load: {error}"
    table: str = app.recorder.events_table_name  # type: ignore[attr-defined]
    ledger = Ledger(settings.database, table, key=key, origin=settings.ledger_origin)
    ledger.key_error = key_error
    return ledger


def open_read_models(database: DatabaseURL, *, timeout: float = 10.0) -> ViewDatabase:
    """The read-model database that goes with the event store at ``database`` (``timeout``:
    seconds to connect or to wait for a pooled connection, PostgreSQL)."""
    target = database.target
    if isinstance(target, PostgresTarget):
        return PostgresViews(
            target.conninfo,
            schema=target.schema,
            timeout=timeout,
            pool_class=PromptlyReconnectingPool,
        )
    target.make_directory()
    return SqliteViews(target.views_path)


def open_replica_views(replica: DatabaseURL, primary: DatabaseURL, timeout: float) -> ViewDatabase:
    """The read models on a streaming replica of ``primary``: its server, the primary's schema
    (the replica holds a copy of the primary's tables, ``Settings`` refuses another schema)."""
    target, own = replica.target, primary.target
    assert isinstance(target, PostgresTarget) and isinstance(own, PostgresTarget)
    return PostgresViews(
        target.conninfo, schema=own.schema, timeout=timeout, pool_class=PromptlyReconnectingPool
    )
