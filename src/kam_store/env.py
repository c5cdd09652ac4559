"""Settings -> the eventsourcing library's environment: the one translation.

The application ignores any other process environment (see ``KamApplicationBase.construct_env``),
so stray ``POSTGRES_*`` variables cannot re-point the store.
"""

from __future__ import annotations

from eventsourcing.utils import get_topic

from kam_store.postgres_recorder import KamPostgresApplicationRecorder
from kam_store.sqlite_recorder import KamSQLiteApplicationRecorder
from kam_store.url import DatabaseURL, PostgresTarget

#: Application name: PostgreSQL tables are ``kam_events`` and ``kam_snapshots``.
APP_NAME = "KAM"


def library_env(
    database_url: DatabaseURL | str,
    *,
    pool_size: int = 20,
    max_overflow: int = 10,
    connect_timeout: int = 5,
    lock_timeout: int = 5,
    create_tables: bool = True,
) -> dict[str, str]:
    """The eventsourcing environment for a ``sqlite:///path`` or ``postgresql://...`` URL
    (creating the SQLite file's directory). ``create_tables=False`` (PostgreSQL): the store's
    tables and functions exist already and belong to another role (``kam db-setup``), so the
    recorders do not try to create or replace them."""
    if isinstance(database_url, str):
        database_url = DatabaseURL.parse(database_url)
    target = database_url.target
    if not isinstance(target, PostgresTarget):
        target.make_directory()
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": target.events_dbname,
            "SQLITE_LOCK_TIMEOUT": str(lock_timeout),
            "APPLICATION_RECORDER_TOPIC": get_topic(KamSQLiteApplicationRecorder),
        }
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": target.dbname,
        "POSTGRES_HOST": target.host,
        "POSTGRES_PORT": str(target.port),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(max_overflow),
        # Pool checkout and connect both use this: an exhausted pool fails fast, not in minutes.
        "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout),
        # Never wait forever for the events-table lock.
        "POSTGRES_LOCK_TIMEOUT": str(lock_timeout),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
        # Check a pooled connection as it is handed out: after a server restart the stale
        # ones are replaced at once instead of failing one command each.
        "POSTGRES_PRE_PING": "y",
        "APPLICATION_RECORDER_TOPIC": get_topic(KamPostgresApplicationRecorder),
    }
    if target.schema is not None:
        env["POSTGRES_SCHEMA"] = target.schema
    if not create_tables:
        env["CREATE_TABLE"] = "no"
    return env
