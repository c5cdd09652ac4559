"""HTTP API against one running server (`kam serve`, one uvicorn worker) on PostgreSQL.

- api_write_vs_healthz_16: POST command throughput (a competitor noted on one of 200 accounts;
  2xx only) with 16 concurrent connections, divided by GET /healthz throughput with 16
  connections, same server, alternating rounds (median of per-round ratios).
- portfolio_read_p50_vs_healthz: p50 latency of GET /portfolio?limit=50 over a portfolio of
  10,000 accounts divided by the p50 of GET /healthz (one connection each, same server). The
  read models stand still meanwhile, so this is the kept answer (``KAM_ANSWER_CACHE_SIZE``):
  the state's small query, not the page's.
- portfolio_read_uncached_p50_vs_healthz (reported): the same against a second server on the
  same database with ``KAM_ANSWER_CACHE_SIZE=0``, which queries and serialises the page every
  time, as the first read after each write does.
- handover_report_p50_vs_healthz: p50 latency of the JSON handover report of an account with
  5,000 events (20 stakeholders, 4 plans, interactions, feedback, risks, financials) in that
  portfolio, divided by the p50 of GET /healthz (one connection each, same server).

Load comes from wrk when it is installed (`apt-get install wrk`), else from a Python client
(slower, and it competes with the server for the same cores; the figure says which).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx2 as httpx

from common import fresh_schema
from kam_api.bootstrap import open_services
from kam_api.settings import Settings
from kam_domain.commands import (
    AddAction,
    AssignManager,
    AssignRelationshipOwner,
    CompleteAction,
    DraftPlan,
    IdentifyStakeholder,
    LogInteraction,
    MitigateRisk,
    RaiseRisk,
    RecordFeedback,
    RecordFinancials,
    RegisterAccount,
    StartAction,
)
from kam_domain.values import Envelope, ServiceProfile

TARGETS = {
    "api_write_vs_healthz_16": (">=", 0.4),
    "portfolio_read_p50_vs_healthz": ("<=", 2.0),
    "portfolio_read_uncached_p50_vs_healthz": ("report", 0.0),
    "handover_report_p50_vs_healthz": ("<=", 20.0),
}
SECONDS = float(os.environ.get("KAM_BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("KAM_BENCH_ROUNDS", "3"))
ACCOUNTS = int(os.environ.get("KAM_BENCH_PORTFOLIO", "10000"))
RICH_EVENTS = 5000
KAM = str(Path(sys.executable).with_name("kam"))
META = Envelope(actor="bench")
MODEL_TABLES = ("rm_portfolio", "rm_health", "rm_actions", "rm_timeline", "rm_sources")

POST_LUA = """
local counter = 0
local accounts = {%s}
request = function()
  counter = counter + 1
  local account = accounts[(counter %% #accounts) + 1]
  local body = '{"name":"Globex","threat":"medium","notes":"seen ' .. counter .. '"}'
  return wrk.format("POST", "/accounts/" .. account .. "/competitors",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %s"}, body)
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, connections: int, script: str | None = None) -> tuple[float, float, int]:
    """(2xx requests/s, p50 latency in ms, non-2xx count) from a wrk run."""
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(SECONDS))}s",
        "--latency",
        url,
    ]
    if script:
        command += ["-s", script]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    seconds = float(re.search(r"requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = int(errors.group(1)) if errors else 0
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan")
    return (total - bad) / seconds, latency, bad


def python_load(
    url: str, connections: int, headers: dict[str, str], bodies: list[tuple[str, str]] | None
) -> tuple[float, float, int]:
    """The same measurement with Python threads (when wrk is missing)."""
    latencies: list[float] = []
    done, bad = [0], [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + SECONDS

    def worker(i: int) -> None:
        with httpx.Client(headers=headers, timeout=30) as client:
            n = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if bodies:
                    path, body = bodies[(i * 7919 + n) % len(bodies)]
                    response = client.post(
                        url + path, content=body, headers={"Content-Type": "application/json"}
                    )
                else:
                    response = client.get(url)
                n += 1
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    if response.status_code < 300:
                        done[0] += 1
                    else:
                        bad[0] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.perf_counter() - start), statistics.median(latencies), bad[0]


def run() -> dict[str, float]:
    use_wrk = shutil.which("wrk") is not None
    if not use_wrk:
        print(
            "   wrk not found: using the Python load generator (install wrk for cleaner figures)",
            flush=True,
        )
    with fresh_schema("benchapi") as (_schema, url):
        with open_services(Settings(database_url=url), check_people=False) as services:
            app = services.app
            print(f"   loading {ACCOUNTS} accounts ...", flush=True)
            accounts = load_portfolio(app, ACCOUNTS)
            rich = grow_rich_account(app, RICH_EVENTS)
            print(f"   grew one account to {RICH_EVENTS} events", flush=True)
            projector = services.projector
            projector.setup()
            projector.catch_up()
            # A running deployment has autovacuum's statistics; a bulk load just now has none.
            with services.views.transaction() as tx:
                for table in MODEL_TABLES:
                    tx.execute(f"ANALYZE {table}")
        env = {**os.environ, "KAM_DATABASE_URL": url}
        token = director_token(env)
        with serving(env) as base:
            figures = measure(base, token, accounts[:200], use_wrk)
            figures.update(measure_report(base, token, rich, use_wrk))
        with serving({**env, "KAM_ANSWER_CACHE_SIZE": "0"}) as base:
            figures["portfolio_read_uncached_p50_vs_healthz"] = p50_vs_healthz(
                base, f"{base}/portfolio?limit=50", token, use_wrk, "portfolio, uncached"
            )
        return figures


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """``kam serve`` on a free port with ``env``, up; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [KAM, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(base)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def load_portfolio(app: object, count: int) -> list[str]:
    from kam_domain.application import KamApplication

    assert isinstance(app, KamApplication)
    ids: list[str] = []
    lock = threading.Lock()

    def worker(start: int) -> None:
        for i in range(start, count, 16):
            account = app.handle(
                RegisterAccount(
                    name=f"Portfolio {i} {uuid.uuid4().hex[:6]}",
                    industry="Retail",
                    region="EMEA",
                    service_profile=ServiceProfile.STANDARD,
                ),
                meta=META,
            ).id
            app.handle(
                RecordFinancials(
                    account_id=account,
                    period="2026",
                    revenue=Decimal(1000 + (i * 37) % 9000),
                    gross_margin=None,
                    revenue_target=None,
                    currency="EUR",
                ),
                meta=META,
            )
            with lock:
                ids.append(str(account))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ids


def director_token(env: dict[str, str]) -> str:
    """Adds the user ``bench`` (director) to the store ``env`` names; its API token."""
    return subprocess.run(
        [KAM, "users", "add", "bench", "--role", "director"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]


def wait_up(base: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds  # a loaded machine imports and starts it slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("kam serve did not come up")


def measure(base: str, token: str, accounts: list[str], use_wrk: bool) -> dict[str, float]:
    auth = {"Authorization": f"Bearer {token}"}
    ratios = []
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(POST_LUA % (", ".join(json.dumps(a) for a in accounts), token))
    bodies = [
        (
            f"/accounts/{a}/competitors",
            json.dumps({"name": "Globex", "threat": "medium", "notes": f"seen {i}"}),
        )
        for i, a in enumerate(accounts)
    ]
    for round_ in range(ROUNDS):
        if use_wrk:
            health, _, _ = wrk(f"{base}/healthz", 16)
            writes, _, refused = wrk(base, 16, script.name)
        else:
            health, _, _ = python_load(f"{base}/healthz", 16, auth, None)
            writes, _, refused = python_load(base, 16, auth, bodies)
        ratios.append(writes / health)
        print(
            f"   round {round_ + 1}: healthz {health:,.0f}/s, commands {writes:,.0f}/s "
            f"({refused} refused), ratio {writes / health:.2f}",
            flush=True,
        )
    latency_ratio = p50_vs_healthz(base, f"{base}/portfolio?limit=50", token, use_wrk, "portfolio")
    return {
        "api_write_vs_healthz_16": statistics.median(ratios),
        "portfolio_read_p50_vs_healthz": latency_ratio,
    }


def grow_rich_account(app: object, total: int) -> str:
    """One account with ``total`` events across the account, 4 plans and 20 stakeholders,
    shaped like a long-lived key account: mostly interactions, then plan work, feedback,
    risks and financials."""
    from datetime import date, timedelta

    from kam_domain.application import KamApplication
    from kam_domain.values import (
        BuyingRole,
        InteractionKind,
        PersonalData,
        ThreatLevel,
    )

    assert isinstance(app, KamApplication)
    plans = []
    account = app.handle(
        RegisterAccount(
            name=f"Rich account {uuid.uuid4().hex[:6]}",
            industry="Chemicals",
            region="EMEA",
            service_profile=ServiceProfile.PREMIUM,
        ),
        meta=META,
    ).id
    app.handle(AssignManager(account_id=account, manager="bench"), meta=META)
    roles = list(BuyingRole)
    people = [
        app.handle(
            IdentifyStakeholder.of(
                account,
                PersonalData(name=f"Person {n}"),
                title="Director",
                buying_role=roles[n % len(roles)],
                influence=1 + n % 5,
                reports_to=None,
            ),
            meta=META,
        ).id
        for n in range(20)
    ]
    for n, person in enumerate(people):
        app.handle(
            AssignRelationshipOwner(stakeholder_id=person, owner="bench" if n % 2 else "sam"),
            meta=META,
        )
    start = date(2020, 1, 1)
    for year in range(4):
        plan = app.handle(
            DraftPlan(account_id=account, period=str(2022 + year), title=None), meta=META
        ).id
        plans.append(plan)
        for a in range(50):
            action = app.handle(
                AddAction(
                    plan_id=plan,
                    what=f"Action {a}",
                    owner="bench" if a % 3 else "sam",
                    due_on=start + timedelta(days=400 * year + 7 * a),
                    stakeholder_ids=[],
                    success_measure=None,
                    objective_id=None,
                ),
                meta=META,
            ).entity_id
            assert action is not None
            if a % 3:
                app.handle(StartAction(plan_id=plan, action_id=action), meta=META)
            if a % 3 == 1:
                app.handle(
                    CompleteAction(plan_id=plan, action_id=action, outcome="done"), meta=META
                )
    for q in range(40):
        app.handle(
            RecordFinancials(
                account_id=account,
                period=f"{2016 + q // 4}-Q{q % 4 + 1}",
                revenue=Decimal(100000 + q * 1000),
                gross_margin=None,
                revenue_target=None,
                currency="EUR",
            ),
            meta=META,
        )
    for f in range(100):
        app.handle(
            RecordFeedback(
                account_id=account, nps=f % 11, csat=1 + f % 5, respondent_id=None, comment=None
            ),
            meta=META,
        )
    for r in range(30):
        risk = app.handle(
            RaiseRisk(
                account_id=account,
                title=f"Risk {r}",
                severity=ThreatLevel.MEDIUM,
                revenue_at_risk=None,
            ),
            meta=META,
        ).entity_id
        assert risk is not None
        if r % 2:
            app.handle(
                MitigateRisk(account_id=account, risk_id=risk, mitigation="handled"), meta=META
            )
    count = sum(app.repository.get(i).version for i in [account, *people, *plans])
    n = 0
    while count < total:
        person = people[n % len(people)]
        app.handle(
            LogInteraction(
                stakeholder_id=person,
                kind=InteractionKind.CALL,
                on=start + timedelta(days=n % 2000),
                summary=f"Call {n}",
                sentiment=n % 5 - 2,
            ),
            meta=META,
        )
        count += 1
        n += 1
    return str(account)


def measure_report(base: str, token: str, account: str, use_wrk: bool) -> dict[str, float]:
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{base}/accounts/{account}/handover-report"
    first = httpx.get(url, headers=auth, timeout=60)
    assert first.status_code == 200, first.text
    events = first.json()["event_count"]
    assert events >= RICH_EVENTS, f"the report saw {events} events"
    label = f"handover report ({events} events)"
    return {"handover_report_p50_vs_healthz": p50_vs_healthz(base, url, token, use_wrk, label)}


def p50_vs_healthz(base: str, url: str, token: str, use_wrk: bool, label: str) -> float:
    """Median over rounds of (p50 of an authenticated GET of ``url``) / (p50 of /healthz),
    one connection each, measured back to back."""
    auth = {"Authorization": f"Bearer {token}"}
    ratios = []
    for _ in range(ROUNDS):
        if use_wrk:
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as get_script:
                get_script.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
            _, health_p50, _ = wrk(f"{base}/healthz", 1)
            _, p50, bad = wrk(url, 1, get_script.name)
            assert bad == 0, f"{label}: reads failed"
        else:
            _, health_p50, _ = python_load(f"{base}/healthz", 1, auth, None)
            _, p50, _ = python_load(url, 1, auth, None)
        ratios.append(p50 / health_p50)
        print(f"   p50: healthz {health_p50:.2f} ms, {label} {p50:.2f} ms", flush=True)
    return statistics.median(ratios)
