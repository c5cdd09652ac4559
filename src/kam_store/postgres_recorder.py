"""The tuned PostgreSQL write path and its server-side as-of search.

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
from base64 import b64encode
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier, Literal

from kam_domain.idempotency import IdempotentWrite, StoredAnswer
from kam_store import idempotency
from kam_store import schema as store_schema
from kam_store.group_commit import GroupCommitter, WriteGroup
from kam_store.reconnect import reconnect_promptly
from kam_store.stored_state import ISOFORMAT_SHAPES, RECORDED_AT_PREFIX, UNREADABLE_STATE


class KamPostgresApplicationRecorder(PostgresApplicationRecorder):
    """Group-commits events: one round trip, one table lock and one WAL flush for the events of
    all commands waiting at that moment, each command in its own subtransaction so a stale write
    fails alone. Commit order still equals notification-id order.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        reconnect_promptly(datastore)
        self.kam_insert_function = f"{events_table_name}_kam_insert"
        self.check_identifier_length(self.kam_insert_function)
        schema = Identifier(self.datastore.schema)
        # The idempotency keys written with the events (kam_store.idempotency).
        keys = idempotency.postgres_insert_keys(self.datastore.schema, events_table_name)
        # What both insert functions name: where they write and which lock they take.
        insert_names = {
            "schema": schema,
            "id_type": SQL(self.datastore.originator_id_type),
            "lock_timeout": self.datastore.lock_timeout,
            "table": Identifier(self.events_table_name),
            "channel": Identifier(self.channel_name),
            # The table's owner takes the table lock and inserts: the service's role may only
            # insert and read (LOCK ... IN EXCLUSIVE MODE needs UPDATE, DELETE or TRUNCATE
            # privileges, which it must not have; see kam_store.roles). A fixed search path,
            # so no object the caller can create is looked up in the owner's name.
            "definer": SQL("SECURITY DEFINER SET search_path = pg_catalog, pg_temp"),
        }
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}(p_payload jsonb) "
                "RETURNS TABLE (grp int, notification_id bigint) LANGUAGE plpgsql {definer} "
                "AS $BODY$ "
                "DECLARE p_first int := 1; p_last int; p_out bigint[]; p_ids {id_type}[]; "
                "  p_versions bigint[]; p_topics text[]; p_states bytea[]; p_sizes int[]; "
                "  k jsonb; "
                "BEGIN "
                "  SET LOCAL lock_timeout = '{lock_timeout}s'; "
                # The table lock serialises writers so ids commit in order (readers never skip).
                "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "  NOTIFY {channel}; "
                "  IF p_payload ? 'keys' THEN {purge} END IF; "
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
                "      {insert_group} "
                "      RETURN QUERY SELECT g, unnest(p_out); "
                "    EXCEPTION WHEN unique_violation THEN "
                # This command's aggregate changed since it was read, or its idempotency key
                # was committed by another writer: only it fails.
                "      RETURN QUERY SELECT g, NULL::bigint; "
                "    END; "
                "    p_first := p_last + 1; "
                "  END LOOP; "
                "END; $BODY$"
            ).format(
                function=Identifier(self.kam_insert_function),
                purge=keys["purge"],
                insert_group=keys["insert_group"],
                **insert_names,
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
                "RETURNS SETOF bigint LANGUAGE plpgsql {definer} AS $BODY$ "
                "DECLARE p_out bigint[]; "
                "BEGIN "
                "  SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "  NOTIFY {channel}; "
                "  WITH inserted AS ("
                "    INSERT INTO {schema}.{table} AS t "
                "    (originator_id, originator_version, topic, state) "
                "    SELECT (e->>0)::{id_type}, (e->>1)::bigint, e->>2, decode(e->>3, 'base64') "
                "    FROM jsonb_array_elements(p_payload->'events') WITH ORDINALITY AS x(e, n) "
                "    ORDER BY n RETURNING t.notification_id) "
                "  SELECT array_agg(inserted.notification_id ORDER BY inserted.notification_id) "
                "    INTO p_out FROM inserted; "
                # The keys' rows in the same transaction: a key already stored aborts the
                # batch, which is then redone one command at a time (only that one fails).
                "  IF p_payload ? 'keys' THEN {purge} {insert_all} END IF; "
                "  RETURN QUERY SELECT unnest(p_out); "
                "END; $BODY$"
            ).format(
                function=Identifier(self.kam_insert_all_function),
                purge=keys["purge"],
                insert_all=keys["insert_all"],
                **insert_names,
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
        self.sql_create_statements.extend(
            store_schema.postgres_statements(self.datastore.schema, self.events_table_name)
        )
        self.sql_select_answer = idempotency.postgres_select(
            self.datastore.schema, self.events_table_name
        )
        # The committer keeps one connection of its own: a pool checkout per batch cost more
        # CPU than the batch's statement.
        self._connection: Connection[DictRow] | None = None
        self.committer = GroupCommitter(self._insert_groups)

    def create_table(self) -> None:
        """Creates the tables and functions; if that fails, the committer stops too (its thread
        started with the recorder and would otherwise outlive the failed set-up)."""
        try:
            super().create_table()
        except BaseException:
            self.committer.close()
            raise

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        """Writes one command's events atomically, with its idempotency key if it has one
        (``idempotency=``, see ``kam_store.idempotency``); returns their notification ids."""
        write: IdempotentWrite | None = kwargs.get("idempotency")
        if not stored_events and write is None:
            return []
        return self.committer.submit(list(stored_events), write)

    def stored_answer(self, user: str, key: str, now: datetime) -> StoredAnswer | None:
        """The unexpired answer stored for the user's idempotency key, if any."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.sql_select_answer, (user, key, now), prepare=True)
            row = curs.fetchone()
        return None if row is None else idempotency.answer(list(row.values()))

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

    def _insert_groups(self, groups: list[WriteGroup]) -> list[list[int] | None]:
        # One JSON parameter: psycopg dumps it far more cheaply than five typed arrays, and the
        # database (which has CPU to spare while Python holds the GIL) unpacks it.
        content: dict[str, Any] = {
            "events": [
                [
                    str(e.originator_id),
                    e.originator_version,
                    e.topic,
                    b64encode(e.state).decode("ascii"),
                ]
                for group, _ in groups
                for e in group
            ],
            "sizes": [len(group) for group, _ in groups],
        }
        writes = [write for _, write in groups if write is not None]
        if writes:
            keys, last = [], 0
            for group, write in groups:
                last += len(group)
                keys.append(idempotency.payload_entry(write, last if group else 0))
            content["keys"] = keys
            # Keys that expired before this instant are purged.
            content["now"] = max(write.claim.now for write in writes).isoformat()
        payload = json.dumps(content, separators=(",", ":"))
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
        for group, _ in groups:
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
