"""Timeline: one row per event of an account, its plans and its stakeholders, with who, when
and a one-line summary. The index behind an account's history."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from kam_projections.db import Dialect, Tx, ViewDatabase
from kam_projections.pagination import Page, add_filters, decode_cursor, encode_cursor, position
from kam_projections.summaries import introduced_label, summarize
from kam_projections.tables import Event, ReadModel, Table, bigint, iso

COLUMNS = (
    "position",
    "account_id",
    "aggregate_id",
    "aggregate_type",
    "aggregate_version",
    "event_type",
    "actor",
    "recorded_at",
    "occurred_at",
    "reason",
    "correlation_id",
    "summary",
)


class _Labels(Mapping[UUID, str]):
    """What an action, objective, opportunity, risk or commitment is called, looked up by id,
    so "Action rescheduled" can say which action."""

    def __init__(self, table: Table, tx: Tx) -> None:
        self.table, self.tx = table, tx

    def __getitem__(self, key: UUID) -> str:
        row = self.table.get(self.tx, str(key))
        if row is None:
            raise KeyError(key)
        return str(row["label"])

    def __iter__(self) -> Iterator[UUID]:
        return iter(())

    def __len__(self) -> int:
        return 0  # not enumerable; looked up one id at a time

    def __bool__(self) -> bool:
        return True


class Timeline(ReadModel):
    name = "timeline"

    def __init__(self) -> None:
        super().__init__()
        self.labels = self.table("rm_timeline_labels", ["entity_id"], ["entity_id", "label"])
        self.events = self.append_only("rm_timeline", ["position"], COLUMNS)
        self.indexes = [
            ("rm_timeline_account", "rm_timeline", "account_id, position"),
            # Reports read the newest events of a few types (interactions, decisions, feedback).
            ("rm_timeline_account_type", "rm_timeline", "account_id, event_type, position"),
            # ... newest by when they happened.
            (
                "rm_timeline_account_type_occurred",
                "rm_timeline",
                "account_id, event_type, occurred_at",
            ),
        ]

    def ddl(self, dialect: Dialect, suffix: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS rm_timeline{suffix} ("
            f"position {bigint(dialect)} PRIMARY KEY, account_id TEXT NOT NULL, "
            "aggregate_id TEXT NOT NULL, aggregate_type TEXT NOT NULL, "
            "aggregate_version INTEGER NOT NULL, event_type TEXT NOT NULL, actor TEXT NOT NULL, "
            "recorded_at TEXT NOT NULL, occurred_at TEXT NOT NULL, reason TEXT, "
            "correlation_id TEXT, summary TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS rm_timeline_labels{suffix} (entity_id TEXT PRIMARY KEY, "
            "label TEXT NOT NULL)",
        ]

    def apply(self, tx: Tx, event: Event, account_id: UUID | None) -> None:
        """Every event of an account is a row; what it says comes from the summaries' tables
        (keyed by event class)."""
        if account_id is None:
            return  # index aggregates (names, tier rosters) are not account history
        introduced = introduced_label(event.cls, event.data)
        if introduced is not None:
            self.labels.put({"entity_id": str(introduced[0]), "label": introduced[1]})
        meta = event.meta
        self.events.add(
            {
                "position": event.position,
                "account_id": str(account_id),
                "aggregate_id": str(event.aggregate_id),
                "aggregate_type": event.aggregate_type,
                "aggregate_version": event.version,
                "event_type": event.event_type,
                "actor": event.actor,
                "recorded_at": iso(event.recorded_at),
                "occurred_at": iso(event.occurred_at),
                "reason": meta.reason if meta else None,
                "correlation_id": meta.correlation_id if meta else None,
                "summary": summarize(event.cls, event.data, labels=_Labels(self.labels, tx)),
            }
        )

    def erase(
        self, tx: Tx, erasure: Event, history: Sequence[Event], account_id: UUID | None
    ) -> None:
        """The person's rows say what their redacted events say: labels of their commitments,
        then each row's summary and reason."""
        if account_id is None:
            return  # events of no known account are not in the timeline
        for event in history:
            introduced = introduced_label(event.cls, event.data)
            if introduced is not None:
                self.labels.put({"entity_id": str(introduced[0]), "label": introduced[1]})
        # Rows of this batch go in first, so one UPDATE covers every row of the person.
        self.events.flush(tx)
        self.events.pending.clear()
        by_version = {event.version: event for event in history}
        labels = _Labels(self.labels, tx)
        rows = tx.execute(
            f"SELECT position, aggregate_version FROM {self.events.table} "
            "WHERE account_id = :account AND aggregate_id = :a AND aggregate_version < :v",
            {"account": str(account_id), "a": str(erasure.aggregate_id), "v": erasure.version},
        )
        updates = []
        for row in rows:
            redacted = by_version.get(row["aggregate_version"])
            if redacted is not None:
                updates.append(
                    {
                        "position": row["position"],
                        "reason": redacted.meta.reason if redacted.meta else None,
                        "summary": summarize(redacted.cls, redacted.data, labels=labels),
                    }
                )
        tx.executemany(
            f"UPDATE {self.events.table} SET summary = :summary, reason = :reason "
            "WHERE position = :position",
            updates,
        )


def recorded_bound(value: datetime) -> str:
    """An instant as the timeline stores ``recorded_at`` and ``occurred_at`` (ISO, UTC), to
    compare as text; naive means UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC).isoformat()
    except OverflowError:  # within hours of year 1 or 9999: beyond every recorded time anyway
        return value.replace(tzinfo=None).isoformat()


@dataclass(frozen=True)
class TimelineFilter:
    account_id: UUID
    event_type: str | None = None
    actor: str | None = None
    occurred_from: str | None = None
    occurred_to: str | None = None
    recorded_from: str | None = None
    recorded_to: str | None = None
    position: int | None = None


def account_timeline(
    views: ViewDatabase, where: TimelineFilter, *, limit: int = 50, cursor: str | None = None
) -> Page:
    """An account's events in log order, filtered, one page at a time."""
    clauses = ["account_id = :account_id"]
    params: dict[str, Any] = {"account_id": str(where.account_id), "limit": limit + 1}
    add_filters(
        clauses,
        params,
        {
            "event_type": ("event_type = :event_type", where.event_type),
            "actor": ("actor = :actor", where.actor),
            "occurred_from": ("occurred_at >= :occurred_from", where.occurred_from),
            "occurred_to": ("occurred_at < :occurred_to", where.occurred_to),
            "recorded_from": ("recorded_at >= :recorded_from", where.recorded_from),
            "recorded_to": ("recorded_at < :recorded_to", where.recorded_to),
            "position": ("position = :position", where.position),
        },
    )
    if cursor:
        clauses.append("position > :after")
        params["after"] = decode_cursor(cursor, position)[0]
    rows = views.query(
        f"SELECT * FROM rm_timeline WHERE {' AND '.join(clauses)} ORDER BY position LIMIT :limit",
        params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1]["position"]]) if more and rows else None
    return Page(items=rows, next_cursor=next_cursor)
