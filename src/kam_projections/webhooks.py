"""Webhook subscriptions and their delivery log, in the read-model database (like the users:
not domain history, and a rebuild of the read models never touches them): the tables and all
their SQL. Sealing a subscription's secret is the service's (``kam_api.webhooks.store``).

- ``rm_webhooks``: one row per subscription: its URL, the event types it wants (a JSON list;
  empty: all), its secret as the service stored it (sealed with the master key when one is
  configured, else base64 in the row; never in a log or an answer),
  who created it and when, its status (``active``, ``failing``: paused after too many failed
  attempts, ``disabled``: removed), its **position** (the last log position delivered, or
  passed over by its filter; it advances only after a 2xx), the failed attempts at the next
  event, when the next attempt is due and the last error. ``revision`` is raised by every change
  an admin makes, and a delivery round writes its outcome only if it has not moved, so a replay
  or a removal during a round wins.
- ``rm_webhook_deliveries``: every attempt: the subscription, the event's position, the message
  id, the attempt's number, when, the status code or the error, how long it took.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kam_projections.db import Tx, ViewDatabase

ACTIVE, FAILING, DISABLED = "active", "failing", "disabled"


class SubscriptionNotFoundError(LookupError):
    """No webhook subscription has that id."""


@dataclass(frozen=True)
class Subscription:
    """A subscription as stored (its secret only as the HMAC key, for the deliverer)."""

    id: str
    url: str
    event_types: tuple[str, ...]
    created_at: str
    created_by: str
    status: str
    position: int
    revision: int
    attempts: int
    next_attempt_at: float
    failing_since: float | None
    last_error: str | None

    def wants(self, aggregate_type: str, event_type: str) -> bool:
        """Whether the filter takes an event (by ``type``, or ``AggregateType.type``)."""
        if not self.event_types:
            return True
        return event_type in self.event_types or f"{aggregate_type}.{event_type}" in (
            self.event_types
        )


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt, as logged."""

    seq: int
    subscription_id: str
    position: int
    message_id: str
    attempt: int
    attempted_at: str
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True)
class RoundOutcome:
    """What a delivery round did to a subscription: written back only if its revision holds."""

    position: int
    attempts: int
    next_attempt_at: float
    failing_since: float | None
    last_error: str | None
    status: str
    log: Sequence[dict[str, Any]]


@dataclass(frozen=True)
class Claim:
    """A subscription held for one delivery round (see ``WebhookTable.claimed``)."""

    store: WebhookTable
    subscription: Subscription
    tx: Tx | None

    def record(self, outcome: RoundOutcome) -> bool:
        """Writes the round's attempts, and its outcome unless an admin changed the
        subscription since it was read (then the change stands); True if it was written."""
        return self.store.record(self.subscription, outcome, self.tx)


_COLUMNS = (
    "id, url, event_types, created_at, created_by, status, position, revision, attempts, "
    "next_attempt_at, failing_since, last_error"
)


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        url=row["url"],
        event_types=tuple(json.loads(row["event_types"])),
        created_at=row["created_at"],
        created_by=row["created_by"],
        status=row["status"],
        position=int(row["position"]),
        revision=int(row["revision"]),
        attempts=int(row["attempts"]),
        next_attempt_at=float(row["next_attempt_at"]),
        failing_since=None if row["failing_since"] is None else float(row["failing_since"]),
        last_error=row["last_error"],
    )


class WebhookTable:
    """Subscriptions and their delivery log over the read-model database."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def setup(self) -> None:
        postgres = self.views.dialect == "postgres"
        big = "BIGINT" if postgres else "INTEGER"
        real = "DOUBLE PRECISION" if postgres else "REAL"
        serial = "BIGSERIAL PRIMARY KEY" if postgres else "INTEGER PRIMARY KEY AUTOINCREMENT"
        with self.views.transaction() as tx:
            self.views.lock_for_setup(tx)
            tx.execute(
                "CREATE TABLE IF NOT EXISTS rm_webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL, "
                "event_types TEXT NOT NULL, secret TEXT NOT NULL, created_at TEXT NOT NULL, "
                "created_by TEXT NOT NULL, status TEXT NOT NULL, "
                f"position {big} NOT NULL, revision INTEGER NOT NULL, attempts INTEGER NOT NULL, "
                f"next_attempt_at {real} NOT NULL, failing_since {real}, last_error TEXT)"
            )
            tx.execute(
                f"CREATE TABLE IF NOT EXISTS rm_webhook_deliveries (seq {serial}, "
                f"subscription_id TEXT NOT NULL, position {big} NOT NULL, "
                "message_id TEXT NOT NULL, attempt INTEGER NOT NULL, attempted_at TEXT NOT NULL, "
                f"status_code INTEGER, error TEXT, duration_ms {real} NOT NULL)"
            )
            tx.execute(
                "CREATE INDEX IF NOT EXISTS rm_webhook_deliveries_sub "
                "ON rm_webhook_deliveries (subscription_id, seq)"
            )

    def stored_secret(self, subscription_id: str) -> str:
        """The subscription's secret as stored (``SubscriptionNotFoundError``)."""
        row = self.views.query(
            "SELECT secret FROM rm_webhooks WHERE id = :id", {"id": subscription_id}
        )
        if not row:
            raise SubscriptionNotFoundError(subscription_id)
        secret: str = row[0]["secret"]
        return secret

    # --- Admin ------------------------------------------------------------------------

    def insert(
        self,
        *,
        url: str,
        event_types: Sequence[str],
        seal: Callable[[str], str],
        position: int,
        actor: str,
        now: str,
        at: float,
    ) -> Subscription:
        """Adds a subscription under a new id; ``seal(id)`` gives the secret to store."""
        subscription_id = str(uuid.uuid4())
        with self.views.transaction() as tx:
            tx.execute(
                f"INSERT INTO rm_webhooks ({_COLUMNS}, secret) VALUES (:id, :url, :types, :now, "
                ":actor, :status, :position, 0, 0, :at, NULL, NULL, :secret)",
                {
                    "id": subscription_id,
                    "url": url,
                    "types": json.dumps(list(event_types)),
                    "now": now,
                    "actor": actor,
                    "status": ACTIVE,
                    "position": position,
                    "at": at,
                    "secret": seal(subscription_id),
                },
            )
        return self.get(subscription_id)

    def all(self) -> list[Subscription]:
        rows = self.views.query(f"SELECT {_COLUMNS} FROM rm_webhooks ORDER BY created_at, id")
        return [_subscription(r) for r in rows]

    def get(self, subscription_id: str) -> Subscription:
        rows = self.views.query(
            f"SELECT {_COLUMNS} FROM rm_webhooks WHERE id = :id", {"id": subscription_id}
        )
        if not rows:
            raise SubscriptionNotFoundError(subscription_id)
        return _subscription(rows[0])

    def disable(self, subscription_id: str) -> Subscription:
        """Stops deliveries for good; the row and its log stay, the secret is wiped."""
        self._change(
            subscription_id,
            "status = :status, secret = '', next_attempt_at = 0",
            {"status": DISABLED},
        )
        return self.get(subscription_id)

    def replay(self, subscription_id: str, position: int, at: float) -> Subscription:
        """Delivers again everything after ``position`` (resuming a failing subscription)."""
        current = self.get(subscription_id)
        if current.status == DISABLED:
            raise SubscriptionNotFoundError(subscription_id)
        self._change(
            subscription_id,
            "status = :status, position = :position, attempts = 0, next_attempt_at = :at, "
            "failing_since = NULL, last_error = NULL",
            {"status": ACTIVE, "position": position, "at": at},
        )
        return self.get(subscription_id)

    def _change(self, subscription_id: str, assignments: str, params: dict[str, Any]) -> None:
        with self.views.transaction() as tx:
            rows = tx.execute(
                f"UPDATE rm_webhooks SET {assignments}, revision = revision + 1 "
                "WHERE id = :id AND status <> :disabled RETURNING id",
                {**params, "id": subscription_id, "disabled": DISABLED},
            )
        if not rows:
            raise SubscriptionNotFoundError(subscription_id)

    def deliveries(
        self, subscription_id: str, *, before: int | None = None, limit: int = 100
    ) -> list[Attempt]:
        """The subscription's attempts, newest first (``before`` a sequence number)."""
        self.get(subscription_id)
        rows = self.views.query(
            "SELECT seq, subscription_id, position, message_id, attempt, attempted_at, "
            "status_code, error, duration_ms FROM rm_webhook_deliveries "
            "WHERE subscription_id = :id AND seq < :before ORDER BY seq DESC LIMIT :limit",
            {
                "id": subscription_id,
                "before": before if before is not None else 2**62,
                "limit": limit,
            },
        )
        return [Attempt(**{k: r[k] for k in Attempt.__dataclass_fields__}) for r in rows]

    # --- Delivery ---------------------------------------------------------------------

    def due(self, at: float) -> list[str]:
        """The active subscriptions whose next attempt is due, oldest first."""
        rows = self.views.query(
            "SELECT id FROM rm_webhooks WHERE status = :active AND next_attempt_at <= :at "
            "ORDER BY created_at, id",
            {"active": ACTIVE, "at": at},
        )
        return [r["id"] for r in rows]

    @contextmanager
    def claimed(self, subscription_id: str, at: float) -> Iterator[Claim | None]:
        """The subscription, held for one delivery round by this process alone (PostgreSQL:
        its row locked ``FOR UPDATE SKIP LOCKED`` until the round's outcome commits; another
        process skips it), or None if another holds it or it is no longer due. SQLite: one
        process serves the file, and the outcome is written in a short transaction of its own
        (a round never holds the file's write lock while it waits on a receiver)."""
        sql = (
            f"SELECT {_COLUMNS} FROM rm_webhooks WHERE id = :id AND status = :active "
            "AND next_attempt_at <= :at"
        )
        params = {"id": subscription_id, "active": ACTIVE, "at": at}
        if self.views.dialect == "postgres":
            with self.views.transaction() as tx:
                row = tx.one(sql + " FOR UPDATE SKIP LOCKED", params)
                yield Claim(self, _subscription(row), tx) if row else None
            return
        rows = self.views.query(sql, params)
        yield Claim(self, _subscription(rows[0]), None) if rows else None

    def record(self, subscription: Subscription, outcome: RoundOutcome, tx: Tx | None) -> bool:
        if tx is None:
            with self.views.transaction() as own:
                return self._record(own, subscription, outcome)
        return self._record(tx, subscription, outcome)

    def _record(self, tx: Tx, subscription: Subscription, outcome: RoundOutcome) -> bool:
        tx.executemany(
            "INSERT INTO rm_webhook_deliveries (subscription_id, position, message_id, attempt, "
            "attempted_at, status_code, error, duration_ms) VALUES (:subscription_id, "
            ":position, :message_id, :attempt, :attempted_at, :status_code, :error, :duration_ms)",
            outcome.log,
        )
        rows = tx.execute(
            "UPDATE rm_webhooks SET position = :position, attempts = :attempts, "
            "next_attempt_at = :next_attempt_at, failing_since = :failing_since, "
            "last_error = :last_error, status = :status "
            "WHERE id = :id AND revision = :revision RETURNING id",
            {
                "position": outcome.position,
                "attempts": outcome.attempts,
                "next_attempt_at": outcome.next_attempt_at,
                "failing_since": outcome.failing_since,
                "last_error": outcome.last_error,
                "status": outcome.status,
                "id": subscription.id,
                "revision": subscription.revision,
            },
        )
        return bool(rows)
