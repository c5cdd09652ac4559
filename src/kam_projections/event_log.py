"""Reads of the timeline across accounts for the web app: the audit feed (newest first,
filtered), one event's row, and which version of each stakeholder stood on a past day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from kam_projections.db import Row, ViewDatabase
from kam_projections.pagination import add_filters


@dataclass(frozen=True)
class LogFilter:
    """What the audit feed shows; bounds are ISO instants as the timeline stores them."""

    account_id: UUID | None = None
    event_type: str | None = None
    actor: str | None = None
    occurred_from: str | None = None
    occurred_to: str | None = None
    before: int | None = None  # only events before this log position (the next page)


@dataclass(frozen=True)
class LogPage:
    rows: list[Row]
    next_before: int | None  # where the next (older) page starts; None: this is the last


def log_page(views: ViewDatabase, where: LogFilter, limit: int = 50) -> LogPage:
    """Events of every account, newest first, filtered, one page at a time."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1}
    add_filters(
        clauses,
        params,
        {
            "account_id": (
                "account_id = :account_id",
                str(where.account_id) if where.account_id else None,
            ),
            "event_type": ("event_type = :event_type", where.event_type),
            "actor": ("actor = :actor", where.actor),
            "occurred_from": ("occurred_at >= :occurred_from", where.occurred_from),
            "occurred_to": ("occurred_at < :occurred_to", where.occurred_to),
            "before": ("position < :before", where.before),
        },
    )
    condition = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    rows = views.query(
        f"SELECT * FROM rm_timeline {condition}ORDER BY position DESC LIMIT :limit", params
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return LogPage(rows, int(rows[-1]["position"]) if more and rows else None)


def log_event_types(views: ViewDatabase) -> list[str]:
    """The event types the timeline holds (for the feed's filter)."""
    rows = views.query("SELECT DISTINCT event_type FROM rm_timeline ORDER BY event_type")
    return [str(r["event_type"]) for r in rows]


def timeline_row(views: ViewDatabase, position: int) -> Row | None:
    """The timeline's row of the event at this log position (None: no account's event)."""
    rows = views.query("SELECT * FROM rm_timeline WHERE position = :p", {"p": position})
    return rows[0] if rows else None


def account_choices(views: ViewDatabase) -> list[tuple[str, str]]:
    """Every account's id and name, by name (for the feed's account filter)."""
    rows = views.query("SELECT account_id, name FROM rm_portfolio ORDER BY name, account_id")
    return [(str(r["account_id"]), str(r["name"])) for r in rows]
