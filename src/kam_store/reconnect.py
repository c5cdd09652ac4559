"""A connection pool that is usable again at once after a PostgreSQL restart.

psycopg_pool, as it comes, waits 1 s, then 2, 4, 8 ... s: between attempts to reconnect a lost
connection (for up to five minutes), and, with a ``check``, after each pooled connection that
fails it as it is handed out. After a restart a pool of stale connections thus kept a request
or the projector waiting for seconds per stale connection (issue 15 measured 14 s). Here:

- a connection that fails its check is dropped and the next one tried at once; only after as
  many failures in a row as the pool holds does the wait start (then short and capped);
- reconnection attempts wait at most ``RECONNECT_CAP``;
- while the server is down (the pool's last attempt to connect failed moments ago, none has
  succeeded since, no connection is idle, and one more attempt made there and then fails
  too), asking for a connection fails at once with ``DatabaseUnreachableError`` instead of
  waiting out the pool's timeout. The library retries a
  read ten times on a pool timeout (``@retry``): a request during an outage took 12 s to
  answer its 503 with a 1 s timeout, a minute with the default 5 s. It now answers within
  about a second. The pool keeps trying to reconnect meanwhile, so nothing changes once the
  server is back.

A connection handed back less than ``CHECK_BYPASS`` ago is handed out again unchecked (the
"alive bypass window" of HikariCP, Java's most used pool): the check is a round trip to the
server on every command's every connection, and one used moments ago is almost surely alive.
One that is not (the server restarted within that moment) fails its query, which answers as
any storage failure does (503, or the projector's retry), and the pool replaces it.

The event store's pool (built by the library) gets this class through ``reconnect_promptly``;
the composition root gives it to the read-model pool too (``PostgresViews(pool_class=...)``).
"""

from __future__ import annotations

import random
from time import monotonic, sleep
from typing import Any

from eventsourcing.postgres import ConnectionPool, PostgresDatastore
from psycopg_pool import PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

#: Longest wait between two attempts at one lost connection (seconds).
RECONNECT_CAP = 0.5
#: How recent a failed attempt to connect must be for the pool to tell callers at once that
#: the server is unreachable (seconds): twice the reconnection cap, so that an outage keeps it
#: fresh while the pool is trying.
UNREACHABLE_FRESH = 2 * RECONNECT_CAP
#: A connection handed back less than this ago is handed out again without a check (seconds).
CHECK_BYPASS = 0.5
#: The pools' jitter comes from a generator of their own. psycopg_pool draws it from the
#: process's global one, for every connection it opens: a pool's thread then moved the state
#: of whatever else draws from it meanwhile (hypothesis warns when a test's strategy finds it
#: moved).
JITTER = random.Random()


class DatabaseUnreachableError(Exception):
    """The database refused the pool's last attempt to connect, moments ago. Deliberately not
    a psycopg error: the event store library would retry it, waiting, as it retries those."""


class PromptReconnect(AttemptWithBackoff):
    """psycopg_pool's doubling back-off between attempts, from 0.1 s, capped."""

    INITIAL_DELAY = 0.1

    def update_delay(self, now: float) -> None:
        """psycopg_pool's ``update_delay``, its jitter drawn from ``JITTER``, then capped."""
        if self.delay == 0.0:
            self.give_up_at = now + self.timeout
            spread = JITTER.uniform(-self.DELAY_JITTER, self.DELAY_JITTER)
            self.delay = self.INITIAL_DELAY * (1.0 + spread)
        else:
            self.delay *= self.DELAY_BACKOFF
        if self.delay + now > self.give_up_at:
            self.delay = max(0.0, self.give_up_at - now)
        self.delay = min(self.delay, RECONNECT_CAP)


class PromptlyReconnectingPool(ConnectionPool[Any]):
    """The library's pool with psycopg_pool's waits shortened (see the module docstring)."""

    @classmethod
    def _jitter(cls, value: float, min_pc: float, max_pc: float) -> float:
        """psycopg_pool's spread of a connection's lifetime, drawn from ``JITTER``."""
        return value * (1.0 + (max_pc - min_pc) * JITTER.random() + min_pc)

    # Class attributes: the event store's pool becomes one of these after it was built.
    _failed_at: float = float("-inf")
    _connected_at: float = float("-inf")

    def _connect(self, timeout: float | None = None) -> Any:
        try:
            conn = super()._connect(timeout=timeout)
        except Exception:
            self._failed_at = monotonic()
            raise
        self._connected_at = monotonic()
        return conn

    def unreachable(self) -> bool:
        """Whether the server refused the pool's last attempt to connect, moments ago, and no
        connection is idle in the pool."""
        failed = self._failed_at
        return (
            failed > self._connected_at
            and monotonic() - failed < UNREACHABLE_FRESH
            and not self._pool
        )

    def _getconn_unchecked(self, timeout: float) -> Any:
        if self.unreachable() and not self._answers_now():
            raise DatabaseUnreachableError(
                f"the database did not accept a connection ({self.name})"
            )
        return super()._getconn_unchecked(timeout)

    def _answers_now(self) -> bool:
        """One attempt to connect, now, closed at once: whether the server is back (a refused
        connection fails in a moment). When it is, the caller waits for the pool's own
        reconnection, at most ``RECONNECT_CAP`` away, instead of being refused."""
        try:
            self._connect(timeout=1.0).close()
        except Exception:
            return False
        return True

    def _return_connection(self, conn: Any, from_getconn: bool) -> None:
        if not from_getconn:  # back from use, not one that just failed its check
            conn._kam_returned_at = monotonic()
        super()._return_connection(conn, from_getconn)

    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        if attempt is None:
            attempt = PromptReconnect(timeout=self.reconnect_timeout)
        super()._add_connection(attempt, growing=growing)

    def _getconn_with_check_loop(self, deadline: float) -> Any:
        # psycopg_pool's loop, minus its wait after each failed check: a stale connection fails
        # at once, and the next may be good. Waiting for a new one is _getconn_unchecked's.
        attempt: AttemptWithBackoff | None = None
        failures = 0
        while True:
            conn = self._getconn_unchecked(deadline - monotonic())
            returned_at = getattr(conn, "_kam_returned_at", float("-inf"))
            if failures == 0 and monotonic() - returned_at < CHECK_BYPASS:
                return conn  # used moments ago: see CHECK_BYPASS
            try:
                self._check_connection(conn)
            except BaseException as error:
                self._putconn(conn, from_getconn=True)
                if not isinstance(error, Exception):
                    raise  # cancelled or interrupted: the connection is back, stop here
            else:
                return conn
            failures += 1
            if failures <= self.max_size:
                continue  # the stale connections of a restart, one after another
            now = monotonic()
            if attempt is None:
                attempt = PromptReconnect(timeout=deadline - now)
            else:
                attempt.update_delay(now)
            if attempt.time_to_give_up(now):
                raise PoolTimeout()
            sleep(attempt.delay)


def reconnect_promptly(datastore: PostgresDatastore) -> None:
    """Makes the datastore's pool a ``PromptlyReconnectingPool`` (the library builds it)."""
    if not isinstance(datastore.pool, PromptlyReconnectingPool):
        # Same layout, two methods changed: the library gives no way to choose the class.
        datastore.pool.__class__ = PromptlyReconnectingPool
