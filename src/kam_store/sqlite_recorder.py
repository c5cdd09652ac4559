"""The SQLite recorder: the library's, plus the store's own tables and triggers
(``kam_store.schema``) and the hash chain written with each event (``kam_store.chain``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from kam_store import chain, schema


class KamSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite application recorder with the statements of ``kam_store.schema``
    added to its set-up, chaining every event it inserts in the same transaction."""

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
        return positions
