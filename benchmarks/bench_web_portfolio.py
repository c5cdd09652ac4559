"""The portfolio page of the web app against one running server (`kam serve`) on PostgreSQL.

- page_portfolio_p50_vs_healthz: p50 latency of GET /app/portfolio (the HTML page's first
  page of 50 rows, with the summary, the matrix, the Pareto curve, tiers, load and handovers)
  over a portfolio of 10,000 accounts, every one scored and managed (so each is on the
  matrix), signed in with a session cookie, divided by the p50 of GET /healthz (one connection
  each, same server).

The server start-up, the portfolio and the load generators are bench_api's.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
from uuid import UUID

import httpx2 as httpx

from bench_api import (
    ACCOUNTS,
    KAM,
    META,
    MODEL_TABLES,
    ROUNDS,
    load_portfolio,
    python_load,
    serving,
    wrk,
)
from common import fresh_schema
from kam_api.bootstrap import open_services
from kam_api.settings import Settings
from kam_domain.commands import AssignManager, ScoreCriteria
from kam_domain.values import SelectionCriteria

TARGETS = {"page_portfolio_p50_vs_healthz": ("<=", 5.0)}
PASSWORD = "bench-portfolio-password"
MANAGERS = [f"manager{n:02d}" for n in range(12)]


def run() -> dict[str, float]:
    use_wrk = shutil.which("wrk") is not None
    with fresh_schema("benchweb") as (_schema, url):
        with open_services(Settings(database_url=url), check_people=False) as services:
            print(f"   loading {ACCOUNTS} accounts, scored and managed ...", flush=True)
            accounts = load_portfolio(services.app, ACCOUNTS)
            score_and_manage(services.app, accounts)
            services.projector.setup()
            services.projector.catch_up()
            # A running deployment has autovacuum's statistics; a bulk load just now has none.
            with services.views.transaction() as tx:
                for table in MODEL_TABLES:
                    tx.execute(f"ANALYZE {table}")
        env = {**os.environ, "KAM_DATABASE_URL": url}
        subprocess.run(
            [KAM, "users", "add", "bench", "--role", "director"],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [KAM, "users", "set-password", "bench", "--password-stdin"],
            env=env,
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        with serving(env) as base:
            cookie = sign_in(base)
            page = httpx.get(f"{base}/app/portfolio", headers={"Cookie": cookie}, timeout=60)
            assert page.status_code == 200, page.text[:500]
            points = page.text.count('<circle class="point')
            print(f"   the page: {len(page.content):,} bytes, {points} points drawn", flush=True)
            ratio = p50_vs_healthz(base, f"{base}/app/portfolio", cookie, use_wrk)
            return {"page_portfolio_p50_vs_healthz": ratio}


def score_and_manage(app: object, accounts: list[str]) -> None:
    """Every account scored (attractiveness spread over 0..100) and given one of 12 managers."""
    from kam_domain.application import KamApplication

    assert isinstance(app, KamApplication)

    def worker(start: int) -> None:
        for i in range(start, len(accounts), 16):
            account = UUID(accounts[i])
            scores = [1 + (i * k) % 5 for k in range(1, 9)]
            app.handle(ScoreCriteria.of(account, SelectionCriteria(*scores)), meta=META)
            app.handle(
                AssignManager(account_id=account, manager=MANAGERS[i % len(MANAGERS)]), meta=META
            )

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def sign_in(base: str) -> str:
    """Signs in through the sign-in form; the session cookie as a Cookie header value."""
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as client:
        form = client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, "no sign-in form"
        answer = client.post(
            "/sign-in",
            data={
                "username": "bench",
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "next": "/app/portfolio",
            },
        )
        assert answer.status_code == 303, answer.text
        session = client.cookies.get("kam_session")
        assert session, "no session cookie"
        return f"kam_session={session}"


def p50_vs_healthz(base: str, url: str, cookie: str, use_wrk: bool) -> float:
    """Median over rounds of (p50 of the page with the session cookie) / (p50 of /healthz),
    one connection each, measured back to back."""
    headers = {"Cookie": cookie}
    ratios = []
    for _ in range(ROUNDS):
        if use_wrk:
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                script.write(f'wrk.headers["Cookie"] = "{cookie}"\n')
            _, health_p50, _ = wrk(f"{base}/healthz", 1)
            _, p50, bad = wrk(url, 1, script.name)
            assert bad == 0, "portfolio page: reads failed"
        else:
            _, health_p50, _ = python_load(f"{base}/healthz", 1, headers, None)
            _, p50, _ = python_load(url, 1, headers, None)
        ratios.append(p50 / health_p50)
        print(f"   p50: healthz {health_p50:.2f} ms, portfolio page {p50:.2f} ms", flush=True)
    return statistics.median(ratios)
