"""The SQLite recorder: the library's, plus the store's own tables and triggers
(``kam_store.schema``)."""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteApplicationRecorder

from kam_store import schema


class KamSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite application recorder with the statements of ``kam_store.schema``
    added to its set-up."""

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.extend(schema.sqlite_statements(self.events_table_name))
        return statements
