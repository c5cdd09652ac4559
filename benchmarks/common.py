"""Helpers shared by the benchmarks: a throwaway PostgreSQL schema, timing loops."""

from __future__ import annotations

import base64
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

#: Every benchmark (and the servers and children it starts) stores personal data sealed, as a
#: deployment does: one master key for the whole run.
os.environ.setdefault("KAM_MASTER_KEY", base64.b64encode(os.urandom(32)).decode("ascii"))

POSTGRES_URL = os.environ.get(
    "KAM_BENCH_POSTGRES_URL",
    os.environ.get("KAM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)


@contextmanager
def fresh_schema(prefix: str = "bench") -> Iterator[tuple[str, str]]:
    """A new PostgreSQL schema (dropped afterwards); yields (schema, url with ?schema=)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema, f"{POSTGRES_URL}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def throughput(
    threads: int, seconds: float, make_worker: Callable[[int], Callable[[], None]]
) -> float:
    """Operations per second of ``threads`` threads, each calling its worker for ``seconds``."""
    counts = [0] * threads
    workers = [make_worker(i) for i in range(threads)]
    barrier = threading.Barrier(threads + 1)
    deadline = [0.0]

    def loop(i: int) -> None:
        work = workers[i]
        barrier.wait()
        n = 0
        while time.perf_counter() < deadline[0]:
            work()
            n += 1
        counts[i] = n

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    start = time.perf_counter()
    deadline[0] = start + seconds
    barrier.wait()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
