"""Action status: one row per plan action with its status history; roll-ups per account, plan
and owner. Overdue and days late are worked out against "today" when read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from uuid import UUID

from kam_domain.values import ActionStatus
from kam_projections.db import Dialect, Tx, ViewDatabase
from kam_projections.events import AccountPlan
from kam_projections.pagination import Page, decode_cursor, encode_cursor, iso_day, uuid_text
from kam_projections.tables import Event, ReadModel, bigint, iso

OPEN_STATUSES = ("planned", "in_progress", "blocked")
_OPEN_SQL = "('planned', 'in_progress', 'blocked')"


class ActionStatusModel(ReadModel):
    name = "actions"

    def __init__(self) -> None:
        super().__init__()
        self.actions = self.table(
            "rm_actions",
            ["action_id"],
            [
                "action_id",
                "plan_id",
                "account_id",
                "objective_id",
                "what",
                "owner",
                "due_on",
                "status",
                "added_at",
                "updated_at",
                "completed_at",
                "last_position",
            ],
        )
        self.history = self.append_only(
            "rm_action_history",
            ["action_id", "position"],
            ["action_id", "position", "status", "at", "actor", "note"],
        )
        self.indexes = [
            ("rm_actions_account", "rm_actions", "account_id, status, due_on"),
            ("rm_actions_owner", "rm_actions", "owner, due_on"),
            ("rm_actions_due", "rm_actions", "due_on, action_id"),
        ]

    def ddl(self, dialect: Dialect, suffix: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS rm_actions{suffix} (action_id TEXT PRIMARY KEY, "
            "plan_id TEXT NOT NULL, account_id TEXT NOT NULL, objective_id TEXT, "
            "what TEXT NOT NULL, owner TEXT NOT NULL, due_on TEXT NOT NULL, "
            "status TEXT NOT NULL, added_at TEXT NOT NULL, updated_at TEXT NOT NULL, "
            f"completed_at TEXT, last_position {bigint(dialect)} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS rm_action_history{suffix} (action_id TEXT NOT NULL, "
            f"position {bigint(dialect)} NOT NULL, status TEXT NOT NULL, at TEXT NOT NULL, "
            "actor TEXT NOT NULL, note TEXT, PRIMARY KEY (action_id, position))",
        ]

    # --- Reactions (the table is ``reactions``, below) ----------------------------------

    def _added(self, tx: Tx, event: Event, account: str) -> None:
        data, at = event.data, iso(event.occurred_at)
        row: dict[str, Any] = {
            "action_id": str(data["action_id"]),
            "plan_id": str(event.aggregate_id),
            "account_id": account,
            "objective_id": str(data["objective_id"]) if data.get("objective_id") else None,
            "what": data["what"],
            "owner": data["owner"],
            "due_on": iso(data["due_on"]),
            "status": "planned",
            "added_at": at,
            "completed_at": None,
        }
        self._record(row, event, None)

    def _started(self, tx: Tx, event: Event, account: str) -> None:
        self._change(tx, event, None, status="in_progress")

    def _completed(self, tx: Tx, event: Event, account: str) -> None:
        outcome = event.data.get("outcome")
        self._change(tx, event, outcome, status="completed", completed_at=iso(event.occurred_at))

    def _blocked(self, tx: Tx, event: Event, account: str) -> None:
        self._change(tx, event, None, status="blocked")

    def _unblocked(self, tx: Tx, event: Event, account: str) -> None:
        status = event.data.get("status")
        back = status.value if isinstance(status, ActionStatus) else "planned"
        self._change(tx, event, None, status=back)

    def _rescheduled(self, tx: Tx, event: Event, account: str) -> None:
        data = event.data
        note = f"due {iso(data.get('previous_due_on'))} -> {iso(data['due_on'])}"
        self._change(tx, event, note, due_on=iso(data["due_on"]))

    def _reassigned(self, tx: Tx, event: Event, account: str) -> None:
        data = event.data
        note = f"owner {data.get('previous_owner')} -> {data['owner']}"
        self._change(tx, event, note, owner=data["owner"])

    def _cancelled(self, tx: Tx, event: Event, account: str) -> None:
        self._change(tx, event, None, status="cancelled")

    reactions = {
        AccountPlan.ActionAdded: _added,
        AccountPlan.ActionStarted: _started,
        AccountPlan.ActionCompleted: _completed,
        AccountPlan.ActionBlocked: _blocked,
        AccountPlan.ActionUnblocked: _unblocked,
        AccountPlan.ActionRescheduled: _rescheduled,
        AccountPlan.ActionReassigned: _reassigned,
        AccountPlan.ActionCancelled: _cancelled,
    }

    def _change(self, tx: Tx, event: Event, note: str | None, **values: Any) -> None:
        found = self.actions.get(tx, str(event.data["action_id"]))
        if found is None:
            return  # an action added before this model existed cannot be tracked
        self._record({**found, **values}, event, note)

    def _record(self, row: dict[str, Any], event: Event, note: str | None) -> None:
        """Stores the action's new row and its status change (the note defaults to the
        event's reason)."""
        at = iso(event.occurred_at)
        meta = event.meta
        if note is None and meta is not None:
            note = meta.reason
        row["updated_at"] = at
        row["last_position"] = event.position
        self.actions.put(row)
        self.history.add(
            {
                "action_id": row["action_id"],
                "position": event.position,
                "status": row["status"],
                "at": at,
                "actor": event.actor,
                "note": note,
            }
        )


# --- Queries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionFilter:
    status: str | None = None
    owner: str | None = None
    account_id: UUID | None = None
    plan_id: UUID | None = None
    overdue: bool | None = None


def with_lateness(row: dict[str, Any], today: date) -> dict[str, Any]:
    """The row plus ``overdue`` and ``days_late`` as of ``today``."""
    due = date.fromisoformat(row["due_on"])
    overdue = row["status"] in OPEN_STATUSES and due < today
    return {**row, "overdue": overdue, "days_late": (today - due).days if overdue else 0}


def list_actions(
    views: ViewDatabase,
    where: ActionFilter,
    *,
    today: date,
    limit: int = 50,
    cursor: str | None = None,
    descending: bool = False,
) -> Page:
    """Plan actions by due date (then id), filtered, one page at a time; each with its
    account's name (from the portfolio)."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1, "today": today.isoformat()}
    for column in ("status", "owner"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    for column in ("account_id", "plan_id"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = str(value)
    if where.overdue is True:
        clauses.append(f"status IN {_OPEN_SQL} AND due_on < :today")
    elif where.overdue is False:
        clauses.append(f"NOT (status IN {_OPEN_SQL} AND due_on < :today)")
    op, order = ("<", "DESC") if descending else (">", "ASC")
    if cursor:
        values = decode_cursor(cursor, iso_day, uuid_text)
        clauses.append(f"(due_on {op} :c_due OR (due_on = :c_due AND action_id {op} :c_id))")
        params["c_due"], params["c_id"] = str(values[0]), str(values[1])
    where_sql = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = views.query(
        "SELECT a.*, (SELECT p.name FROM rm_portfolio p WHERE p.account_id = a.account_id) "
        f"AS account_name FROM rm_actions a {where_sql} "
        f"ORDER BY due_on {order}, action_id {order} LIMIT :limit",
        params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        encode_cursor([rows[-1]["due_on"], rows[-1]["action_id"]]) if more and rows else None
    )
    return Page(items=[with_lateness(r, today) for r in rows], next_cursor=next_cursor)


def action_history(views: ViewDatabase, action_id: UUID) -> list[dict[str, Any]]:
    """Every status change of one action, in order."""
    return views.query(
        "SELECT position, status, at, actor, note FROM rm_action_history "
        "WHERE action_id = :action_id ORDER BY position",
        {"action_id": str(action_id)},
    )


def action_rollup(
    views: ViewDatabase, by: Literal["account", "plan", "owner"], *, today: date
) -> list[dict[str, Any]]:
    """Counts per account, plan or owner: total, open, overdue, completed, cancelled."""
    key = {"account": "account_id", "plan": "plan_id", "owner": "owner"}[by]
    return views.query(
        f"SELECT {key} AS key, COUNT(*) AS total, "
        f"SUM(CASE WHEN status IN {_OPEN_SQL} THEN 1 ELSE 0 END) AS open, "
        f"SUM(CASE WHEN status IN {_OPEN_SQL} AND due_on < :today THEN 1 ELSE 0 END) "
        "AS overdue, "
        "SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed, "
        "SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled "
        f"FROM rm_actions GROUP BY {key} ORDER BY {key}",
        {"today": today.isoformat()},
    )
