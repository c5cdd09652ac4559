"""The SQLite recorder: the library's, plus the store's own tables and triggers
(``kam_store.schema``), on connections that zero deleted content (``secure_delete``)."""

from __future__ import annotations

from typing import Any

from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteConnection, SQLiteDatastore

from kam_store import schema


class KamSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite application recorder with the statements of ``kam_store.schema``
    added to its set-up, and ``PRAGMA secure_delete=ON`` on each of its connections, so a
    destroyed person key's bytes are overwritten in the file, not left in a free page."""

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
