"""The read-model database: one small interface over SQLite and PostgreSQL.

SQL is written once with ``:name`` parameters and translated for psycopg. Dates are stored as
ISO text in both databases (they sort and compare correctly as text), amounts as floating point
(read models are for display and ranking; the event store keeps exact decimals).

Where the read models live is the composition root's choice (``kam_api.bootstrap``), made from
the parsed database URL: ``SqliteViews(path)`` for a file next to the event store,
``<name>-views.db``, so the projector's writes never contend with command writes for the event
store's single-writer lock; ``PostgresViews(conninfo, schema=...)`` for the event store's
database and schema, tables prefixed ``rm_``.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import sqlite3
import threading
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypeVar, cast

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from kam_store.bounded_cache import BoundedCache

Row = dict[str, Any]
_T = TypeVar("_T")
Params = Mapping[str, Any]
Dialect = Literal["sqlite", "postgres"]

#: Advisory-lock key held while any process creates tables (events or read models): the
#: event store's set-up lock takes the same key (``kam_store.setup_lock``; a test checks).
SETUP_LOCK_KEY = 0x4B414D5F  # "KAM_"
REBUILD_LOCK_KEY = 0x4B414D52  # "KAMR": one rebuild at a time (per schema: with its CRC-32)

#: The tables the read-model side creates (SQL ``LIKE`` patterns): the service's role owns them
#: on PostgreSQL (``kam db-setup`` gives them to it if another role created them).
READ_MODEL_TABLE_PATTERNS = ("rm\\_%", "kam\\_users", "kam\\_users\\_log")


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


#: SQL texts translated by ``to_pyformat`` (the process's; ``KAM_SQL_CACHE_SIZE``): the
#: service's statements are a fixed set, but some are built per call (a filter's clauses).
SQL_TEXTS: BoundedCache[str, str] = BoundedCache("sql_texts", 2048)


def to_pyformat(sql: str) -> str:
    """``:name`` parameters to psycopg's ``%(name)s`` (literal ``%`` doubled)."""
    return SQL_TEXTS.get_or_compute(sql, lambda: _NAMED.sub(r"%(\1)s", sql.replace("%", "%%")))


class Tx(ABC):
    """A cursor within one transaction."""

    @abstractmethod
    def execute(self, sql: str, params: Params | None = None) -> list[Row]: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        """Appends rows known to be new (bulk loads): INSERT here, COPY on PostgreSQL."""
        if rows:
            values = ", ".join(f":{c}" for c in columns)
            self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})", rows)

    def upsert_rows(
        self,
        table: str,
        key: Sequence[str],
        columns: Sequence[str],
        rows: Sequence[Params],
        *,
        update: bool = True,
    ) -> None:
        """Inserts rows, each replacing the row with its key (``update``) or left out where
        one exists. The keys are distinct. Here one statement per row; on PostgreSQL a large
        batch goes through COPY into a staging table and one ``INSERT ... SELECT``."""
        if rows:
            self.executemany(upsert_sql(table, key, columns, columns, update=update), rows)

    def rows_by_keys(
        self, table: str, key: Sequence[str], keys: Sequence[tuple[Any, ...]]
    ) -> list[Row]:
        """The rows of ``table`` whose ``key`` columns hold one of ``keys`` (text values), in a
        few queries: here ``IN`` lists of up to ``KEYS_PER_QUERY`` keys."""
        found: list[Row] = []
        for start in range(0, len(keys), KEYS_PER_QUERY):
            chunk = keys[start : start + KEYS_PER_QUERY]
            params = {
                f"k{i}_{j}": v for i, values in enumerate(chunk) for j, v in enumerate(values)
            }
            tuples = ", ".join(
                "(" + ", ".join(f":k{i}_{j}" for j in range(len(key))) + ")"
                for i in range(len(chunk))
            )
            where = (
                f"{key[0]} IN ({tuples})"
                if len(key) == 1
                else f"({', '.join(key)}) IN (VALUES {tuples})"
            )
            found += self.execute(f"SELECT * FROM {table} WHERE {where}", params)
        return found

    def one(self, sql: str, params: Params | None = None) -> Row | None:
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    def batch(self, statements: Sequence[tuple[str, Params | None]]) -> list[list[Row]]:
        """Several independent queries' rows, in order: one after another here; in one round
        trip on PostgreSQL (pipeline mode), where a read's cost is mostly waiting."""
        return [self.execute(sql, params) for sql, params in statements]


def upsert_sql(
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    values: Sequence[str] | str,
    *,
    update: bool,
) -> str:
    """``INSERT ... ON CONFLICT`` of ``columns``, from ``:name`` parameters (a list of
    columns) or from a query (text)."""
    source = values if isinstance(values, str) else f"VALUES ({', '.join(f':{c}' for c in values)})"
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    conflict = f"DO UPDATE SET {updates}" if update and updates else "DO NOTHING"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) {source} "
        f"ON CONFLICT ({', '.join(key)}) {conflict}"
    )


#: Keys per ``IN`` list (``Tx.rows_by_keys``): well under SQLite's 32,766 parameters.
KEYS_PER_QUERY = 500


class ViewDatabase(ABC):
    """Where the read models are stored; ``transaction()`` for writes, ``read()`` for queries."""

    dialect: Dialect

    @abstractmethod
    def transaction(self) -> Any:
        """A context manager yielding a ``Tx`` that commits on success, rolls back on error."""

    @abstractmethod
    def read(self) -> Any:
        """A context manager yielding a ``Tx`` for queries."""

    @abstractmethod
    def close(self) -> None: ...

    def lock_for_setup(self, tx: Tx) -> None:
        """Serialises schema set-up across processes (CREATE ... IF NOT EXISTS races on
        PostgreSQL when two start at once); SQLite's write lock already does."""
        del tx  # nothing more to lock here

    @contextmanager
    def rebuilding(self, *, wait: bool = True) -> Iterator[bool]:
        """Held while read models are rebuilt, so two processes never build the same
        ``__build`` tables at once; yields whether it is held (always, unless ``wait`` is
        false and another holds it). PostgreSQL: a session advisory lock on a connection of
        its own; SQLite: an exclusive ``flock`` on a file next to the database."""
        yield True

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        with self.read() as tx:
            return cast(list[Row], tx.execute(sql, params))

    def query_batch(self, statements: Sequence[tuple[str, Params | None]]) -> list[list[Row]]:
        """Independent queries in one go (see ``Tx.batch``)."""
        with self.read() as tx:
            return cast(list[list[Row]], tx.batch(statements))


# --- SQLite ---------------------------------------------------------------------------------


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = self.conn.execute(sql, params or {})
        if cursor.description is None:
            return []
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            self.conn.executemany(sql, rows)


#: In-process rebuild locks of SQLite databases that are not files (``file:`` URIs).
_MEMORY_REBUILD_LOCKS: dict[str, threading.Lock] = {}


class SqliteViews(ViewDatabase):
    """Read models in a SQLite file; one connection per thread, WAL mode, secure delete."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: str, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            uri = self.path.startswith("file:")
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, uri=uri
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            if not uri:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            # Rows rewritten or dropped (an erasure, a rebuild's swap) leave no old bytes in
            # the file: freed space is overwritten with zeros.
            conn.execute("PRAGMA secure_delete = ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SqliteTx(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Tx]:
        yield _SqliteTx(self._connection())

    @contextmanager
    def rebuilding(self, *, wait: bool = True) -> Iterator[bool]:
        if self.path.startswith("file:") or self.path == ":memory:":
            # Not a file other processes open: a lock within this process is enough.
            lock = _MEMORY_REBUILD_LOCKS.setdefault(self.path, threading.Lock())
            if not lock.acquire(blocking=wait):
                yield False
                return
            try:
                yield True
            finally:
                lock.release()
            return
        # flock, not a row in the database: the lock must end with a killed rebuild's process.
        with open(f"{self.path}.rebuild-lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


# --- PostgreSQL -----------------------------------------------------------------------------


class _PostgresTx(Tx):
    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = self.conn.execute(to_pyformat(sql), params or {})
        if cursor.description is None:
            return []
        return cursor.fetchall()

    def batch(self, statements: Sequence[tuple[str, Params | None]]) -> list[list[Row]]:
        with self.conn.pipeline():
            cursors = [
                self.conn.cursor().execute(to_pyformat(sql), params or {})
                for sql, params in statements
            ]
        return [cursor.fetchall() if cursor.description else [] for cursor in cursors]

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            with self.conn.cursor() as cursor:
                cursor.executemany(to_pyformat(sql), rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        if rows:
            with (
                self.conn.cursor() as cursor,
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row([row.get(c) for c in columns])

    def rows_by_keys(
        self, table: str, key: Sequence[str], keys: Sequence[tuple[Any, ...]]
    ) -> list[Row]:
        # One statement whatever the number of keys (arrays), so psycopg parses it once.
        if not keys:
            return []
        arrays = {f"k{j}": [values[j] for values in keys] for j in range(len(key))}
        if len(key) == 1:
            where = f"{key[0]} = ANY(%(k0)s::text[])"
        else:
            unnest = ", ".join(f"%(k{j})s::text[]" for j in range(len(key)))
            where = f"({', '.join(key)}) IN (SELECT * FROM unnest({unnest}))"
        return self.conn.execute(f"SELECT * FROM {table} WHERE {where}", arrays).fetchall()

    def upsert_rows(
        self,
        table: str,
        key: Sequence[str],
        columns: Sequence[str],
        rows: Sequence[Params],
        *,
        update: bool = True,
    ) -> None:
        if len(rows) < COPY_UPSERT_ROWS:
            super().upsert_rows(table, key, columns, rows, update=update)
            return
        # A staging table per session and shape (its rows go at commit): COPY costs a few
        # microseconds a row, a statement per row many times that on both sides.
        shape = hashlib.sha256(f"{table}({','.join(columns)})".encode()).hexdigest()[:16]
        staging = f"kam_staging_{shape}"
        cols = ", ".join(columns)
        self.conn.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "
            f"SELECT {cols} FROM {table} WITH NO DATA"
        )
        self.copy_rows(staging, columns, rows)
        self.conn.execute(
            upsert_sql(table, key, columns, f"SELECT {cols} FROM {staging}", update=update)
        )
        self.conn.execute(f"DELETE FROM {staging}")  # a second upsert in this transaction


#: From how many rows ``upsert_rows`` stages them with COPY on PostgreSQL.
COPY_UPSERT_ROWS = 64


class PostgresViews(ViewDatabase):
    """Read models in PostgreSQL, reached through a small pool of their own."""

    dialect: Dialect = "postgres"

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str | None,
        pool_size: int = 4,
        timeout: float = 10.0,
        pool_class: type[ConnectionPool[Any]] = ConnectionPool,
    ) -> None:
        self.conninfo = conninfo
        self.schema = schema
        options = f"-c search_path={schema}" if schema else ""
        self.connect_kwargs: dict[str, Any] = {"options": options} if options else {}
        self.pool: ConnectionPool[psycopg.Connection[Row]] = pool_class(
            conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "connect_timeout": max(1, round(timeout)),
                **self.connect_kwargs,
            },
            # Each connection is checked as it is handed out, so after a restart of the
            # server its stale connections are replaced, not handed to one request each (the
            # service's pool_class also drops psycopg_pool's waits after each: kam_store.reconnect).
            # Reads through query()/query_batch() skip the check (see _read_once).
            check=_check_unless_reading,
            timeout=timeout,
            open=True,
        )

    def lock_for_setup(self, tx: Tx) -> None:
        tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": SETUP_LOCK_KEY})

    @contextmanager
    def rebuilding(self, *, wait: bool = True) -> Iterator[bool]:
        # Keyed by schema too: the read models of another schema (another deployment, a
        # test running beside this one) are other tables, and their rebuild must neither
        # wait for this one nor keep it from dropping its own leftovers.
        key = (REBUILD_LOCK_KEY, zlib.crc32((self.schema or "").encode()) & 0x7FFFFFFF)
        with self.connect() as conn:
            if wait:
                conn.execute("SELECT pg_advisory_lock(%s, %s)", key)
            else:
                row = conn.execute("SELECT pg_try_advisory_lock(%s, %s) AS held", key).fetchone()
                if not (row and row["held"]):
                    yield False
                    return
            try:
                yield True
            finally:
                if not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)

    def connect(self) -> psycopg.Connection[Row]:
        """A dedicated connection (the projector's), autocommit, rows as dicts."""
        return psycopg.connect(
            self.conninfo,
            autocommit=True,
            row_factory=dict_row,
            connect_timeout=max(1, round(self.pool.timeout)),
            **self.connect_kwargs,
        )

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.pool.connection() as conn, conn.transaction():
            yield _PostgresTx(conn)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self.pool.connection() as conn:
            yield _PostgresTx(conn)

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        return self._read_once(lambda tx: tx.execute(sql, params))

    def query_batch(self, statements: Sequence[tuple[str, Params | None]]) -> list[list[Row]]:
        return self._read_once(lambda tx: tx.batch(statements))

    def _read_once(self, read: Callable[[Tx], _T]) -> _T:
        """A read on a pooled connection handed out without its check (a round trip of its
        own, as long as the read itself): a connection the read finds broken (the server
        restarted) is dropped by the pool, and the read, which changes nothing, is run once
        more on a checked one."""
        conn = None
        _READING.unchecked = True
        try:
            with self.pool.connection() as conn:
                _READING.unchecked = False
                return read(_PostgresTx(conn))
        except psycopg.OperationalError:
            if conn is None or not (conn.broken or conn.closed):
                raise
        finally:
            _READING.unchecked = False
        with self.read() as tx:
            return read(tx)

    def close(self) -> None:
        self.pool.close()


#: Set while ``PostgresViews._read_once`` takes a connection from the pool.
_READING = threading.local()


def _check_unless_reading(conn: psycopg.Connection[Any]) -> None:
    """The pool's check of a connection it hands out, skipped for ``_read_once``'s reads."""
    if not getattr(_READING, "unchecked", False):
        ConnectionPool.check_connection(conn)
