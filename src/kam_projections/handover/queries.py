"""The report's reads of the read models, all in one round trip (on PostgreSQL): the read
models' position, the account's ``sources`` rows and the timeline lists the report shows.

The position is read first, so everything up to it is in the sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from kam_projections.db import Row, ViewDatabase
from kam_projections.sources import SOURCES_SQL

RECENT_INTERACTIONS = 10
RECENT_DECISIONS = 12
FEEDBACK_HISTORY = 12
#: Events that record a decision about the account or its plan.
DECISIONS = (
    "Classified",
    "Reevaluated",
    "StageAdvanced",
    "FocusSet",
    "DirectionStated",
    "SharedWithCustomer",
    "Reviewed",
    "Closed",
    "ManagerAssigned",
    "HandedOver",
    "HandoverCancelled",
    "Exited",
)
#: The timeline lists a report reads: group -> (event types, how many of the newest; None: all).
TIMELINE_GROUPS: dict[str, tuple[Sequence[str], int | None]] = {
    "interactions": (("InteractionLogged",), RECENT_INTERACTIONS),
    "decisions": (DECISIONS, RECENT_DECISIONS),
    "feedback": (("FeedbackRecorded",), FEEDBACK_HISTORY),
    "manager": (
        ("ManagerAssigned", "HandedOver", "HandoverAcknowledged", "HandoverCancelled"),
        None,
    ),
}

#: Groups kept in log order: the manager changes line up with the account's manager history.
LOG_ORDER = frozenset({"manager"})

POSITION_SQL = "SELECT MIN(position) AS position FROM rm_tracking"


@dataclass(frozen=True)
class AccountRows:
    """What the read models hold about one account, as of ``position``."""

    position: int
    sources: list[Row]
    timeline: list[Row]  # each with ``grp``: its group in ``TIMELINE_GROUPS``


def account_rows(views: ViewDatabase, account_id: UUID) -> AccountRows:
    """The read models' position, the account's sources and its timeline lists."""
    position, sources, *timeline = views.query_batch(
        [
            (POSITION_SQL, None),
            (SOURCES_SQL, {"a": str(account_id)}),
            timeline_statement(account_id),
        ]
    )
    return AccountRows(
        position=int(position[0]["position"] or 0) if position else 0,
        sources=sources,
        timeline=[row for rows in timeline for row in rows],
    )


def timeline_statement(account_id: UUID) -> tuple[str, dict[str, Any]]:
    """One UNION ALL of the newest few events of each group's types, every row tagged with
    its group: newest by when they happened (``occurred_at``: an interaction logged late sits
    at its own date), then by position, except the groups kept in log order (``LOG_ORDER``).
    Each is read through the (account, type, occurred_at) or (account, type, position) index,
    so an account with thousands of interactions costs no more than one with ten."""
    params: dict[str, Any] = {"a": str(account_id)}
    parts = []
    for group, (types, limit) in TIMELINE_GROUPS.items():
        for event_type in types:
            key = f"t{len(params)}"
            params[key] = event_type
            limit_sql = f" LIMIT {int(limit)}" if limit is not None else ""
            order = "position DESC" if group in LOG_ORDER else "occurred_at DESC, position DESC"
            parts.append(
                f"SELECT * FROM (SELECT '{group}' AS grp, position, event_type, actor, "
                "occurred_at, summary FROM rm_timeline "
                f"WHERE account_id = :a AND event_type = :{key} "
                f"ORDER BY {order}{limit_sql}) AS {key}"
            )
    return " UNION ALL ".join(parts), params


def source_events(views: ViewDatabase, account_id: UUID, positions: Iterable[int]) -> list[Row]:
    """The type and time of each cited event of the account, by position (the timeline's key)."""
    wanted = sorted({int(p) for p in positions})
    if not wanted:
        return []
    # Integers only, written by us: a literal list keeps clear of parameter-count limits.
    listed = ",".join(str(p) for p in wanted)
    return views.query(
        "SELECT position, event_type, occurred_at FROM rm_timeline "
        f"WHERE account_id = :a AND position IN ({listed})",
        {"a": str(account_id)},
    )
