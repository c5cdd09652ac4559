"""How a read's cost grows with the data (issue 14 part 5), on PostgreSQL, through `kam serve`.

- portfolio_read_100k_vs_1k: p50 latency of GET /portfolio?limit=50 on a portfolio of 100,000
  accounts divided by the same on 1,000 accounts (one connection each, two servers side by
  side, alternating rounds; median of per-round ratios). Populating 100,000 accounts through
  the application takes too long for a benchmark, so each portfolio starts as 200 accounts
  registered through the application (with their financials) and projected, and the rest of
  its read-model rows (``rm_portfolio`` and ``rm_health``) are copies of those rows written
  directly with SQL (new ids, names and revenues), then ANALYZEd. The derived ranks and shares
  of the copies are not recomputed: no page reads them to choose its rows.
- history_deep_vs_first_page: p50 latency of GET /accounts/{id}/history?limit=50 with a cursor
  after the account's 50,000th event divided by the p50 of its first page (same server,
  alternating rounds). The account's events are real: 10 stakeholders, each logging 5,100
  interactions through the domain and the store's batch save (``save_aggregates``, 1,000
  events a transaction, 4 threads), all projected by the projector.

Load comes from wrk (when installed; else a Python client, which the figure then says).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import psycopg

from bench_api import KAM, META, free_port, load_portfolio, python_load, wait_up, wrk
from common import fresh_schema
from kam_api.bootstrap import open_services
from kam_api.settings import Settings
from kam_domain.commands import IdentifyStakeholder, RegisterAccount
from kam_domain.relationships import Relationship
from kam_domain.values import BuyingRole, InteractionKind, PersonalData, ServiceProfile
from kam_projections.pagination import encode_cursor
from kam_projections.rebuild import rebuild_stale

TARGETS = {
    "portfolio_read_100k_vs_1k": ("<=", 1.5),
    "history_deep_vs_first_page": ("<=", 1.5),
}
ROUNDS = int(os.environ.get("KAM_BENCH_ROUNDS", "3"))
SEEDED = 200  # accounts registered through the application in each portfolio
SMALL, LARGE = 1_000, 100_000
PEOPLE, INTERACTIONS, BATCH = 10, 5_100, 1_000
DEEP = 50_000  # the deep page starts after this many of the account's events


def run() -> dict[str, float]:
    use_wrk = shutil.which("wrk") is not None
    if not use_wrk:
        print("   wrk not found: Python client (figures less exact)", flush=True)
    with (
        fresh_schema("benchreads") as (small_schema, small_url),
        fresh_schema("benchreads") as (large_schema, large_url),
    ):
        account = seed_small(small_url, small_schema)
        seed_large(large_url, large_schema)
        with serving(small_url) as (small, token), serving(large_url) as (large, token2):
            deep = deep_cursor(small_url, small_schema, account)
            assert accounts(small_url, small_schema) == SMALL  # the servers rebuilt nothing
            assert accounts(large_url, large_schema) == LARGE
            history = f"{small}/accounts/{account}/history?limit=50"
            return {
                "portfolio_read_100k_vs_1k": ratio(
                    (f"{large}/portfolio?limit=50", token2),
                    (f"{small}/portfolio?limit=50", token),
                    use_wrk,
                    f"portfolio {LARGE:,} vs {SMALL:,} accounts",
                ),
                "history_deep_vs_first_page": ratio(
                    (f"{history}&cursor={deep}", token),
                    (history, token),
                    use_wrk,
                    f"history after {DEEP:,} events vs first page",
                ),
            }


def seed_small(url: str, schema: str) -> str:
    """1,000 accounts, one of them with 51,000+ events; returns that account's id."""
    with open_services(Settings(database_url=url), check_people=False) as services:
        load_portfolio(services.app, SEEDED)
        account = grow_history(services.app)
        print(f"   wrote {PEOPLE * INTERACTIONS:,} interactions on one account", flush=True)
        rebuild_stale(services.projector)  # sets up and records the models' shapes
        services.projector.catch_up()
    copy_rows(url, schema, SMALL)
    return account


def seed_large(url: str, schema: str) -> None:
    with open_services(Settings(database_url=url), check_people=False) as services:
        load_portfolio(services.app, SEEDED)
        rebuild_stale(services.projector)  # sets up and records the models' shapes
        services.projector.catch_up()
    copy_rows(url, schema, LARGE)


def grow_history(app: object) -> str:
    """One account whose stakeholders log ``PEOPLE * INTERACTIONS`` interactions, saved
    ``BATCH`` events a transaction by 4 threads (the store's batch path)."""
    from kam_domain.application import KamApplication

    assert isinstance(app, KamApplication)
    account = app.handle(
        RegisterAccount(
            name=f"Deep history {uuid.uuid4().hex[:6]}",
            industry="Chemicals",
            region="EMEA",
            service_profile=ServiceProfile.PREMIUM,
        ),
        meta=META,
    ).id
    people = [
        app.handle(
            IdentifyStakeholder.of(
                account,
                PersonalData(name=f"Person {n}"),
                title="Buyer",
                buying_role=BuyingRole.USER,
                influence=3,
                reports_to=None,
            ),
            meta=META,
        ).id
        for n in range(PEOPLE)
    ]

    def tell(person: uuid.UUID) -> None:
        relationship = app.load(Relationship, person, fresh=True)
        start = date(2020, 1, 1)
        for n in range(INTERACTIONS):
            relationship.log_interaction(
                kind=InteractionKind.CALL,
                on=start + timedelta(days=n % 2000),
                summary=f"Call {n}",
                sentiment=n % 5 - 2,
                meta=META,
            )
            if (n + 1) % BATCH == 0 or n + 1 == INTERACTIONS:
                app.save_aggregates(relationship)

    def worker(offset: int) -> None:
        for person in people[offset::4]:
            tell(person)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return str(account)


def copy_rows(url: str, schema: str, total: int) -> None:
    """Grows the portfolio's read-model rows to ``total`` accounts with copies of the
    application's (see the module docstring)."""
    seeded = accounts(url, schema)
    copies = -(-(total - seeded) // seeded)
    with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        for table in ("rm_portfolio", "rm_health"):
            columns = [
                row[0]
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                    (schema, table),
                )
            ]
            changed = {
                "account_id": "md5(s.account_id || g)::uuid::text",
                "name": "s.name || ' #' || g",
                "revenue": "s.revenue * (1 + (g %% 97) / 100.0)",
                "last_revenue": "s.last_revenue * (1 + (g %% 97) / 100.0)",
            }
            values = ", ".join(changed.get(c, f"s.{c}") for c in columns)
            conn.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} "
                f"FROM {table} s CROSS JOIN generate_series(1, %s) g",
                (copies,),
            )
        conn.execute(
            "DELETE FROM rm_portfolio WHERE account_id IN (SELECT account_id FROM rm_portfolio "
            "WHERE name LIKE '%% #%%' "
            "ORDER BY account_id DESC LIMIT %s)",
            (seeded + copies * seeded - total,),
        )
        for table in ("rm_portfolio", "rm_health", "rm_timeline", "rm_health_stakeholders"):
            conn.execute(f"ANALYZE {table}")
    print(f"   portfolio of {accounts(url, schema):,} accounts", flush=True)


def accounts(url: str, schema: str) -> int:
    with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        row = conn.execute("SELECT COUNT(*) FROM rm_portfolio").fetchone()
    return int(row[0]) if row else 0


def deep_cursor(url: str, schema: str, account: str) -> str:
    """The history's cursor after the account's ``DEEP``-th event."""
    with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        row = conn.execute(
            "SELECT position FROM rm_timeline WHERE account_id = %s ORDER BY position "
            "LIMIT 1 OFFSET %s",
            (account, DEEP - 1),
        ).fetchone()
    assert row is not None, f"the account has fewer than {DEEP} events"
    return encode_cursor([row[0]])


@contextmanager
def serving(url: str) -> Iterator[tuple[str, str]]:
    """``kam serve`` on the store at ``url``: (base URL, a director's token)."""
    env = {**os.environ, "KAM_DATABASE_URL": url}
    token = subprocess.run(
        [KAM, "users", "add", f"bench{uuid.uuid4().hex[:6]}", "--role", "director"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [KAM, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600  # a loaded machine starts it slowly
        while True:
            try:
                wait_up(base)
                break
            except RuntimeError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=20)


def p50(url: str, token: str, use_wrk: bool) -> float:
    """p50 latency (ms) of an authenticated GET of ``url``, one connection."""
    if use_wrk:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
        _, latency, bad = wrk(url, 1, script.name)
        assert bad == 0, f"reads of {url} failed"
        return latency
    return python_load(url, 1, {"Authorization": f"Bearer {token}"}, None)[1]


def ratio(
    measured: tuple[str, str], reference: tuple[str, str], use_wrk: bool, label: str
) -> float:
    """Median over rounds of p50(measured) / p50(reference), measured back to back."""
    ratios = []
    for _ in range(ROUNDS):
        base = p50(*reference, use_wrk)
        other = p50(*measured, use_wrk)
        ratios.append(other / base)
        print(f"   p50: {label}: {other:.2f} ms vs {base:.2f} ms", flush=True)
    return statistics.median(ratios)
