"""Verifies the ledger from the database alone: re-hashes every event, checks each stored chain
hash, that entries are numbered without gaps and pair one to one with the events, and checks a
signed checkpoint against the tree rebuilt from the log. Needs no server::

    python -m kam_store.verifier --database-url URL [--checkpoint FILE --public-key FILE]

Exits 0 when everything verifies, 1 at the first problem (printing its position), 2 on bad
arguments. ``kam verify`` and the API's ledger share this code (``ChainVerifier``, ``LogReader``).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Identifier

from kam_store.chain import GENESIS, ChainEntry, chain_hash, chain_table, checkpoint_table
from kam_store.checkpoint import Checkpoint, CheckpointError, VerifierKey, parse_checkpoint
from kam_store.merkle import MerkleTree, leaf_hash
from kam_store.url import DatabaseURL, PostgresTarget

#: Events read per round trip.
BATCH = 5000

#: (position, originator id, version, topic, state)
EventRow = tuple[int, UUID, int, str, bytes]


def events_table_for(database: DatabaseURL) -> str:
    """The events table the service uses on this database (``kam_store.env``)."""
    return "kam_events" if database.is_postgres else "stored_events"


@dataclass(frozen=True)
class Problem:
    """The first thing that does not verify."""

    position: int
    message: str

    def __str__(self) -> str:
        return f"position {self.position}: {self.message}"


class ChainVerifier:
    """Checks chain entries against events, in order, extending a Merkle tree over the entries
    that verify. Feed it more as the log grows; it stops at the first problem."""

    def __init__(self, *, after_seq: int = 0, head: bytes = GENESIS) -> None:
        """Starts at genesis, or (to check only a tail) after entry ``after_seq`` whose hash is
        ``head``; the tree then covers only the entries fed."""
        self.tree = MerkleTree()
        self.positions: array[int] = array("q")
        self.head = head
        self.problem: Problem | None = None
        self.after_seq = after_seq

    @property
    def size(self) -> int:
        return self.tree.size

    @property
    def last_position(self) -> int:
        return self.positions[-1] if self.positions else 0

    def index_of(self, position: int) -> int | None:
        """The leaf index of the entry at ``position``, if it verified."""
        index = bisect_left(self.positions, position)
        if index < len(self.positions) and self.positions[index] == position:
            return index
        return None

    def feed(self, entries: Sequence[ChainEntry], events: Iterable[EventRow]) -> None:
        """Checks the entries after ``size`` (by ``seq``) against the events after
        ``last_position`` (by position); both must cover the same span of the log."""
        if self.problem is not None:
            return
        tree, positions = self.tree, self.positions
        previous, expected = self.head, self.after_seq + self.size + 1
        i, count = 0, len(entries)
        for position, originator_id, version, topic, state in events:
            if i < count and entries[i].position < position:
                self._fail(entries[i].position, "the event is missing (its chain entry remains)")
                break
            if i == count or entries[i].position != position:
                self._fail(position, "the event has no chain entry (inserted past the chain?)")
                break
            entry = entries[i]
            if entry.seq != expected:
                self._fail(
                    position,
                    f"chain entry {entry.seq} follows entry {expected - 1}: entries are missing",
                )
                break
            hashed = chain_hash(previous, position, originator_id, version, topic, state)
            if hashed != entry.hash:
                self._fail(
                    position,
                    "the stored chain hash does not match the event: the event (or one "
                    "before it) was altered, removed or reordered",
                )
                break
            tree.append_hash(leaf_hash(hashed))
            positions.append(position)
            previous = hashed
            expected += 1
            i += 1  # noqa: SIM113 (also counts the entries after the loop)
        else:
            if i < count:
                self._fail(entries[i].position, "the event is missing (its chain entry remains)")
        self.head = previous

    def _fail(self, position: int, message: str) -> None:
        self.problem = Problem(position, message)

    def check_checkpoint(self, checkpoint: Checkpoint) -> Problem | None:
        """Whether the verified log holds the checkpoint's tree (None if it does)."""
        if checkpoint.size > self.size:
            if self.problem is not None:
                return self.problem
            return Problem(
                self.last_position + 1,
                f"the log ends at entry {self.size} (position {self.last_position}) but the "
                f"checkpoint covers {checkpoint.size} entries up to position "
                f"{checkpoint.position}: the entries after position {self.last_position} "
                "were removed (the log was truncated)",
            )
        if checkpoint.size == 0:
            return None
        index = checkpoint.size - 1
        if (
            self.tree.root(checkpoint.size) != checkpoint.root
            or self.positions[index] != checkpoint.position
        ):
            return Problem(
                checkpoint.position,
                f"the log's tree of {checkpoint.size} entries does not have the checkpoint's "
                "root: the log was rewritten up to this position",
            )
        return None


class LogReader:
    """Reads the chain and the events of one store, in one consistent snapshot."""

    def __init__(
        self,
        chain: Callable[[int], list[ChainEntry]],
        events: Callable[[int], Iterator[EventRow]],
        last_seq: Callable[[], int],
        checkpoints: Callable[[], list[str]],
    ) -> None:
        self.chain = chain  # the entries after a seq
        self.events = events  # the events after a position
        self.last_seq = last_seq  # the number of the last entry (0 if none)
        self.checkpoints = checkpoints  # the stored signed checkpoints, by tree size


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


@contextmanager
def open_reader(database: DatabaseURL, events_table: str | None = None) -> Iterator[LogReader]:
    """A reader over the store at ``database`` in one read-only snapshot."""
    table = events_table or events_table_for(database)
    target = database.target
    if isinstance(target, PostgresTarget):
        with _postgres_reader(target, table) as reader:
            yield reader
    else:
        with _sqlite_reader(target.events_dbname, table) as reader:
            yield reader


@contextmanager
def _postgres_reader(target: PostgresTarget, table: str) -> Iterator[LogReader]:
    schema = Identifier(target.schema or "public")
    chain_sql = SQL(
        "SELECT seq, position, hash FROM {schema}.{chain} WHERE seq > %s ORDER BY seq"
    ).format(schema=schema, chain=Identifier(chain_table(table)))
    events_sql = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM {schema}.{table} WHERE notification_id > %s ORDER BY notification_id"
    ).format(schema=schema, table=Identifier(table))
    last_sql = SQL("SELECT coalesce(max(seq), 0) FROM {schema}.{chain}").format(
        schema=schema, chain=Identifier(chain_table(table))
    )
    checkpoints_sql = SQL("SELECT note FROM {schema}.{checkpoints} ORDER BY tree_size").format(
        schema=schema, checkpoints=Identifier(checkpoint_table(table))
    )
    with psycopg.connect(target.conninfo, connect_timeout=10) as conn:
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():

            def chain(after: int) -> list[ChainEntry]:
                rows = conn.execute(chain_sql, (after,)).fetchall()
                return [ChainEntry(int(s), int(p), bytes(h)) for s, p, h in rows]

            def events(after: int) -> Iterator[EventRow]:
                with conn.cursor(name="kam_verify_events") as cursor:
                    cursor.itersize = BATCH
                    cursor.execute(events_sql, (after,))
                    while rows := cursor.fetchmany(BATCH):
                        for position, originator_id, version, topic, state in rows:
                            yield position, _uuid(originator_id), version, topic, bytes(state)

            def last_seq() -> int:
                row = conn.execute(last_sql).fetchone()
                return int(row[0]) if row else 0

            def checkpoints() -> list[str]:
                return [str(row[0]) for row in conn.execute(checkpoints_sql).fetchall()]

            yield LogReader(chain, events, last_seq, checkpoints)


@contextmanager
def _sqlite_reader(dbname: str, table: str) -> Iterator[LogReader]:
    if dbname.startswith("file:"):
        conn = sqlite3.connect(dbname, uri=True, check_same_thread=False)
    else:
        if not Path(dbname).exists():
            raise FileNotFoundError(f"no SQLite database at {dbname}")
        conn = sqlite3.connect(f"file:{dbname}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute("BEGIN")
        chain_sql = (
            f"SELECT seq, position, hash FROM {chain_table(table)} WHERE seq > ? ORDER BY seq"
        )
        events_sql = (
            # The library's SQLite application recorder numbers events by rowid.
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {table} WHERE rowid > ? ORDER BY rowid"
        )

        def chain(after: int) -> list[ChainEntry]:
            rows = conn.execute(chain_sql, (after,)).fetchall()
            return [ChainEntry(int(s), int(p), bytes(h)) for s, p, h in rows]

        def events(after: int) -> Iterator[EventRow]:
            cursor = conn.execute(events_sql, (after,))
            while rows := cursor.fetchmany(BATCH):
                for position, originator_id, version, topic, state in rows:
                    yield position, _uuid(originator_id), version, topic, bytes(state)

        def last_seq() -> int:
            row = conn.execute(f"SELECT coalesce(max(seq), 0) FROM {chain_table(table)}").fetchone()
            return int(row[0]) if row else 0

        def checkpoints() -> list[str]:
            rows = conn.execute(
                f"SELECT note FROM {checkpoint_table(table)} ORDER BY tree_size"
            ).fetchall()
            return [str(row[0]) for row in rows]

        yield LogReader(chain, events, last_seq, checkpoints)
    finally:
        conn.close()


def store_checkpoint(database: DatabaseURL, events_table: str, size: int, note: str) -> None:
    """Keeps a signed checkpoint the service handed out (the first one of each tree size), so
    ``kam verify`` checks it again later: a log cut back below it then shows."""
    table = checkpoint_table(events_table)
    target = database.target
    if isinstance(target, PostgresTarget):
        statement = SQL(
            "INSERT INTO {schema}.{table} (tree_size, note) VALUES (%s, %s) "
            "ON CONFLICT (tree_size) DO NOTHING"
        ).format(schema=Identifier(target.schema or "public"), table=Identifier(table))
        with psycopg.connect(target.conninfo, connect_timeout=10, autocommit=True) as pg:
            pg.execute(statement, (size, note))
        return
    dbname = target.events_dbname
    lite = sqlite3.connect(dbname, uri=dbname.startswith("file:"), timeout=10)
    try:
        with lite:
            lite.execute(
                f"INSERT OR IGNORE INTO {table} (tree_size, note) VALUES (?, ?)", (size, note)
            )
    finally:
        lite.close()


def verify_log(
    database: DatabaseURL,
    *,
    events_table: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ChainVerifier:
    """Verifies the whole log of the store at ``database``; the verifier holds the outcome."""
    return _verify_log(database, events_table, progress)[0]


def _verify_log(
    database: DatabaseURL,
    events_table: str | None,
    progress: Callable[[int], None] | None,
) -> tuple[ChainVerifier, list[str]]:
    """The verified log and the checkpoints stored with it, read in the same snapshot (a
    checkpoint stored meanwhile would otherwise look like a truncation)."""
    verifier = ChainVerifier()
    with open_reader(database, events_table) as reader:
        stored = reader.checkpoints()
        entries = reader.chain(0)
        events = reader.events(0)
        try:
            verifier.feed(entries, events if progress is None else _reporting(events, progress))
        finally:
            events.close()  # type: ignore[attr-defined]
    return verifier, stored


def _reporting(events: Iterable[EventRow], progress: Callable[[int], None]) -> Iterator[EventRow]:
    n = 0
    for event in events:
        yield event
        n += 1
        if n % BATCH == 0:
            progress(BATCH)
    progress(n % BATCH)


@dataclass
class Outcome:
    """What a verification found: the verified log and the first problem, if any."""

    verifier: ChainVerifier
    problem: Problem | None
    checkpoint: Checkpoint | None = None
    #: Stored checkpoints checked (signature and root), and stored but not checked (no key).
    stored_checked: int = 0
    stored_unchecked: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None

    def lines(self) -> list[str]:
        """What to print: how far the log verified, then the checkpoint or the first problem."""
        v = self.verifier
        out = [f"verified {v.size} entries up to position {v.last_position}"]
        if self.problem is not None:
            out.append(f"FIRST BAD POSITION {self.problem.position}: {self.problem.message}")
            return out
        if self.stored_checked:
            out.append(f"{self.stored_checked} stored checkpoints checked")
        if self.stored_unchecked:
            out.append(
                f"{self.stored_unchecked} stored checkpoints not checked: no public key "
                "(give --public-key)"
            )
        if self.checkpoint is not None:
            c = self.checkpoint
            out.append(f"checkpoint of {c.size} entries (position {c.position}) checked")
        return out


def verify(
    database: DatabaseURL,
    *,
    checkpoint_text: str | None = None,
    key: VerifierKey | None = None,
    events_table: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Verifies the log, the checkpoints stored with it (when ``key`` is known: each must be
    signed by it and match the log's tree at its size) and, if given, a checkpoint signed by
    ``key``."""
    checkpoint = None
    if checkpoint_text is not None:
        if key is None:
            raise ValueError("a checkpoint needs the public key to check it with")
        try:
            checkpoint = parse_checkpoint(checkpoint_text, key)
        except CheckpointError as error:
            verifier = verify_log(database, events_table=events_table, progress=progress)
            refused = verifier.problem or Problem(
                _claimed_position(checkpoint_text), f"checkpoint refused: {error}"
            )
            return Outcome(verifier, refused)
    verifier, stored = _verify_log(database, events_table, progress)
    problem = verifier.problem
    if problem is not None:
        return Outcome(verifier, problem, checkpoint)
    if key is None:
        return Outcome(verifier, None, checkpoint, stored_unchecked=len(stored))
    for text in stored:
        problem = _check_stored(verifier, text, key)
        if problem is not None:
            return Outcome(verifier, problem, checkpoint)
    if checkpoint is not None:
        problem = verifier.check_checkpoint(checkpoint)
    return Outcome(verifier, problem, checkpoint, stored_checked=len(stored))


def _check_stored(verifier: ChainVerifier, text: str, key: VerifierKey) -> Problem | None:
    """A stored checkpoint must be signed by ``key`` and hold for the verified log."""
    try:
        stored = parse_checkpoint(text, key)
    except CheckpointError as error:
        return Problem(_claimed_position(text), f"stored checkpoint refused: {error}")
    problem = verifier.check_checkpoint(stored)
    if problem is None:
        return None
    return Problem(
        problem.position, f"stored checkpoint of {stored.size} entries: {problem.message}"
    )


def _claimed_position(text: str) -> int:
    """The position a (refused) checkpoint claims, or 0 if it names none."""
    for line in text.splitlines():
        if line.startswith("position "):
            try:
                return int(line.split(" ", 1)[1])
            except ValueError:
                return 0
    return 0


def read_verifier_key(path: Path) -> VerifierKey:
    """A verifier key file (``name+id+base64``, as ``GET /ledger/public-key`` gives it)."""
    return VerifierKey.parse(path.read_text(encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kam_store.verifier", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--database-url", required=True, help="sqlite:///path or postgresql://")
    parser.add_argument("--checkpoint", type=Path, help="a signed checkpoint to check")
    parser.add_argument("--public-key", type=Path, help="the verifier key file")
    args = parser.parse_args(argv)
    if args.checkpoint is not None and args.public_key is None:
        parser.error("--checkpoint needs --public-key")
    try:
        database = DatabaseURL.parse(args.database_url)
        key = read_verifier_key(args.public_key) if args.public_key else None
        text = args.checkpoint.read_text(encoding="utf-8") if args.checkpoint else None
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    outcome = verify(database, checkpoint_text=text, key=key)
    for line in outcome.lines():
        print(line)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
