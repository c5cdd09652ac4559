"""An account as it was on a past day, by when things happened: which version of the account,
of each of its plans and of each of its stakeholders stood at an instant, from the timeline's
fact times (``occurred_at``: an interaction's ``on``, a departure's ``left_on``, else the
command's ``occurred_on``, else when it was recorded), the same rule the health as of a day
follows. History loaded after the fact (the demo, an import) is thus seen as it happened.

A version is a prefix of an aggregate's events: the state at an instant is its events up to
the first one that happened after it (a later event never shows early, even when a backdated
one follows it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from kam_projections.db import Row, ViewDatabase
from kam_projections.health_cache import FACTS_SQL, facts_key_of
from kam_projections.timeline import recorded_bound


@dataclass(frozen=True)
class Version:
    """An aggregate of the account and its version at the instant (0: it did not exist)."""

    aggregate_type: str
    version: int


#: The first event of the account ``:a`` (in the order of its index: one row read).
FIRST_SQL = (
    "SELECT occurred_at FROM rm_timeline WHERE account_id = :a "
    "ORDER BY account_id, position LIMIT 1"
)


def registered_on_of(rows: list[Row]) -> date | None:
    """The registration day ``FIRST_SQL`` answers."""
    return datetime.fromisoformat(rows[0]["occurred_at"]).date() if rows else None


def registered_on(views: ViewDatabase, account_id: UUID) -> date | None:
    """The day the account was registered (its first event's fact time), if the read models
    know it."""
    return registered_on_of(views.query(FIRST_SQL, {"a": str(account_id)}))


def page_facts(views: ViewDatabase, account_id: UUID) -> tuple[date | None, tuple[int, int]]:
    """The registration day and the health facts' key of the account, in one round trip."""
    params = {"a": str(account_id)}
    first, facts = views.query_batch([(FIRST_SQL, params), (FACTS_SQL, params)])
    return registered_on_of(first), facts_key_of(facts)


def versions_at(views: ViewDatabase, account_id: UUID, at: datetime) -> dict[UUID, Version]:
    """Each aggregate of the account (itself, plans, stakeholders) with its version at ``at``
    (the events before the first that happened after ``at``)."""
    rows = views.query(
        "SELECT aggregate_id, aggregate_type, MAX(aggregate_version) AS last, "
        "MIN(CASE WHEN occurred_at > :at THEN aggregate_version END) AS first_after "
        "FROM rm_timeline WHERE account_id = :a GROUP BY aggregate_id, aggregate_type",
        {"a": str(account_id), "at": recorded_bound(at)},
    )
    return {
        UUID(r["aggregate_id"]): Version(
            str(r["aggregate_type"]),
            int(r["first_after"]) - 1 if r["first_after"] is not None else int(r["last"]),
        )
        for r in rows
    }


def rows_between(
    views: ViewDatabase, account_id: UUID, start: datetime, end: datetime
) -> list[Row]:
    """The account's timeline rows that take each aggregate from its version at ``start`` to
    its version at ``end`` (the rows ``kam_projections.changes.account_changes`` diffs), in
    log order."""
    before, after = versions_at(views, account_id, start), versions_at(views, account_id, end)
    rows = views.query(
        "SELECT position, aggregate_id, aggregate_type, aggregate_version, event_type, actor, "
        "recorded_at, summary FROM rm_timeline WHERE account_id = :a ORDER BY position",
        {"a": str(account_id)},
    )
    kept = []
    for row in rows:
        aggregate = UUID(row["aggregate_id"])
        low = before[aggregate].version if aggregate in before else 0
        high = after[aggregate].version if aggregate in after else 0
        if low < int(row["aggregate_version"]) <= high:
            kept.append(row)
    return kept


def rows_since_version(
    views: ViewDatabase, account_id: UUID, aggregate_id: UUID, version: int
) -> list[Row]:
    """The account's timeline rows of one aggregate after its ``version`` (what a stale form
    missed), in log order."""
    return views.query(
        "SELECT position, aggregate_id, aggregate_type, aggregate_version, event_type, actor, "
        "recorded_at, summary FROM rm_timeline WHERE account_id = :a AND aggregate_id = :g "
        "AND aggregate_version > :v ORDER BY position",
        {"a": str(account_id), "g": str(aggregate_id), "v": version},
    )


def labels_of(views: ViewDatabase, entity_ids: Iterable[str]) -> dict[str, str]:
    """What the timeline calls these actions, objectives, opportunities, risks and
    commitments (by id), for those it knows."""
    ids = {f"e{i}": e for i, e in enumerate(sorted(set(entity_ids)))}
    if not ids:
        return {}
    rows = views.query(
        "SELECT entity_id, label FROM rm_timeline_labels "
        f"WHERE entity_id IN ({', '.join(':' + k for k in ids)})",
        ids,
    )
    return {str(r["entity_id"]): str(r["label"]) for r in rows}


def event_types(views: ViewDatabase, account_id: UUID) -> list[str]:
    """The types of event in the account's timeline, by name (what its type filter offers)."""
    rows = views.query(
        "SELECT DISTINCT event_type FROM rm_timeline WHERE account_id = :a ORDER BY event_type",
        {"a": str(account_id)},
    )
    return [str(r["event_type"]) for r in rows]
