"""Where events and read models are stored: the one place that turns a database URL into the
eventsourcing library's environment, and the tuned PostgreSQL write path.

Why a custom PostgreSQL recorder: the library's default recorder holds ``LOCK TABLE ... IN
EXCLUSIVE MODE`` across two client round trips (pipeline sync, then COMMIT), so 16 writers
serialise on network latency (~470 txn/s measured here). Its ``POSTGRES_ENABLE_DB_FUNCTIONS``
path is one round trip but takes no table lock, so a later notification id can commit before an
earlier one and a reader following the log could skip it. Ours calls one plpgsql function that
takes the same table lock, notifies and inserts: one round trip in autocommit mode, commit order
still equals notification-id order, and writers of the stock recorder stay compatible because
they take the same lock. Measured figures are in README "Design notes".
"""

from __future__ import annotations

import json
import queue
import threading
from base64 import b64encode
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import get_topic
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier, Literal

from kam_domain.app_core import UNREADABLE_STATE

#: Application name: PostgreSQL tables are ``kam_events`` and ``kam_snapshots``.
APP_NAME = "KAM"

#: A plain stored state's bytes before its recorded instant (see ``RECORDED_AT``).
RECORDED_AT_PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'
#: What ``datetime.isoformat`` writes for an aware instant, digits as 9 and "+" as "-" (with
#: or without microseconds; "Z" too, which ``fromisoformat`` reads).
ISOFORMAT_SHAPES = tuple(
    f"9999-99-99T99:99:99{fraction}{offset}"
    for fraction in ("", ".999999")
    for offset in ("-99:99", "Z")
)


class UnsupportedDatabaseURLError(ValueError):
    """The database URL's scheme is neither sqlite nor postgresql."""


def library_env(
    database_url: str,
    *,
    pool_size: int = 20,
    max_overflow: int = 10,
    connect_timeout: int = 5,
    lock_timeout: int = 5,
) -> dict[str, str]:
    """The eventsourcing environment for a ``sqlite:///path`` or ``postgresql://...`` URL."""
    parsed = urlparse(database_url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        # sqlite:///./var/kam.db -> ./var/kam.db ; sqlite:////abs/kam.db -> /abs/kam.db
        path = path[1:]
        if path in ("", ":memory:"):
            # A shared in-memory database, so every connection in the process sees it.
            dbname = "file:kam_memory_db?mode=memory&cache=shared"
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            dbname = path
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": dbname,
            "SQLITE_LOCK_TIMEOUT": str(lock_timeout),
        }
    if parsed.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parsed.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": parsed.hostname or "localhost",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(max_overflow),
            # Pool checkout and connect both use this: an exhausted pool fails fast, not in minutes.
            "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout),
            # Never wait forever for the events-table lock.
            "POSTGRES_LOCK_TIMEOUT": str(lock_timeout),
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": get_topic(KamPostgresApplicationRecorder),
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"]
        return env
    raise UnsupportedDatabaseURLError(
        f"unsupported database URL scheme {parsed.scheme!r}: use sqlite:/// or postgresql://"
    )


class KamPostgresApplicationRecorder(PostgresApplicationRecorder):
    """Group-commits events: one round trip, one table lock and one WAL flush for the events of
    all commands waiting at that moment, each command in its own subtransaction so a stale write
    fails alone. Commit order still equals notification-id order.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.kam_insert_function = f"{events_table_name}_kam_insert"
        self.check_identifier_length(self.kam_insert_function)
        schema = Identifier(self.datastore.schema)
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}(p_payload jsonb) "
                "RETURNS TABLE (grp int, notification_id bigint) LANGUAGE plpgsql AS $BODY$ "
                "DECLARE p_first int := 1; p_last int; p_out bigint[]; p_ids {id_type}[]; "
                "  p_versions bigint[]; p_topics text[]; p_states bytea[]; p_sizes int[]; "
                "BEGIN "
                "  SET LOCAL lock_timeout = '{lock_timeout}s'; "
                # The table lock serialises writers so ids commit in order (readers never skip).
                "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "  NOTIFY {channel}; "
                "  SELECT array_agg((e->>0)::{id_type} ORDER BY n), "
                "    array_agg((e->>1)::bigint ORDER BY n), array_agg(e->>2 ORDER BY n), "
                "    array_agg(decode(e->>3, 'base64') ORDER BY n) "
                "    INTO p_ids, p_versions, p_topics, p_states "
                "    FROM jsonb_array_elements(p_payload->'events') WITH ORDINALITY AS x(e, n); "
                "  SELECT array_agg(s::int ORDER BY n) INTO p_sizes "
                "    FROM jsonb_array_elements_text(p_payload->'sizes') WITH ORDINALITY y(s, n); "
                "  FOR g IN 1 .. coalesce(array_length(p_sizes, 1), 0) LOOP "
                "    p_last := p_first + p_sizes[g] - 1; "
                "    BEGIN "
                "      WITH inserted AS ("
                "        INSERT INTO {schema}.{table} AS t "
                "          (originator_id, originator_version, topic, state) "
                "        SELECT p_ids[i], p_versions[i], p_topics[i], p_states[i] "
                "        FROM generate_series(p_first, p_last) AS i ORDER BY i "
                "        RETURNING t.notification_id) "
                "      SELECT array_agg(inserted.notification_id ORDER BY "
                "        inserted.notification_id) INTO p_out FROM inserted; "
                "      RETURN QUERY SELECT g, unnest(p_out); "
                "    EXCEPTION WHEN unique_violation THEN "
                # This command's aggregate changed since it was read: only it fails.
                "      RETURN QUERY SELECT g, NULL::bigint; "
                "    END; "
                "    p_first := p_last + 1; "
                "  END LOOP; "
                "END; $BODY$"
            ).format(
                schema=schema,
                function=Identifier(self.kam_insert_function),
                id_type=SQL(self.datastore.originator_id_type),
                lock_timeout=self.datastore.lock_timeout,
                table=Identifier(self.events_table_name),
                channel=Identifier(self.channel_name),
            )
        )
        self.sql_call_kam_insert = SQL("SELECT * FROM {schema}.{function}(%s::jsonb)").format(
            schema=schema, function=Identifier(self.kam_insert_function)
        )
        # The fast path: every command of the batch in one INSERT, no subtransactions. A
        # uniqueness conflict aborts it (nothing written) and the batch is redone above.
        self.kam_insert_all_function = f"{events_table_name}_kam_insert_all"
        self.check_identifier_length(self.kam_insert_all_function)
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}(p_payload jsonb) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
                "BEGIN "
                "  SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "  NOTIFY {channel}; "
                "  RETURN QUERY INSERT INTO {schema}.{table} AS t "
                "    (originator_id, originator_version, topic, state) "
                "    SELECT (e->>0)::{id_type}, (e->>1)::bigint, e->>2, decode(e->>3, 'base64') "
                "    FROM jsonb_array_elements(p_payload->'events') WITH ORDINALITY AS x(e, n) "
                "    ORDER BY n RETURNING t.notification_id; "
                "END; $BODY$"
            ).format(
                schema=schema,
                function=Identifier(self.kam_insert_all_function),
                id_type=SQL(self.datastore.originator_id_type),
                lock_timeout=self.datastore.lock_timeout,
                table=Identifier(self.events_table_name),
                channel=Identifier(self.channel_name),
            )
        )
        self.sql_call_kam_insert_all = SQL(
            "SELECT * FROM {schema}.{function}(%s::jsonb) AS notification_id"
        ).format(schema=schema, function=Identifier(self.kam_insert_all_function))
        # As-of reads: the binary search over versions runs next to the data, so it costs one
        # round trip instead of ~13. Each probe is one primary-key lookup that reads the
        # recorded instant from the state's first bytes as RECORDED_AT does, without a regular
        # expression (PostgreSQL's cost ~10-25 us a probe, more than the lookup): the bytes
        # before the instant are compared as they are, the instant must have the shape that
        # ``datetime.isoformat`` writes, so the cast reads it exactly as Python does, and
        # 'escape' never fails (a UTF-8 decode fails on a compressed state). A probe that does
        # not read ends the search with UNREADABLE_STATE: the caller then searches by decoding.
        self.kam_version_at_function = f"{events_table_name}_kam_version_at"
        self.check_identifier_length(self.kam_version_at_function)
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}(p_id {id_type}, p_at timestamptz) "
                "RETURNS bigint LANGUAGE plpgsql STABLE AS $BODY$ "
                "DECLARE p_low bigint := 1; p_high bigint; p_middle bigint; p_found bigint; "
                "  p_plain boolean; p_rest text; p_instant text; "
                "BEGIN "
                # No events: p_high stays NULL, the loop never runs and the answer is NULL.
                "  SELECT max(originator_version) INTO p_high FROM {schema}.{table} "
                "    WHERE originator_id = p_id; "
                "  WHILE p_low <= p_high LOOP "
                "    p_middle := (p_low + p_high) / 2; "
                "    SELECT substring(state from 1 for {prefix_length}) = {prefix}, "
                "        encode(substring(state from {prefix_length} + 1 for 40), 'escape') "
                "      INTO p_plain, p_rest FROM {schema}.{table} "
                "      WHERE originator_id = p_id AND originator_version = p_middle; "
                "    IF p_plain IS NOT TRUE THEN RETURN {unreadable}; END IF; "
                "    p_instant := split_part(p_rest, '\"', 1); "
                "    IF substring(p_rest from length(p_instant) + 1 for 2) <> '\"}}' "
                "        OR translate(p_instant, '0123456789+', '9999999999-') NOT IN ({shapes}) "
                "      THEN RETURN {unreadable}; "
                "    END IF; "
                "    IF p_instant::timestamptz <= p_at THEN "
                "      p_found := p_middle; p_low := p_middle + 1; "
                "    ELSE "
                "      p_high := p_middle - 1; "
                "    END IF; "
                "  END LOOP; "
                "  RETURN p_found; "
                "END; $BODY$"
            ).format(
                schema=schema,
                function=Identifier(self.kam_version_at_function),
                id_type=SQL(self.datastore.originator_id_type),
                table=Identifier(self.events_table_name),
                prefix=Literal(RECORDED_AT_PREFIX),
                prefix_length=Literal(len(RECORDED_AT_PREFIX)),
                shapes=SQL(", ").join(Literal(shape) for shape in ISOFORMAT_SHAPES),
                unreadable=Literal(UNREADABLE_STATE),
            )
        )
        self.sql_call_kam_version_at = SQL("SELECT {schema}.{function}(%s, %s) AS version").format(
            schema=schema, function=Identifier(self.kam_version_at_function)
        )
        self.sql_last_topic = SQL(
            "SELECT topic FROM {schema}.{table} WHERE originator_id = %s "
            "ORDER BY originator_version DESC LIMIT 1"
        ).format(schema=schema, table=Identifier(self.events_table_name))
        # The committer keeps one connection of its own: a pool checkout per batch cost more
        # CPU than the batch's statement.
        self._connection: Connection[DictRow] | None = None
        self.committer = GroupCommitter(self._insert_groups)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        """Writes one command's events atomically; returns their notification ids."""
        if not stored_events:
            return []
        return self.committer.submit(list(stored_events))

    def version_at(self, originator_id: UUID, at: datetime) -> int | None:
        """The aggregate's last version recorded at or before ``at`` (None if none was, or if it
        has no events): one call of the server-side binary search. ``UNREADABLE_STATE`` when a
        stored state is not the plain JSON layout, so the caller searches by decoding."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.sql_call_kam_version_at, (originator_id, at), prepare=True)
            row = curs.fetchone()
        version = None if row is None else row["version"]
        return None if version is None else int(version)

    def last_topic(self, originator_id: UUID) -> str | None:
        """The topic of the aggregate's last event (one indexed row), or None if it has none."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.sql_last_topic, (originator_id,), prepare=True)
            row = curs.fetchone()
        return None if row is None else str(row["topic"])

    def _insert_groups(self, groups: list[list[StoredEvent]]) -> list[list[int] | None]:
        # One JSON parameter: psycopg dumps it far more cheaply than five typed arrays, and the
        # database (which has CPU to spare while Python holds the GIL) unpacks it.
        payload = json.dumps(
            {
                "events": [
                    [
                        str(e.originator_id),
                        e.originator_version,
                        e.topic,
                        b64encode(e.state).decode("ascii"),
                    ]
                    for group in groups
                    for e in group
                ],
                "sizes": [len(group) for group in groups],
            },
            separators=(",", ":"),
        )
        conn = self._committer_connection()
        try:
            try:
                rows = conn.execute(self.sql_call_kam_insert_all, (payload,), prepare=True)
                # Ids are drawn in insertion order, so sorted ids line up with the events.
                ids = sorted(row["notification_id"] for row in rows.fetchall())
            except psycopg.errors.UniqueViolation:
                return self._insert_groups_one_by_one(conn, payload, len(groups))
        except psycopg.Error as error:
            self._drop_committer_connection()
            raise OperationalError(str(error)) from error
        results: list[list[int] | None] = []
        start = 0
        for group in groups:
            results.append(ids[start : start + len(group)])
            start += len(group)
        return results

    def _insert_groups_one_by_one(
        self, conn: Connection[DictRow], payload: str, count: int
    ) -> list[list[int] | None]:
        """Each command in its own subtransaction, so only the conflicting ones fail."""
        results: list[list[int] | None] = [[] for _ in range(count)]
        for row in conn.execute(self.sql_call_kam_insert, (payload,), prepare=True).fetchall():
            index = row["grp"] - 1
            if row["notification_id"] is None:
                results[index] = None
            else:
                ids = results[index]
                assert ids is not None
                ids.append(row["notification_id"])
        return results

    def _committer_connection(self) -> Connection[DictRow]:
        if self._connection is None or self._connection.closed:
            self.datastore.pool.open(wait=True, timeout=self.datastore.pool.timeout)
            self._connection = self.datastore.pool.getconn()
        return self._connection

    def _drop_committer_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # The pool checks a returned connection and discards it if it is broken.
            self.datastore.pool.putconn(connection)

    def close(self) -> None:
        self.committer.close()
        self._drop_committer_connection()


class GroupCommitter:
    """Runs submitted write groups in batches on one thread; each caller gets its own outcome.

    A group whose ids come back as ``None`` hit a uniqueness conflict: that caller gets
    ``IntegrityError`` and the others in the batch are unaffected. An error of the whole batch
    (connection lost, lock timeout) goes to every caller in it.
    """

    def __init__(
        self,
        execute: Callable[[list[list[StoredEvent]]], list[list[int] | None]],
        *,
        max_events: int = 500,
        wait_timeout: float = 60.0,
    ) -> None:
        self._execute = execute
        self._max_events = max_events
        self._wait_timeout = wait_timeout
        self._queue: queue.SimpleQueue[_PendingWrite | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="kam-group-commit", daemon=True)
        self._thread.start()

    def submit(self, events: list[StoredEvent]) -> list[int]:
        if self._closed:
            raise OperationalError("the event store is closed")
        pending = _PendingWrite(events)
        self._queue.put(pending)
        if not pending.done.wait(self._wait_timeout):
            raise OperationalError("timed out waiting for the event store to commit")
        if pending.error is not None:
            raise pending.error
        if pending.ids is None:
            raise IntegrityError("an event with this aggregate version is already stored")
        return pending.ids

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            size = len(first.events)
            stopping = False
            while size < self._max_events:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
                size += len(more.events)
            self._commit(batch)
            if stopping:
                break
        # Nothing may hang: refuse whatever is still queued after close.
        while True:
            try:
                left = self._queue.get_nowait()
            except queue.Empty:
                return
            if left is not None:
                left.error = OperationalError("the event store is closed")
                left.done.set()

    def _commit(self, batch: list[_PendingWrite]) -> None:
        try:
            outcomes = self._execute([p.events for p in batch])
        except BaseException as error:  # every waiter must hear how its write ended
            for pending in batch:
                pending.error = error
                pending.done.set()
            if not isinstance(error, Exception):
                raise
            return
        for pending, ids in zip(batch, outcomes, strict=True):
            pending.ids = ids
            pending.done.set()


class _PendingWrite:
    __slots__ = ("done", "error", "events", "ids")

    def __init__(self, events: list[StoredEvent]) -> None:
        self.events = events
        self.ids: list[int] | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
