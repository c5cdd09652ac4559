"""The SQLite recorder: the library's, plus the store's own tables and triggers
(``kam_store.schema``), the hash chain written with each event (``kam_store.chain``), on
connections that zero deleted content (``secure_delete``), writing a command's idempotency key
(``kam_store.idempotency``) in its events' transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteCursor,
    SQLiteDatastore,
)

from kam_domain.idempotency import IdempotentWrite, StoredAnswer
from kam_store import chain, idempotency, schema


class KamSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite application recorder with the statements of ``kam_store.schema``
    added to its set-up, chaining every event it inserts in the same transaction, and with
    ``PRAGMA secure_delete=ON`` on each of its connections, so a destroyed person key's bytes
    are overwritten in the file, not left in a free page."""

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        pool = datastore.pool
        create_connection = pool._create_connection

        def secure_connection() -> SQLiteConnection:
            connection = create_connection()
            connection._sqlite_conn.execute("PRAGMA secure_delete=ON")
            return connection

        pool._create_connection = secure_connection  # type: ignore[method-assign]
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.extend(schema.sqlite_statements(self.events_table_name))
        return statements

    def _create_table(self, c: SQLiteCursor) -> None:
        super()._create_table(c)
        chain.sqlite_backfill(c, self.events_table_name)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        if stored_events:
            assert positions is not None
            chain.sqlite_append(
                c,
                self.events_table_name,
                positions,
                [(e.originator_id, e.originator_version, e.topic, e.state) for e in stored_events],
            )
        write: IdempotentWrite | None = kwargs.get("idempotency")
        if write is not None:
            idempotency.sqlite_write(c, self.events_table_name, write, positions or [])
        return positions

    def stored_answer(self, user: str, key: str, now: datetime) -> StoredAnswer | None:
        """The unexpired answer stored for the user's idempotency key, if any."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                idempotency.sqlite_select(self.events_table_name),
                (user, key, idempotency.sqlite_instant(now)),
            )
            row = c.fetchone()
        return None if row is None else idempotency.answer(tuple(row))
