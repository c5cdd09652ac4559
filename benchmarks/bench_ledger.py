"""The ledger on PostgreSQL: how fast the whole log is verified, against how fast the read
models are rebuilt from it.

- verify_vs_rebuild: events/s of ``kam_store.verifier.verify_log`` (every event re-hashed and
  checked against its chain entry, the Merkle tree rebuilt over all entries: what ``kam
  verify`` and ``python -m kam_store.verifier`` do) divided by events/s of
  ``kam_projections.rebuild.rebuild`` (all read models, run as ``kam rebuild`` is, in a child
  process), both over the same log of ``KAM_BENCH_EVENTS`` events (default 100,000) written by
  the projection benchmark's workload (``bench_projections.build_log``: 16 threads, ~500
  accounts' stories). Rounds: ``KAM_BENCH_ROUNDS`` (default 2), each measuring the verifier
  just before and just after a rebuild (geometric mean); the figure is the median ratio.
"""

from __future__ import annotations

import statistics
import time

from bench_projections import (
    EVENTS,
    ROUNDS,
    STORE_TODAY,
    build_log,
    count_events,
    rebuild_in_child,
)
from common import fresh_schema
from kam_api.bootstrap import open_services
from kam_api.settings import Settings
from kam_store.url import DatabaseURL
from kam_store.verifier import verify_log

TARGETS = {"verify_vs_rebuild": (">=", 3.0)}


def verify_rate(url: str, events: int) -> float:
    started = time.perf_counter()
    verifier = verify_log(DatabaseURL.parse(url))
    seconds = time.perf_counter() - started
    if verifier.problem is not None or verifier.size != events:
        raise RuntimeError(f"the log did not verify: {verifier.problem}, {verifier.size} entries")
    return events / seconds


def run() -> dict[str, float]:
    with fresh_schema() as (schema, url):
        with open_services(
            Settings(database_url=url, today=STORE_TODAY), check_people=False
        ) as services:
            build_log(services.app, schema, EVENTS)
        events = count_events(schema)
        ratios = []
        for round_ in range(ROUNDS):
            before = verify_rate(url, events)
            report = rebuild_in_child(url)
            after = verify_rate(url, events)
            verify = (before * after) ** 0.5
            rebuild = report["events"] / report["seconds"]
            ratios.append(verify / rebuild)
            print(
                f"   round {round_ + 1}: verify {before:,.0f} / {after:,.0f} events/s (before / "
                f"after), rebuild {rebuild:,.0f} events/s over {events:,} events; ratio "
                f"{verify / rebuild:.2f}",
                flush=True,
            )
    return {"verify_vs_rebuild": statistics.median(ratios)}
