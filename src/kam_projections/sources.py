"""Sources: for each thing an account's history talks about, the positions of the events that
made it what it is. The index behind "every fact links back to its events" in reports.

A *subject* is what an event is about inside its aggregate: an action, objective, opportunity,
risk or commitment (by id), a financial period, a team member, a competitor, a research
question; otherwise the kind of change itself ("Classified", "StageAdvanced", "manager").
One row per (aggregate, subject), so an account with 5,000 events has a few hundred rows and a
report reads them in one indexed query instead of walking the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from kam_projections.db import Dialect, Tx, ViewDatabase
from kam_projections.events import EventClass, KeyAccount
from kam_projections.tables import Event, ReadModel, bigint

#: How many of a subject's latest positions a row keeps (older ones stay in the timeline).
KEPT_POSITIONS = 50

_ENTITY_KEYS = {
    "action_id": "action",
    "objective_id": "objective",
    "opportunity_id": "opportunity",
    "risk_id": "risk",
    "commitment_id": "commitment",
    "question_id": "research",
}

#: Subjects that are not an entity id, by event class. Manager changes share one subject, so
#: tenures line up with the "manager" positions in order.
_SUBJECTS: dict[EventClass, Callable[[Mapping[str, Any]], str]] = {
    KeyAccount.ManagerAssigned: lambda data: "manager",
    KeyAccount.HandedOver: lambda data: "manager",
    KeyAccount.HandoverCancelled: lambda data: "manager",
    KeyAccount.FinancialsRecorded: lambda data: f"financials:{data.get('period')}",
    KeyAccount.TeamMemberAdded: lambda data: f"team:{data.get('member')}",
    KeyAccount.TeamMemberRemoved: lambda data: f"team:{data.get('member')}",
    KeyAccount.TeamRolesChanged: lambda data: f"team:{data.get('member')}",
    KeyAccount.CompetitorNoted: lambda data: f"competitor:{str(data.get('name', '')).casefold()}",
}


def subject_of(event_class: EventClass, data: Mapping[str, Any]) -> str:
    """What an event is about within its aggregate (see the module docstring)."""
    subject = _SUBJECTS.get(event_class)
    if subject is not None:
        return subject(data)
    for key, kind in _ENTITY_KEYS.items():
        value = data.get(key)
        if value is not None:
            return f"{kind}:{value}"
    return event_class.__name__


class SourcesModel(ReadModel):
    name = "sources"

    def __init__(self) -> None:
        super().__init__()
        self.rows = self.table(
            "rm_sources",
            ["aggregate_id", "subject"],
            [
                "aggregate_id",
                "subject",
                "account_id",
                "aggregate_type",
                "first_position",
                "last_position",
                "positions",
                "event_count",
                "last_version",
            ],
        )
        self.indexes = [("rm_sources_account", "rm_sources", "account_id")]

    def ddl(self, dialect: Dialect, suffix: str) -> list[str]:
        big = bigint(dialect)
        return [
            f"CREATE TABLE IF NOT EXISTS rm_sources{suffix} ("
            "aggregate_id TEXT NOT NULL, subject TEXT NOT NULL, account_id TEXT NOT NULL, "
            f"aggregate_type TEXT NOT NULL, first_position {big} NOT NULL, "
            f"last_position {big} NOT NULL, positions TEXT NOT NULL, "
            "event_count INTEGER NOT NULL, last_version INTEGER NOT NULL, "
            "PRIMARY KEY (aggregate_id, subject))"
        ]

    def prefetch(self, tx: Tx, batch: Sequence[tuple[Event, UUID | None]]) -> None:
        self.rows.load(
            tx,
            (
                (str(event.aggregate_id), subject_of(event.cls, event.data))
                for event, account_id in batch
                if account_id is not None
            ),
        )

    def apply(self, tx: Tx, event: Event, account_id: UUID | None) -> None:
        if account_id is None:
            return  # index aggregates (names, tier rosters) are not account history
        subject = subject_of(event.cls, event.data)
        aggregate = str(event.aggregate_id)
        row = self.rows.get(tx, aggregate, subject)
        if row is None:
            row = {
                "aggregate_id": aggregate,
                "subject": subject,
                "account_id": str(account_id),
                "aggregate_type": event.aggregate_type,
                "first_position": event.position,
                "positions": str(event.position),
                "event_count": 1,
            }
        else:
            positions = f"{row['positions']},{event.position}"
            if row["event_count"] >= KEPT_POSITIONS:  # drop the oldest (rarely needed: split)
                positions = positions.split(",", 1)[1]
            row = {**row, "positions": positions, "event_count": row["event_count"] + 1}
        row["last_position"] = event.position
        row["last_version"] = event.version
        self.rows.put(row)


@dataclass(frozen=True)
class Sources:
    """An account's sources as the read model holds them."""

    #: (aggregate id, subject) → positions, oldest first (at most ``KEPT_POSITIONS``).
    positions: dict[tuple[UUID, str], list[int]]
    #: Each aggregate's version as far as the read model has seen.
    versions: dict[UUID, int]
    #: Each aggregate's type ("KeyAccount", "AccountPlan", "Relationship").
    types: dict[UUID, str]
    #: (aggregate id, subject) → how many events there were in all.
    counts: dict[tuple[UUID, str], int]

    def of(self, aggregate_id: UUID, subject: str) -> list[int]:
        return self.positions.get((aggregate_id, subject), [])

    def last(self, aggregate_id: UUID, subject: str) -> list[int]:
        """The latest event about the subject (what its current value came from)."""
        found = self.of(aggregate_id, subject)
        return found[-1:]

    def owned(self, kind: str) -> list[UUID]:
        return [a for a, t in self.types.items() if t == kind]


SOURCES_SQL = (
    "SELECT aggregate_id, aggregate_type, subject, positions, event_count, last_version "
    "FROM rm_sources WHERE account_id = :a ORDER BY first_position"
)


def account_sources(views: ViewDatabase, account_id: UUID) -> Sources:
    """Every (aggregate, subject) row of an account, in one indexed query."""
    return sources_from(views.query(SOURCES_SQL, {"a": str(account_id)}))


def sources_from(rows: Iterable[Mapping[str, Any]]) -> Sources:
    """``Sources`` from the rows ``SOURCES_SQL`` answers."""
    positions: dict[tuple[UUID, str], list[int]] = {}
    counts: dict[tuple[UUID, str], int] = {}
    versions: dict[UUID, int] = {}
    types: dict[UUID, str] = {}
    for row in rows:
        aggregate = UUID(row["aggregate_id"])
        key = (aggregate, row["subject"])
        positions[key] = [int(p) for p in row["positions"].split(",")]
        counts[key] = int(row["event_count"])
        versions[aggregate] = max(versions.get(aggregate, 0), int(row["last_version"]))
        types.setdefault(aggregate, row["aggregate_type"])
    return Sources(positions, versions, types, counts)
