"""The pools' and the retries' jitter is drawn from generators of their own: drawing it leaves
the process's global ``random`` as it was (psycopg_pool drew from the global one for every
connection it opened, moving it under whatever else drew from it, such as a hypothesis
strategy, which warns of that)."""

from __future__ import annotations

import random

from kam_api.bootstrap import RETRY_PAUSE_CAP, retry_delay
from kam_store.reconnect import RECONNECT_CAP, PromptlyReconnectingPool, PromptReconnect


def test_a_connections_lifetime_spread_leaves_the_global_random_alone() -> None:
    before = random.getstate()
    spreads = [PromptlyReconnectingPool._jitter(3600.0, -0.05, 0.0) for _ in range(200)]
    assert random.getstate() == before
    assert all(3600.0 * 0.95 <= spread <= 3600.0 for spread in spreads)
    assert len(set(spreads)) > 1


def test_a_reconnection_backoff_leaves_the_global_random_alone() -> None:
    before = random.getstate()
    first = []
    for _ in range(50):
        attempt = PromptReconnect(timeout=60.0)
        attempt.update_delay(now=0.0)
        first.append(attempt.delay)
        for _ in range(10):
            attempt.update_delay(now=0.0)
            assert attempt.delay <= RECONNECT_CAP
    assert random.getstate() == before
    initial, spread = PromptReconnect.INITIAL_DELAY, PromptReconnect.DELAY_JITTER
    assert all(initial * (1 - spread) <= delay <= initial * (1 + spread) for delay in first)
    assert len(set(first)) > 1


def test_a_commands_retry_pause_leaves_the_global_random_alone() -> None:
    before = random.getstate()
    pauses = [retry_delay(retry) for retry in range(8) for _ in range(20)]
    assert random.getstate() == before
    assert all(0.0 <= pause <= RETRY_PAUSE_CAP for pause in pauses)
