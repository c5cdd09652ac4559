"""Machinery shared by the read models: the decoded event, cached tables, the model base.

A read model applies events to rows held in memory and writes the changed rows back in bulk
(one ``executemany`` per table) in the projector's transaction, together with the tracking
position. The projector is the only writer of these tables, so rows it has read or written stay
valid in memory across batches; the cache is dropped whenever a transaction fails or the
tables are swapped by a rebuild, so it never holds anything uncommitted or foreign.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from kam_domain.dates import event_fact_time
from kam_domain.values import Envelope
from kam_projections.db import Dialect, Row, Tx
from kam_projections.events import EventClass
from kam_store.bounded_cache import BoundedCache


@dataclass(frozen=True)
class Event:
    """One stored event as the read models see it (derived fields computed once, in decode)."""

    position: int
    name: str  # "KeyAccount.Classified"
    aggregate_id: UUID
    version: int
    recorded_at: datetime
    data: dict[str, Any]
    cls: EventClass  # the domain event class, e.g. KeyAccount.Classified: what tables key on
    aggregate_type: str = field(init=False)
    event_type: str = field(init=False)
    meta: Envelope | None = field(init=False)
    actor: str = field(init=False)
    occurred_at: datetime = field(init=False)

    def __post_init__(self) -> None:
        aggregate_type, _, event_type = self.name.partition(".")
        meta = self.data.get("meta")
        meta = meta if isinstance(meta, Envelope) else None
        set_ = object.__setattr__
        set_(self, "aggregate_type", aggregate_type)
        set_(self, "event_type", event_type)
        set_(self, "meta", meta)
        set_(self, "actor", meta.actor if meta else "system")
        # When it happened in the world: the one rule of kam_domain.dates.
        set_(self, "occurred_at", event_fact_time(self.name, self.data, self.recorded_at))

    @property
    def day(self) -> date:
        return self.occurred_at.date()


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


#: Rows a table keeps in memory between batches by default (``KAM_PROJECTOR_ROW_CACHE_SIZE``).
ROW_CACHE_SIZE = 20_000


class Table:
    """A table with a write-back row cache: the ``max_cached`` rows most recently used stay in
    memory after a commit (a batch may hold more until then). Keys are tuples of the key
    columns' values."""

    def __init__(
        self,
        name: str,
        key: Sequence[str],
        columns: Sequence[str],
        *,
        max_cached: int = ROW_CACHE_SIZE,
    ) -> None:
        self.name = name
        self.key = tuple(key)
        self.columns = tuple(columns)
        self.suffix = ""
        #: A rebuild's table: it started empty and only this process writes it.
        self.assume_empty = False
        #: In a rebuild, every row written is still cached, so a miss is a row that does not
        #: exist and needs no query. True until the bound first evicts a row; from then on a
        #: miss is read from the table, as the live projector reads it.
        self._complete = False
        self._rows: BoundedCache[tuple[Any, ...], Row | None] = BoundedCache(
            f"projector_rows_{name}", max_cached, evict_on_put=False
        )
        self._dirty: set[tuple[Any, ...]] = set()
        #: In a rebuild: keys put in this batch that had no row, so they can be COPYed.
        self._new: set[tuple[Any, ...]] = set()

    @property
    def table(self) -> str:
        return self.name + self.suffix

    def start(self, suffix: str, *, empty: bool) -> None:
        """Writes to ``name + suffix`` from now on, with nothing cached; ``empty``: a rebuild's
        fresh table, which only this process writes."""
        self.forget()
        self.suffix = suffix
        self.assume_empty = self._complete = empty

    def get(self, tx: Tx, *key: Any) -> Row | None:
        found, row = self._rows.lookup(key)
        if found:
            return row
        if not self._complete:
            where = " AND ".join(f"{k} = :{k}" for k in self.key)
            row = tx.one(
                f"SELECT * FROM {self.table} WHERE {where}", dict(zip(self.key, key, strict=True))
            )
        self._rows.put(key, row)
        return row

    def load(self, tx: Tx, keys: Iterable[tuple[Any, ...]]) -> None:
        """Reads the rows of these keys that are not cached, in a few queries, and caches them
        (a key with no row as absent): what ``get`` would read one query at a time. A batch of
        events asks for its keys first (``ReadModel.prefetch``), so a batch costs a query per
        table, not a round trip per new key."""
        if self._complete:
            return
        missing = list(dict.fromkeys(k for k in keys if k not in self._rows))
        if not missing:
            return
        found = {
            tuple(row[k] for k in self.key): row
            for row in tx.rows_by_keys(self.table, self.key, missing)
        }
        for key in missing:
            self._rows.put(key, found.get(key))

    def refresh(self, key: tuple[Any, ...], values: Mapping[str, Any]) -> None:
        """Brings a cached row up to date with values written to the table directly (a bulk
        UPDATE), so the cache stays valid; a key not cached stays uncached."""
        row = self._rows.peek(key)
        if row is not None:
            self._rows.put(key, {**row, **values})

    def put(self, row: Row) -> None:
        key = tuple(row[k] for k in self.key)
        if self.assume_empty and key not in self._dirty:
            found, old = self._rows.lookup(key)
            if (found and old is None) or (not found and self._complete):
                self._new.add(key)
        self._rows.put(key, row)
        self._dirty.add(key)

    def dirty_rows(self) -> list[Row]:
        return [r for k in self._dirty if (r := self._rows.peek(k)) is not None]

    def flush(self, tx: Tx) -> None:
        if not self._dirty:
            return
        if self._new:  # a rebuild's rows that did not exist: COPYed, the rest upserted
            rows = [r for k in self._new if (r := self._rows.peek(k)) is not None]
            tx.copy_rows(self.table, self.columns, rows)
            self._dirty.difference_update(self._new)
            self._new.clear()
            if not self._dirty:
                return
        tx.upsert_rows(
            self.table,
            self.key,
            self.columns,
            [{c: r.get(c) for c in self.columns} for r in self.dirty_rows()],
        )

    def committed(self) -> None:
        """After commit: keep rows cached (bounded), forget what was dirty."""
        self._dirty.clear()
        self._new.clear()
        evicted = self._rows.evictions
        self._rows.trim()
        if self._rows.evictions != evicted:
            self._complete = False

    def bound(self, max_cached: int) -> None:
        """Keeps at most ``max_cached`` rows after each commit from now on."""
        evicted = self._rows.evictions
        self._rows.resize(max_cached)
        if self._rows.evictions != evicted:
            self._complete = False

    def forget(self) -> None:
        """Drops every cached row (after a failed transaction or a table swap)."""
        self._rows.clear()
        self._dirty.clear()
        self._new.clear()
        self._complete = False


class AppendOnlyTable:
    """A table rows are only added to (a history, the timeline): never read back while
    projecting, so nothing is cached; rows collected in a batch are inserted at its end,
    ignoring any already there (a duplicate delivery), or COPYed into an empty rebuild table."""

    def __init__(self, name: str, key: Sequence[str], columns: Sequence[str]) -> None:
        self.name = name
        self.key = tuple(key)
        self.columns = tuple(columns)
        self.suffix = ""
        self.assume_empty = False
        self.pending: list[Row] = []

    @property
    def table(self) -> str:
        return self.name + self.suffix

    def add(self, row: Row) -> None:
        self.pending.append(row)

    def flush(self, tx: Tx) -> None:
        if self.assume_empty:  # a rebuild into an empty table: every row is new
            tx.copy_rows(self.table, self.columns, self.pending)
            return
        tx.upsert_rows(self.table, self.key, self.columns, self.pending, update=False)

    def forget(self) -> None:
        self.pending.clear()


#: How a read model reacts to one event of an account: ``reaction(model, tx, event, account)``
#: with the account id as text. The entries of a model's ``reactions`` table.
Reaction = Callable[[Any, Tx, Event, str], None]


class ReadModel(ABC):
    """One read model: its tables, how events change them, and its bulk writes."""

    name: str

    #: The dispatch table: each event class the model reacts to, and how (a method taking
    #: ``(tx, event, account)``). Events of other classes, and events of no known account,
    #: leave the model unchanged.
    reactions: ClassVar[Mapping[EventClass, Reaction]] = {}

    #: Raise when what the model stores changes meaning without its tables changing (a
    #: reaction now reads another field, a derived value is computed differently): the
    #: shape changes and every store rebuilds the model on its next start.
    revision: ClassVar[int] = 1

    def __init__(self) -> None:
        self.tables: list[Table] = []
        self.logs: list[AppendOnlyTable] = []
        #: (index name, table name, column list) without suffix; named ``<index><suffix>``.
        self.indexes: list[tuple[str, str, str]] = []

    def table(self, name: str, key: Sequence[str], columns: Sequence[str]) -> Table:
        table = Table(name, key, columns)
        self.tables.append(table)
        return table

    def append_only(self, name: str, key: Sequence[str], columns: Sequence[str]) -> AppendOnlyTable:
        log = AppendOnlyTable(name, key, columns)
        self.logs.append(log)
        return log

    @abstractmethod
    def ddl(self, dialect: Dialect, suffix: str) -> list[str]:
        """CREATE TABLE statements for this model's tables (with ``suffix`` for a rebuild)."""

    def fresh(self) -> ReadModel:
        """A new, empty instance with the same parameters (for a rebuild)."""
        return type(self)()

    def parameters(self) -> str:
        """The settings that change what the model stores (part of its shape). Default: none."""
        return ""

    def shape(self, dialect: Dialect) -> str:
        """A fingerprint of the model's tables, indexes, revision and parameters: rows built
        under another shape are not this model's, so the model is rebuilt (see
        ``Projector.stale_models``)."""
        parts = [str(self.revision), self.parameters(), *self.ddl(dialect, ""), *self.index_ddl("")]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def index_ddl(self, suffix: str) -> list[str]:
        return [
            f"CREATE INDEX IF NOT EXISTS {name}{suffix} ON {table}{suffix} ({columns})"
            for name, table, columns in self.indexes
        ]

    def prefetch(self, tx: Tx, batch: Sequence[tuple[Event, UUID | None]]) -> None:
        """Before a batch of events (each with its account) is applied: reads at once the
        rows its reactions will ``get`` (``Table.load``), so a batch costs a query per table
        rather than a round trip per new key. Default: nothing (the reactions read rows as
        they need them, each a query the first time)."""
        del tx, batch

    def apply(self, tx: Tx, event: Event, account_id: UUID | None) -> None:
        """Applies one event (``account_id``: the account it belongs to, if known)."""
        reaction = self.reactions.get(event.cls)
        if reaction is not None and account_id is not None:
            reaction(self, tx, event, str(account_id))

    def erase(
        self, tx: Tx, erasure: Event, history: Sequence[Event], account_id: UUID | None
    ) -> None:
        """Rewrites what the model holds about a person whose personal data ``erasure`` (the
        ``Relationship.PersonalDataErased`` event, already applied) erased, so it reads as the
        person's ``history`` (their earlier events, redacted; positions not known, 0) does.
        Default: the model holds nothing of a person's."""
        del tx, erasure, history, account_id

    def finish(self, tx: Tx, today: date) -> None:
        """After the batch's events: bulk writes and derived values. Default: flush tables."""
        for table in self.tables:
            table.flush(tx)
        for log in self.logs:
            log.flush(tx)

    def use_suffix(self, suffix: str, *, assume_empty: bool) -> None:
        for table in self.tables:
            table.start(suffix, empty=assume_empty)
        for log in self.logs:
            log.suffix = suffix
            log.assume_empty = assume_empty
            log.forget()

    def committed(self) -> None:
        for table in self.tables:
            table.committed()
        for log in self.logs:
            log.forget()

    def bound_caches(self, rows: int) -> None:
        """Each table keeps at most ``rows`` rows in memory between batches."""
        for table in self.tables:
            table.bound(rows)

    def forget(self) -> None:
        for table in self.tables:
            table.forget()
        for log in self.logs:
            log.forget()

    def table_names(self) -> list[str]:
        return [t.name for t in self.tables] + [log.name for log in self.logs]


def bigint(dialect: Dialect) -> str:
    return "BIGINT" if dialect == "postgres" else "INTEGER"


def real(dialect: Dialect) -> str:
    return "DOUBLE PRECISION" if dialect == "postgres" else "REAL"
