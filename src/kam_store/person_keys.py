"""The table of each person's data key, and the trigger that destroys it on erasure.

``kam_person_keys`` holds one row per person (a Relationship's id): the person's 256-bit data key
wrapped by the master key (AES-GCM, the person id as associated data, see ``kam_store.crypto``),
the master key's id, and a tombstone (``erased_at``) once the person is erased. A trigger on the
events table destroys the key when a ``Relationship.PersonalDataErased`` event is inserted: the
wrapped key becomes NULL in the same transaction as the event, whatever path inserted it (the
library's recorder, our group-commit functions, a hand-written INSERT). The tombstone stays, so no
new key is ever made for that person; a person erased before this table existed gets a tombstone
when the table is first created (the set-up statements fill it from the erasure events).

On PostgreSQL the trigger function is SECURITY DEFINER (owned by the schema's owner), so the
service's role needs only SELECT and INSERT on the table; ``kam keys rotate`` needs UPDATE.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Composed, Identifier, Literal

from kam_domain.personal import RELATIONSHIP_TOPIC
from kam_store.ddl import create_trigger_if_missing

TABLE = "kam_person_keys"
#: Inserting an event with this topic destroys the person's key (by the trigger).
ERASURE_TOPIC = f"{RELATIONSHIP_TOPIC}.PersonalDataErased"
TRIGGER = "kam_destroy_person_key"


def sqlite_statements(events_table: str) -> list[str]:
    """The table, the trigger, and tombstones for people erased before the table existed."""
    now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    return [
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        "person_id TEXT PRIMARY KEY, wrapped_key BLOB, key_id TEXT, "
        f"created_at TEXT NOT NULL DEFAULT ({now}), erased_at TEXT, "
        "CHECK (wrapped_key IS NOT NULL OR erased_at IS NOT NULL))",
        # Runs once in practice: the guard is false as soon as the table holds a row.
        f"INSERT INTO {TABLE} (person_id, erased_at) "
        f"SELECT DISTINCT originator_id, {now} FROM {events_table} "
        f"WHERE topic = '{ERASURE_TOPIC}' AND NOT EXISTS (SELECT 1 FROM {TABLE}) "
        "ON CONFLICT (person_id) DO NOTHING",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER} AFTER INSERT ON {events_table} "
        f"FOR EACH ROW WHEN NEW.topic = '{ERASURE_TOPIC}' BEGIN "
        f"INSERT INTO {TABLE} (person_id, wrapped_key, erased_at) "
        f"VALUES (NEW.originator_id, NULL, {now}) "
        "ON CONFLICT (person_id) DO UPDATE SET wrapped_key = NULL, "
        "erased_at = coalesce(erased_at, excluded.erased_at); "
        "END",
    ]


def postgres_statements(schema: str, events_table: str) -> list[Composed]:
    """The table, the SECURITY DEFINER trigger function and its trigger, and tombstones for
    people erased before the table existed."""
    names: dict[str, Any] = {
        "schema": Identifier(schema),
        "table": Identifier(TABLE),
        "events": Identifier(events_table),
        "function": Identifier(f"{events_table}_{TRIGGER}"),
        "trigger": Identifier(TRIGGER),
        "topic": Literal(ERASURE_TOPIC),
    }
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
            "person_id uuid PRIMARY KEY, wrapped_key bytea, key_id text, "
            "created_at timestamptz NOT NULL DEFAULT now(), erased_at timestamptz, "
            "CHECK (wrapped_key IS NOT NULL OR erased_at IS NOT NULL))"
        ).format(**names),
        SQL(
            "INSERT INTO {schema}.{table} (person_id, erased_at) "
            "SELECT DISTINCT originator_id, now() FROM {schema}.{events} "
            "WHERE topic = {topic} AND NOT EXISTS (SELECT 1 FROM {schema}.{table}) "
            "ON CONFLICT (person_id) DO NOTHING"
        ).format(**names),
        SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger "
            "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $BODY$ "
            "BEGIN "
            "  INSERT INTO {schema}.{table} AS k (person_id, wrapped_key, erased_at) "
            "    VALUES (NEW.originator_id, NULL, now()) "
            "    ON CONFLICT (person_id) DO UPDATE "
            "    SET wrapped_key = NULL, erased_at = coalesce(k.erased_at, excluded.erased_at); "
            "  RETURN NULL; "
            "END; $BODY$"
        ).format(**names),
        create_trigger_if_missing(
            schema,
            events_table,
            TRIGGER,
            SQL(
                "AFTER INSERT ON {schema}.{events} FOR EACH ROW WHEN (NEW.topic = {topic}) "
                "EXECUTE FUNCTION {schema}.{function}()"
            ).format(**names),
        ),
    ]


@dataclass(frozen=True)
class KeyRow:
    """One person's row: the wrapped key (None once destroyed) and the master key's id."""

    wrapped_key: bytes | None
    key_id: str | None
    erased: bool


class PersonKeyTable:
    """Reads and writes ``kam_person_keys`` (each method its own transaction)."""

    def fetch(self, person_id: UUID) -> KeyRow | None:
        """The person's row, or None if they have none."""
        raise NotImplementedError

    def fetch_many(self, person_ids: Sequence[UUID]) -> dict[UUID, KeyRow]:
        """The rows of those of these people who have one, in one query."""
        raise NotImplementedError

    def insert(self, person_id: UUID, wrapped_key: bytes, key_id: str) -> None:
        """Adds the person's key and commits, unless they have a row already (then nothing)."""
        raise NotImplementedError

    def counts(self) -> tuple[int, int]:
        """(people with a live key, erased people)."""
        raise NotImplementedError

    def live_key_ids(self) -> set[str]:
        """The ids of the master keys that wrap the live keys."""
        raise NotImplementedError

    def rewrap_all(self, rewrap: Callable[[UUID, bytes], bytes], key_id: str) -> int:
        """Replaces every live wrapped key by ``rewrap(person_id, wrapped)`` and its key id by
        ``key_id``, all in one transaction (new keys wait); returns how many."""
        raise NotImplementedError


class SqlitePersonKeys(PersonKeyTable):
    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def fetch(self, person_id: UUID) -> KeyRow | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT wrapped_key, key_id, erased_at FROM {TABLE} WHERE person_id = ?",
                (person_id.hex,),
            )
            row = c.fetchone()
        if row is None:
            return None
        wrapped = None if row[0] is None else bytes(row[0])
        return KeyRow(wrapped, row[1], row[2] is not None)

    def fetch_many(self, person_ids: Sequence[UUID]) -> dict[UUID, KeyRow]:
        found: dict[UUID, KeyRow] = {}
        # SQLite allows at most 32,766 parameters a statement: in slices well below that.
        for start in range(0, len(person_ids), 500):
            ids = [p.hex for p in person_ids[start : start + 500]]
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT person_id, wrapped_key, key_id, erased_at FROM {TABLE} "
                    f"WHERE person_id IN ({', '.join('?' * len(ids))})",
                    ids,
                )
                rows = c.fetchall()
            for person, wrapped, key_id, erased_at in rows:
                found[UUID(str(person))] = KeyRow(
                    None if wrapped is None else bytes(wrapped), key_id, erased_at is not None
                )
        return found

    def insert(self, person_id: UUID, wrapped_key: bytes, key_id: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {TABLE} (person_id, wrapped_key, key_id) VALUES (?, ?, ?) "
                "ON CONFLICT (person_id) DO NOTHING",
                (person_id.hex, wrapped_key, key_id),
            )

    def counts(self) -> tuple[int, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT count(wrapped_key), count(erased_at) FROM {TABLE}",
            )
            row = c.fetchone()
        return int(row[0]), int(row[1])

    def live_key_ids(self) -> set[str]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT DISTINCT key_id FROM {TABLE} WHERE wrapped_key IS NOT NULL")
            return {str(row[0]) for row in c.fetchall()}

    def rewrap_all(self, rewrap: Callable[[UUID, bytes], bytes], key_id: str) -> int:
        # A write transaction from the start (BEGIN IMMEDIATE in effect): no key is added
        # or destroyed while the keys are re-wrapped.
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"UPDATE {TABLE} SET key_id = key_id WHERE person_id IS NULL")
            c.execute(f"SELECT person_id, wrapped_key FROM {TABLE} WHERE wrapped_key IS NOT NULL")
            rows = [(str(r[0]), bytes(r[1])) for r in c.fetchall()]
            for person, wrapped in rows:
                c.execute(
                    f"UPDATE {TABLE} SET wrapped_key = ?, key_id = ? WHERE person_id = ?",
                    (rewrap(UUID(person), wrapped), key_id, person),
                )
        return len(rows)


class PostgresPersonKeys(PersonKeyTable):
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(TABLE))
        self.sql_fetch = SQL(
            "SELECT wrapped_key, key_id, erased_at FROM {} WHERE person_id = %s"
        ).format(table)
        self.sql_fetch_many = SQL(
            "SELECT person_id, wrapped_key, key_id, erased_at FROM {} WHERE person_id = ANY(%s)"
        ).format(table)
        self.sql_insert = SQL(
            "INSERT INTO {} (person_id, wrapped_key, key_id) VALUES (%s, %s, %s) "
            "ON CONFLICT (person_id) DO NOTHING"
        ).format(table)
        self.sql_counts = SQL(
            "SELECT count(wrapped_key) AS k, count(erased_at) AS e FROM {}"
        ).format(table)
        self.sql_key_ids = SQL(
            "SELECT DISTINCT key_id FROM {} WHERE wrapped_key IS NOT NULL"
        ).format(table)
        self.sql_lock = SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(table)
        self.sql_live = SQL(
            "SELECT person_id, wrapped_key FROM {} WHERE wrapped_key IS NOT NULL"
        ).format(table)
        self.sql_update = SQL(
            "UPDATE {} SET wrapped_key = %s, key_id = %s "
            "WHERE person_id = %s AND wrapped_key IS NOT NULL"
        ).format(table)

    def fetch(self, person_id: UUID) -> KeyRow | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.sql_fetch, (person_id,), prepare=True)
            row = curs.fetchone()
        if row is None:
            return None
        wrapped = row["wrapped_key"]
        return KeyRow(
            None if wrapped is None else bytes(wrapped), row["key_id"], row["erased_at"] is not None
        )

    def fetch_many(self, person_ids: Sequence[UUID]) -> dict[UUID, KeyRow]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.sql_fetch_many, (list(person_ids),), prepare=True)
            rows = curs.fetchall()
        found: dict[UUID, KeyRow] = {}
        for row in rows:
            wrapped = row["wrapped_key"]
            found[UUID(str(row["person_id"]))] = KeyRow(
                None if wrapped is None else bytes(wrapped),
                row["key_id"],
                row["erased_at"] is not None,
            )
        return found

    def insert(self, person_id: UUID, wrapped_key: bytes, key_id: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.sql_insert, (person_id, wrapped_key, key_id), prepare=True)

    def counts(self) -> tuple[int, int]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.sql_counts)
            row = curs.fetchone()
        assert row is not None
        return int(row["k"]), int(row["e"])

    def live_key_ids(self) -> set[str]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.sql_key_ids)
            return {str(row["key_id"]) for row in curs.fetchall()}

    def rewrap_all(self, rewrap: Callable[[UUID, bytes], bytes], key_id: str) -> int:
        with self.datastore.transaction(commit=True) as curs:
            # Blocks new keys and erasures (the trigger's upsert) until the commit.
            curs.execute(self.sql_lock)
            curs.execute(self.sql_live)
            rows = [(UUID(str(r["person_id"])), bytes(r["wrapped_key"])) for r in curs.fetchall()]
            for person, wrapped in rows:
                curs.execute(self.sql_update, (rewrap(person, wrapped), key_id, person))
        return len(rows)
