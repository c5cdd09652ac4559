"""The idempotency keys' table: each key's stored answer, written with the command's events.

One row per (user, key): the command's fingerprint and its answer (aggregate id, version, log
position, entity id) and when it expires. The recorders write the row in the transaction that
inserts the command's events (``kam_domain.idempotency.IdempotentWrite`` passed to
``insert_events`` as ``idempotency=``), so the answer exists exactly when the events do; the
primary key makes a second commit of the same key fail, events and all.

Expired rows are deleted by the same transaction that writes a new key (an indexed range
delete on ``expires_at``: nothing to do costs one index probe), so the table holds about a
day's keys without a separate job, and a key reused after it expired is free again. A look-up
ignores expired rows that no write has deleted yet.

On PostgreSQL the rows are written and purged by the insert functions, which run as the
table's owner (SECURITY DEFINER), so the service's role needs only SELECT and INSERT here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.sqlite import SQLiteCursor
from psycopg.sql import SQL, Composed, Identifier

from kam_domain.commands.base import CommandResult
from kam_domain.idempotency import IdempotentWrite, StoredAnswer

_COLUMNS = "user_name, idem_key, fingerprint, aggregate_id, version, entity_id, position"


def table_name(events_table: str) -> str:
    """The keys' table beside an events table: ``kam_events`` -> ``kam_events_idempotency``."""
    return f"{events_table}_idempotency"


def sqlite_instant(at: datetime) -> str:
    """An instant as SQLite stores it here: UTC, fixed width, so text order is time order."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sqlite_statements(events_table: str) -> list[str]:
    table = table_name(events_table)
    return [
        f"CREATE TABLE IF NOT EXISTS {table} ("
        "user_name TEXT NOT NULL, idem_key TEXT NOT NULL, fingerprint TEXT NOT NULL, "
        "aggregate_id TEXT NOT NULL, version INTEGER NOT NULL, entity_id TEXT, "
        "position INTEGER NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, "
        "PRIMARY KEY (user_name, idem_key))",
        f"CREATE INDEX IF NOT EXISTS {table}_expires ON {table} (expires_at)",
    ]


def sqlite_write(
    c: SQLiteCursor, events_table: str, write: IdempotentWrite, positions: Sequence[int]
) -> None:
    """Purges expired keys and stores this one, in the caller's (the events') transaction; a
    key already stored raises the store's ``IntegrityError``, rolling the events back."""
    table, claim = table_name(events_table), write.claim
    c.execute(f"DELETE FROM {table} WHERE expires_at < ?", (sqlite_instant(claim.now),))
    c.execute(
        f"INSERT INTO {table} ({_COLUMNS}, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            claim.user,
            claim.key,
            claim.fingerprint,
            str(write.aggregate_id),
            write.version,
            None if write.entity_id is None else str(write.entity_id),
            max(positions, default=0),
            sqlite_instant(claim.now),
            sqlite_instant(claim.expires_at),
        ),
    )


def sqlite_select(events_table: str) -> str:
    return (
        f"SELECT {_COLUMNS} FROM {table_name(events_table)} "
        "WHERE user_name = ? AND idem_key = ? AND expires_at >= ?"
    )


def postgres_statements(schema: str, events_table: str) -> list[Composed]:
    names = {
        "table": SQL("{}.{}").format(Identifier(schema), Identifier(table_name(events_table))),
        "index": Identifier(f"{table_name(events_table)}_expires"),
    }
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {table} ("
            "user_name text NOT NULL, idem_key text NOT NULL, fingerprint text NOT NULL, "
            "aggregate_id uuid NOT NULL, version bigint NOT NULL, entity_id uuid, "
            "position bigint NOT NULL, created_at timestamptz NOT NULL, "
            "expires_at timestamptz NOT NULL, PRIMARY KEY (user_name, idem_key))"
        ).format(**names),
        SQL("CREATE INDEX IF NOT EXISTS {index} ON {table} (expires_at)").format(**names),
    ]


def postgres_insert_keys(schema: str, events_table: str) -> dict[str, Composed]:
    """The insert functions' statements for the keys, as SQL fragments over ``p_payload``:
    ``purge`` deletes expired keys, ``insert_all`` stores every key of the batch (their
    positions from ``p_out``, the batch's ids in event order), ``insert_group`` the key of
    group ``g`` (its ids in ``p_out``)."""
    table = SQL("{}.{}").format(Identifier(schema), Identifier(table_name(events_table)))
    values = SQL(
        "k->>'user', k->>'key', k->>'fingerprint', (k->>'aggregate_id')::uuid, "
        "(k->>'version')::bigint, (k->>'entity_id')::uuid, "
        "coalesce({position}, 0), (k->>'now')::timestamptz, (k->>'expires_at')::timestamptz"
    )
    insert = SQL("INSERT INTO {table} ({columns}, created_at, expires_at) ").format(
        table=table, columns=SQL(_COLUMNS)
    )
    return {
        "purge": SQL(
            "DELETE FROM {table} WHERE expires_at < (p_payload->>'now')::timestamptz; "
        ).format(table=table),
        "insert_all": insert
        + SQL("SELECT ")
        + values.format(position=SQL("p_out[(k->>'last')::int]"))
        + SQL(
            " FROM jsonb_array_elements(p_payload->'keys') AS y(k) "
            "WHERE jsonb_typeof(k) = 'object'; "
        ),
        "insert_group": SQL("k := p_payload->'keys'->(g - 1); IF jsonb_typeof(k) = 'object' THEN ")
        + insert
        + SQL("SELECT ")
        + values.format(position=SQL("p_out[array_upper(p_out, 1)]"))
        + SQL("; END IF; "),
    }


def postgres_select(schema: str, events_table: str) -> Composed:
    return SQL(
        "SELECT {columns} FROM {table} WHERE user_name = %s AND idem_key = %s AND expires_at >= %s"
    ).format(
        columns=SQL(_COLUMNS),
        table=SQL("{}.{}").format(Identifier(schema), Identifier(table_name(events_table))),
    )


def payload_entry(write: IdempotentWrite | None, last: int) -> dict[str, Any] | None:
    """A key as the PostgreSQL insert functions read it; ``last``: the 1-based index of the
    group's last event in the batch (its position), 0 when the group has no events."""
    if write is None:
        return None
    claim = write.claim
    return {
        "user": claim.user,
        "key": claim.key,
        "fingerprint": claim.fingerprint,
        "aggregate_id": str(write.aggregate_id),
        "version": write.version,
        "entity_id": None if write.entity_id is None else str(write.entity_id),
        "now": claim.now.isoformat(),
        "expires_at": claim.expires_at.isoformat(),
        "last": last,
    }


def answer(row: Sequence[Any]) -> StoredAnswer:
    """A selected row (``_COLUMNS`` order) as the stored answer."""
    _user, _key, fingerprint, aggregate_id, version, entity_id, position = row
    return StoredAnswer(
        fingerprint=str(fingerprint),
        result=CommandResult(
            id=UUID(str(aggregate_id)),
            version=int(version),
            position=int(position),
            entity_id=None if entity_id is None else UUID(str(entity_id)),
        ),
    )
