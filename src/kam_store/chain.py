"""The hash chain over the event log: tamper evidence written with each event.

Every stored event gets one chain entry, in the same transaction as the event, in the table
``<events table>_chain (seq, position, hash)``:

- ``seq`` is the entry's number, 1, 2, 3 ... with no gaps (notification ids, ``position``, may
  have gaps on PostgreSQL: a group commit that conflicted is redone under new ids). The Merkle
  tree's leaf ``seq - 1`` is this entry, so the tree size is the number of entries.
- ``hash`` is ``hash_seq = SHA-256(hash_{seq-1} || entry)`` with ``hash_0`` = 32 zero bytes, and

  ``entry = be64(position) || originator_id (16 bytes, the UUID's bytes) || be64(version)
  || be32(len(topic)) || topic (UTF-8) || be32(len(state)) || state``

  where ``be64``/``be32`` are big-endian two's-complement integers of 8 and 4 bytes and
  ``state`` is the event's stored state bytes exactly as the table holds them (compressed or
  encrypted, if they are). Every variable field is length-prefixed, so no two different
  events encode alike.
- The Merkle leaf data of an entry is its 32-byte ``hash`` (leaf hash ``SHA-256(0x00 || hash)``),
  so a signed tree head commits to every event and to the order of the whole log.

Where it is written:

- **PostgreSQL**: an ``AFTER INSERT ... FOR EACH STATEMENT`` trigger on the events table
  (``REFERENCING NEW TABLE``) chains the statement's new rows in notification-id order from the
  last entry, with the server's ``sha256()``. Every insert path fires it: our group-commit
  functions and the library's own insert. Writers are serialised by the events-table
  ``EXCLUSIVE`` lock every insert path takes, and ``seq`` being the primary key means a writer
  that somehow skipped the lock fails instead of forking the chain. Rows of the chain table are
  only ever inserted.
- **SQLite**: ``KamSQLiteApplicationRecorder._insert_events`` computes the same hashes in Python
  with the cursor that inserted the events (one transaction; SQLite has a single writer).
- **A store older than the chain**: at set-up, if the chain is empty and the store holds events,
  they are chained in log order then. The chain proves nothing about what happened to those
  events before that moment; a checkpoint signed right after the upgrade fixes them from then on.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from psycopg.sql import SQL, Composed, Identifier

from kam_store.ddl import create_trigger_if_missing

GENESIS = bytes(32)
_HEAD = struct.Struct(">q16sqI")
_LENGTH = struct.Struct(">I")


def checkpoint_table(events_table: str) -> str:
    """The table of the signed checkpoints the service has handed out (one per tree size)."""
    return f"{events_table}_checkpoints"


def chain_table(events_table: str) -> str:
    """The chain table's name beside the events table."""
    return f"{events_table}_chain"


def entry_bytes(
    position: int, originator_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """The encoding of one event that its chain hash covers (see the module docstring)."""
    encoded_topic = topic.encode("utf-8")
    return b"".join(
        (
            _HEAD.pack(position, originator_id.bytes, version, len(encoded_topic)),
            encoded_topic,
            _LENGTH.pack(len(state)),
            state,
        )
    )


def chain_hash(
    previous: bytes, position: int, originator_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """``SHA-256(previous || entry)``."""
    return hashlib.sha256(
        previous + entry_bytes(position, originator_id, version, topic, state)
    ).digest()


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    position: int
    hash: bytes


# --- SQLite --------------------------------------------------------------------------------------


def sqlite_statements(events_table: str) -> list[str]:
    """The chain table and the checkpoint table (idempotent)."""
    table = chain_table(events_table)
    return [
        f"CREATE TABLE IF NOT EXISTS {table} (seq INTEGER PRIMARY KEY, "
        "position INTEGER NOT NULL UNIQUE, hash BLOB NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {checkpoint_table(events_table)} "
        "(tree_size INTEGER PRIMARY KEY, note TEXT NOT NULL)",
    ]


def sqlite_append(
    cursor: object,
    events_table: str,
    positions: Sequence[int],
    events: Sequence[tuple[UUID | str, int, str, bytes]],
) -> None:
    """Chains just-inserted events (``(originator_id, version, topic, state)`` in insertion
    order, at ``positions``) with the cursor that inserted them."""
    table = chain_table(events_table)
    cursor.execute(f"SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1")  # type: ignore[attr-defined]
    row = cursor.fetchone()  # type: ignore[attr-defined]
    seq, previous = (0, GENESIS) if row is None else (int(row[0]), bytes(row[1]))
    rows = []
    for position, (originator_id, version, topic, state) in zip(positions, events, strict=True):
        uuid = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        previous = chain_hash(previous, position, uuid, version, topic, state)
        seq += 1
        rows.append((seq, position, previous))
    cursor.executemany(  # type: ignore[attr-defined]
        f"INSERT INTO {table} (seq, position, hash) VALUES (?, ?, ?)", rows
    )


def sqlite_backfill(cursor: object, events_table: str) -> None:
    """Chains the events stored before the chain existed (a store made by an earlier version),
    if the chain is empty: at set-up, in its transaction."""
    table = chain_table(events_table)
    cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")  # type: ignore[attr-defined]
    if cursor.fetchone() is not None:  # type: ignore[attr-defined]
        return
    cursor.execute(  # type: ignore[attr-defined]
        f"SELECT rowid, originator_id, originator_version, topic, state FROM {events_table} "
        "ORDER BY rowid"
    )
    rows = cursor.fetchall()  # type: ignore[attr-defined]
    if rows:
        sqlite_append(
            cursor, events_table, [r[0] for r in rows], [(r[1], r[2], r[3], r[4]) for r in rows]
        )


# --- PostgreSQL ----------------------------------------------------------------------------------


def postgres_statements(schema: str, events_table: str) -> list[Composed]:
    """The chain table, the function that chains a statement's new events, and its trigger
    (idempotent)."""
    names = {
        "schema": Identifier(schema),
        "events": Identifier(events_table),
        "chain": Identifier(chain_table(events_table)),
        "function": Identifier(f"{events_table}_chain_append"),
        "trigger": Identifier(f"{events_table}_chain_append"),
    }
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {schema}.{chain} (seq bigint PRIMARY KEY, "
            "position bigint NOT NULL UNIQUE, "
            "hash bytea NOT NULL CHECK (octet_length(hash) = 32))"
        ).format(**names),
        SQL(
            "CREATE TABLE IF NOT EXISTS {schema}.{checkpoints} "
            "(tree_size bigint PRIMARY KEY, note text NOT NULL)"
        ).format(checkpoints=Identifier(checkpoint_table(events_table)), **names),
        SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger "
            "LANGUAGE plpgsql AS $BODY$ "
            "DECLARE p_seq bigint; p_previous bytea; p_topic bytea; r record; "
            "  p_seqs bigint[] := '{{}}'; p_positions bigint[] := '{{}}'; "
            "  p_hashes bytea[] := '{{}}'; "
            "BEGIN "
            "  SELECT c.seq, c.hash INTO p_seq, p_previous FROM {schema}.{chain} c "
            "    ORDER BY c.seq DESC LIMIT 1; "
            "  IF p_seq IS NULL THEN "
            "    p_seq := 0; p_previous := decode(repeat('00', 32), 'hex'); "
            "  END IF; "
            "  FOR r IN SELECT n.notification_id, n.originator_id, n.originator_version, "
            "      n.topic, n.state FROM kam_new_events n ORDER BY n.notification_id LOOP "
            "    p_topic := convert_to(r.topic, 'UTF8'); "
            "    p_previous := sha256(p_previous || int8send(r.notification_id) "
            "      || uuid_send(r.originator_id) || int8send(r.originator_version::bigint) "
            "      || int4send(octet_length(p_topic)) || p_topic "
            "      || int4send(octet_length(r.state)) || r.state); "
            "    p_seq := p_seq + 1; "
            "    p_seqs := p_seqs || p_seq; "
            "    p_positions := p_positions || r.notification_id; "
            "    p_hashes := p_hashes || p_previous; "
            "  END LOOP; "
            "  INSERT INTO {schema}.{chain} (seq, position, hash) "
            "    SELECT * FROM unnest(p_seqs, p_positions, p_hashes); "
            "  RETURN NULL; "
            "END; $BODY$"
        ).format(**names),
        create_trigger_if_missing(
            schema,
            events_table,
            f"{events_table}_chain_append",
            SQL(
                "AFTER INSERT ON {schema}.{events} "
                "REFERENCING NEW TABLE AS kam_new_events FOR EACH STATEMENT "
                "EXECUTE FUNCTION {schema}.{function}()"
            ).format(**names),
        ),
        # A store made before the chain existed: its events are chained once, at set-up, in
        # log order, under the lock every writer takes.
        SQL(
            "DO $BODY$ "
            "DECLARE p_seq bigint := 0; p_previous bytea := decode(repeat('00', 32), 'hex'); "
            "  p_topic bytea; r record; "
            "BEGIN "
            "  IF EXISTS (SELECT 1 FROM {schema}.{chain}) "
            "    OR NOT EXISTS (SELECT 1 FROM {schema}.{events}) THEN RETURN; END IF; "
            "  LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE; "
            "  IF EXISTS (SELECT 1 FROM {schema}.{chain}) THEN RETURN; END IF; "
            "  FOR r IN SELECT e.notification_id, e.originator_id, e.originator_version, "
            "      e.topic, e.state FROM {schema}.{events} e ORDER BY e.notification_id LOOP "
            "    p_topic := convert_to(r.topic, 'UTF8'); "
            "    p_previous := sha256(p_previous || int8send(r.notification_id) "
            "      || uuid_send(r.originator_id) || int8send(r.originator_version::bigint) "
            "      || int4send(octet_length(p_topic)) || p_topic "
            "      || int4send(octet_length(r.state)) || r.state); "
            "    p_seq := p_seq + 1; "
            "    INSERT INTO {schema}.{chain} (seq, position, hash) "
            "      VALUES (p_seq, r.notification_id, p_previous); "
            "  END LOOP; "
            "END $BODY$"
        ).format(**names),
    ]
