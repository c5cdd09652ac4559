"""The event store's own tables, functions and triggers beside the library's tables.

Each feature of the store contributes the statements it needs; the recorders run them after the
library's ``CREATE TABLE`` statements, in one set-up transaction. This module only collects them,
so each feature's SQL stays in that feature's module.
"""

from __future__ import annotations

from psycopg.sql import Composed

from kam_store import chain, idempotency, person_keys
from kam_store.append_only import postgres_append_only, sqlite_append_only


def sqlite_statements(events_table: str) -> list[str]:
    """Statements run after the library's SQLite tables are created (idempotent)."""
    statements: list[str] = []
    statements.extend(chain.sqlite_statements(events_table))
    statements.extend(person_keys.sqlite_statements(events_table))
    statements.extend(idempotency.sqlite_statements(events_table))
    statements.extend(sqlite_append_only(events_table))
    statements.extend(sqlite_append_only(chain.chain_table(events_table)))
    statements.extend(sqlite_append_only(chain.checkpoint_table(events_table)))
    return statements


def postgres_statements(schema: str, events_table: str) -> list[Composed]:
    """Statements run after the library's PostgreSQL tables are created (idempotent)."""
    statements: list[Composed] = []
    statements.extend(chain.postgres_statements(schema, events_table))
    statements.extend(person_keys.postgres_statements(schema, events_table))
    statements.extend(idempotency.postgres_statements(schema, events_table))
    statements.extend(postgres_append_only(schema, events_table))
    statements.extend(postgres_append_only(schema, chain.chain_table(events_table)))
    statements.extend(postgres_append_only(schema, chain.checkpoint_table(events_table)))
    return statements
