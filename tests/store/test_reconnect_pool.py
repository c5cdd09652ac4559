"""The event store's pool (``kam_store.reconnect``): a connection handed back moments ago is
handed out again without the round trip of a check; one idle for longer is checked, and if
its server session is gone, the caller gets a live one instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool
from tests.support import postgres_url_or_skip

from kam_store import reconnect
from kam_store.reconnect import PromptlyReconnectingPool

pytestmark = pytest.mark.postgres


class CountedCheck:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, conn: psycopg.Connection[Any]) -> None:
        self.calls += 1
        ConnectionPool.check_connection(conn)


@pytest.fixture
def counted() -> CountedCheck:
    return CountedCheck()


@pytest.fixture
def pool(counted: CountedCheck) -> Iterator[PromptlyReconnectingPool]:
    url = postgres_url_or_skip()
    with PromptlyReconnectingPool(
        url, min_size=1, max_size=1, check=counted, open=True, timeout=5
    ) as opened:
        yield opened


def backend_pid(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def test_a_connection_handed_back_moments_ago_is_not_checked_again(
    pool: PromptlyReconnectingPool, counted: CountedCheck
) -> None:
    with pool.connection() as conn:
        first = backend_pid(conn)
    checks = counted.calls
    for _ in range(5):
        with pool.connection() as conn:
            assert backend_pid(conn) == first
    assert counted.calls == checks


def test_a_connection_idle_past_the_window_is_checked_and_a_dead_one_replaced(
    pool: PromptlyReconnectingPool, counted: CountedCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pool.connection() as conn:
        killed = backend_pid(conn)
    with psycopg.connect(postgres_url_or_skip(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (killed,))
    monkeypatch.setattr(reconnect, "CHECK_BYPASS", 0.0)  # every connection is past it now
    checks = counted.calls
    with pool.connection() as conn:
        assert backend_pid(conn) != killed
    assert counted.calls > checks
