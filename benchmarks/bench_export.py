"""CSV export against one running server (`kam serve`, one uvicorn worker) on PostgreSQL.

- csv_export_vs_json: time to stream the whole portfolio (10,000 accounts; fewer with
  ``KAM_BENCH_PORTFOLIO``) as CSV (``GET /portfolio?format=csv``, one response) divided by the
  time to read it as JSON pages (``GET /portfolio?limit=500`` following ``next_cursor``), same
  server, same sort, alternating rounds (median of per-round ratios).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import httpx2 as httpx

from bench_api import ACCOUNTS, ROUNDS, director_token, load_portfolio, serving
from common import fresh_schema
from kam_api.bootstrap import open_services
from kam_api.settings import Settings

TARGETS = {"csv_export_vs_json": ("<=", 1.0)}


def run() -> dict[str, float]:
    with fresh_schema("benchcsv") as (_schema, url):
        with open_services(Settings(database_url=url), check_people=False) as services:
            print(f"   loading {ACCOUNTS} accounts ...", flush=True)
            load_portfolio(services.app, ACCOUNTS)
            projector = services.projector
            projector.setup()
            projector.catch_up()
            with services.views.transaction() as tx:
                for table in ("rm_portfolio", "rm_health", "rm_actions", "rm_search"):
                    tx.execute(f"ANALYZE {table}")
        env = {**os.environ, "KAM_DATABASE_URL": url}
        token = director_token(env)
        with serving(env) as base:
            return {"csv_export_vs_json": measure(base, token)}


def measure(base: str, token: str) -> float:
    auth = {"Authorization": f"Bearer {token}"}
    ratios = []
    with httpx.Client(base_url=base, headers=auth, timeout=300) as client:

        def as_csv() -> int:
            rows = 0
            with client.stream("GET", "/portfolio", params={"format": "csv"}) as response:
                assert response.status_code == 200
                for chunk in response.iter_bytes():
                    rows += chunk.count(b"\r\n")  # no name here holds a line break
            return rows - 1  # the header

        def as_json() -> int:
            rows, params = 0, {"limit": "500"}
            while True:
                response = client.get("/portfolio", params=params)
                assert response.status_code == 200, response.text
                body = response.json()
                rows += len(body["items"])
                if body["next_cursor"] is None:
                    return rows
                params = {"limit": "500", "cursor": body["next_cursor"]}

        as_csv(), as_json()  # warm up both paths

        def timed(read: Callable[[], int]) -> tuple[int, float]:
            started = time.perf_counter()
            rows = read()
            return rows, time.perf_counter() - started

        for round_ in range(ROUNDS):
            if round_ % 2:  # alternate which goes first
                json_rows, json_seconds = timed(as_json)
                csv_rows, csv_seconds = timed(as_csv)
            else:
                csv_rows, csv_seconds = timed(as_csv)
                json_rows, json_seconds = timed(as_json)
            assert csv_rows == json_rows == ACCOUNTS, (csv_rows, json_rows)
            ratios.append(csv_seconds / json_seconds)
            print(
                f"   round {round_ + 1}: csv {csv_seconds:.2f} s, json pages "
                f"{json_seconds:.2f} s ({json_rows} rows), ratio {csv_seconds / json_seconds:.2f}",
                flush=True,
            )
    return statistics.median(ratios)
