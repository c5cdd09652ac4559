"""The schema set-up lock: one process at a time creates tables (events or read models)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from kam_store.url import DatabaseURL, PostgresTarget

#: Advisory-lock key held while any process creates tables. The read-model database takes the
#: same key (``kam_projections.db.SETUP_LOCK_KEY``; a test checks they agree), so creating the
#: events tables and the read-model tables never race either.
SETUP_LOCK_KEY = 0x4B414D5F  # "KAM_"


@contextmanager
def setup_lock(database_url: DatabaseURL) -> Iterator[None]:
    """Holds the set-up lock for the duration (PostgreSQL); nothing to do on SQLite."""
    target = database_url.target
    if not isinstance(target, PostgresTarget):
        yield
        return
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))
