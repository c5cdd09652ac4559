"""The projectors' wait between attempts while the database is unreachable."""

from __future__ import annotations

#: Longest wait between two attempts: a restarted database is used again within this long.
BACKOFF_CAP_SECONDS = 1.0


class Backoff:
    """Doubling waits from ``first`` up to ``cap``, back to ``first`` after a success.

    The cap is short on purpose: during an outage every stale pooled connection fails once,
    and an uncapped doubling per failure left a projector idle for many seconds after the
    database was back (issue 15). One attempt a second costs the database nothing.
    """

    def __init__(self, first: float = 0.1, cap: float = BACKOFF_CAP_SECONDS) -> None:
        if not 0 < first <= cap:
            raise ValueError("the first wait must be positive and at most the cap")
        self.first, self.cap = first, cap
        self.delay = first

    def next(self) -> float:
        """The wait before the next attempt (and doubles the one after, up to the cap)."""
        delay = self.delay
        self.delay = min(self.delay * 2, self.cap)
        return delay

    def reset(self) -> None:
        """Working again: the next outage starts with the shortest wait."""
        self.delay = self.first
