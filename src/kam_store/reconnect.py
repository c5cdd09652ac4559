"""The event store's connection pool, reconnecting promptly once PostgreSQL is back.

psycopg_pool retries a lost connection after 1 s, then 2, 4, 8 ... s for up to five minutes:
after a restart of half a minute the pool's next attempt could be 16 s away while the server
was long up again (issue 15 measured 14 s). Here the wait is capped at ``RECONNECT_CAP``.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import ConnectionPool, PostgresDatastore
from psycopg_pool.base import AttemptWithBackoff

#: Longest wait between two attempts at one lost connection (seconds).
RECONNECT_CAP = 0.5


class PromptReconnect(AttemptWithBackoff):
    """psycopg_pool's doubling back-off between reconnection attempts, capped."""

    INITIAL_DELAY = 0.1

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_CAP)


class PromptlyReconnectingPool(ConnectionPool[Any]):
    """The library's pool, its reconnection attempts capped (``PromptReconnect``)."""

    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        if attempt is None:
            attempt = PromptReconnect(timeout=self.reconnect_timeout)
        super()._add_connection(attempt, growing=growing)


def reconnect_promptly(datastore: PostgresDatastore) -> None:
    """Makes the datastore's pool a ``PromptlyReconnectingPool`` (the library builds it)."""
    if not isinstance(datastore.pool, PromptlyReconnectingPool):
        # Same layout, one method more: the library gives no way to choose the pool's class.
        datastore.pool.__class__ = PromptlyReconnectingPool
