"""PostgreSQL schemas for the tests, made once and reused.

Starting the app on an empty schema creates the store's, the read models', the users' and the
webhooks' tables (some forty tables, their indexes, triggers and functions): about half a
second of the server's time, in every PostgreSQL API and web test; the event store alone
(the ``app`` fixture's application service) takes a fifth of a second. A schema such a test
leaves behind holds the same objects, so each test process keeps the schemas its tests used
and hands one to the next test of the same ``Kind``, emptied as if new.

A schema is reused only if it is the same as a schema of its kind set up and nothing else touched
(``fingerprint``: every table, column, index, constraint, trigger with its state, function and
type, with the schema's own name left out): one a test changed (a trigger dropped to tamper, a
table of an older shape, a build table left behind) is dropped instead, as every schema was
before. Emptying it deletes every row (a few milliseconds, where TRUNCATE takes a tenth of a
second; the append-only triggers are not fired: the session is a replica's, which needs a
superuser, as CI's ``postgres`` is; without one nothing is reused) and restarts every
sequence; the app's own set-up then writes what it writes into a new store (its models'
tracking and shape rows).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

import psycopg
from fastapi.testclient import TestClient
from psycopg import sql

from kam_api.settings import Settings
from kam_domain.application import KamApplication
from kam_store.crypto import MasterKey, personal_data_mapper
from kam_store.env import library_env
from kam_store.features import store_features
from tests.support import TEST_MASTER_KEY, api_app


class Kind(Enum):
    """What a test sets up in its schema."""

    APP = "the whole app (``api_settings``, ``web_settings``)"
    STORE = "the event store (the ``app`` fixture)"


#: The fingerprint of a schema of each kind just set up, per test process (``reference``).
_REFERENCE: dict[Kind, str] = {}
#: Emptied schemas of each kind ready for the next test, per test process.
_FREE: dict[Kind, list[str]] = {kind: [] for kind in Kind}
#: One connection per server for this module's own statements, kept for the test process: a
#: new one for each schema made, emptied or dropped cost the server more than the statements
#: (a backend's start, and its catalogue cache filled again for the fingerprint).
_ADMIN: dict[str, psycopg.Connection] = {}

_FINGERPRINT = """
SELECT md5(string_agg(item, '|' ORDER BY item))
FROM (SELECT to_regnamespace(%(schema)s) AS ns) AS schema, LATERAL (
    SELECT 'rel ' || c.relname || ' ' || c.relkind::text FROM pg_class c WHERE c.relnamespace = ns
    UNION ALL
    SELECT 'col ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
        || ' ' || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = ns AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'idx ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = ns
    UNION ALL
    SELECT 'con ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = ns
    UNION ALL
    SELECT 'trg ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = ns AND NOT t.tgisinternal
    UNION ALL
    SELECT 'fn ' || p.proname || ' '
        || md5(replace(replace(p.prosrc, %(quoted)s, ''), %(prefix)s, ''))
    FROM pg_proc p WHERE p.pronamespace = ns
    UNION ALL
    SELECT 'type ' || typname FROM pg_type WHERE typnamespace = ns
) AS found(raw), LATERAL (
    SELECT replace(replace(raw, %(quoted)s, ''), %(prefix)s, '') AS item
) AS named
"""


@contextmanager
def admin(url: str) -> Iterator[psycopg.Connection]:
    """This process's connection to the server of ``url`` (autocommit), made again if it broke."""
    conn = _ADMIN.get(url)
    if conn is None or conn.closed or conn.broken:
        conn = _ADMIN[url] = psycopg.connect(url, autocommit=True)
        conn.execute("SET lock_timeout = '5s'")
    try:
        yield conn
    except psycopg.Error:
        if conn.broken:
            del _ADMIN[url]
        raise


def fingerprint(conn: psycopg.Connection, schema: str) -> str | None:
    """What the schema holds (not its rows), without its own name; None if it is empty."""
    names = {"schema": schema, "prefix": f"{schema}.", "quoted": f'"{schema}".'}
    row = conn.execute(_FINGERPRINT, names).fetchone()
    return row[0] if row else None


def reference(url: str, kind: Kind) -> str:
    """The fingerprint of a schema of this kind just set up (made once per test process, on a
    schema of its own, which then joins the free ones)."""
    if kind not in _REFERENCE:
        schema = new_schema(url)
        _set_up(f"{url}?schema={schema}", kind)
        with admin(url) as conn:
            found = fingerprint(conn, schema)
        if found is None:
            raise RuntimeError(f"setting up {kind.value} made nothing in schema {schema}")
        _REFERENCE[kind] = found
        release(url, schema, kind)
    return _REFERENCE[kind]


def _set_up(database_url: str, kind: Kind) -> None:
    if kind is Kind.APP:
        settings = Settings(database_url=database_url, pg_pool_size=2, master_key=TEST_MASTER_KEY)
        with TestClient(api_app(settings)):
            return
    KamApplication(
        env=library_env(database_url, pool_size=1, max_overflow=1),
        store_features=store_features,
        mapper=personal_data_mapper(MasterKey.from_base64(TEST_MASTER_KEY)),
    ).close()


def new_schema(url: str) -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin(url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return schema


def take(url: str, kind: Kind) -> str:
    """An emptied schema of this kind set up before, else a new empty one."""
    reference(url, kind)
    free = _FREE[kind]
    return free.pop() if free else new_schema(url)


def release(url: str, schema: str, kind: Kind) -> None:
    """Empties the schema for the next test of its kind if it is as that kind sets it up;
    drops it if not."""
    if not _empty(url, schema, kind):
        drop(url, schema)


def drop(url: str, schema: str) -> None:
    with admin(url) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def drop_free(url: str) -> None:
    """Drops the free schemas and closes the connection (the test process is ending)."""
    for free in _FREE.values():
        while free:
            drop(url, free.pop())
    conn = _ADMIN.pop(url, None)
    if conn is not None:
        conn.close()


def _empty(url: str, schema: str, kind: Kind) -> bool:
    try:
        with admin(url) as conn:
            if fingerprint(conn, schema) != _REFERENCE.get(kind):
                return False
            tables = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
            ).fetchall()
            sequences = conn.execute(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = %s", (schema,)
            ).fetchall()
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                conn.execute(
                    sql.SQL("; ").join(
                        [
                            *(
                                sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, table))
                                for (table,) in tables
                            ),
                            *(
                                sql.SQL("SELECT setval({}, 1, false)").format(
                                    sql.Literal(f'"{schema}"."{sequence}"')
                                )
                                for (sequence,) in sequences
                            ),
                        ]
                    )
                )
    except psycopg.Error:
        return False  # no superuser, or a connection the test left holds a lock: not reused
    _FREE[kind].append(schema)
    return True
