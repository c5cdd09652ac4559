"""The account page (web app) against one running server (`kam serve`) on PostgreSQL.

- page_account_p50_vs_healthz: p50 latency of GET /app/accounts/{id} (the HTML Overview,
  signed in) of an account with 5,000 events (20 stakeholders, 4 plans of 50 actions,
  financials, feedback, risks, interactions) spread over its six years, in a portfolio, divided
  by the p50 of GET /healthz (one connection each, same server).
- as_of_page_vs_current_page: p50 of the same page with ``as_of`` at the middle of the
  account's history divided by the p50 of the page now.

The account's history is dated (``occurred_on``) as if it had happened over the years, so the
as-of page rebuilds a real past state. Server, load and portfolio helpers are bench_api's.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2 as httpx

import bench_api
from bench_api import ROUNDS, load_portfolio, python_load, serving, wrk
from common import fresh_schema
from kam_api.auth import Role
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
from kam_domain.values import (
    BuyingRole,
    Envelope,
    InteractionKind,
    PersonalData,
    ServiceProfile,
    ThreatLevel,
)

TARGETS = {
    "page_account_p50_vs_healthz": ("<=", 10.0),
    "as_of_page_vs_current_page": ("<=", 3.0),
}
EVENTS = 5000
PORTFOLIO = int(os.environ.get("KAM_BENCH_WEB_PORTFOLIO", "2000"))
YEARS = 6
PASSWORD = "bench-password-" + uuid.uuid4().hex


class Dated:
    """Hands commands to the application, each dated a little after the one before, so
    ``EVENTS`` commands span ``YEARS`` years ending yesterday."""

    def __init__(self, app: Any, today: date) -> None:
        self.app = app
        self.start = datetime.combine(today - timedelta(days=365 * YEARS), datetime.min.time())
        self.start = self.start.replace(tzinfo=UTC)
        self.step = timedelta(days=365 * YEARS - 1) / EVENTS
        self.count = 0

    @property
    def now(self) -> datetime:
        return self.start + self.step * self.count

    def __call__(self, command: Any) -> Any:
        self.count += 1
        return self.app.handle(command, meta=Envelope(actor="bench", occurred_on=self.now))


def grow_dated_account(app: Any, today: date) -> str:
    """One long-lived account of ``EVENTS`` events, shaped like bench_api's rich account."""
    run = Dated(app, today)
    account = run(
        RegisterAccount(
            name=f"Dated account {uuid.uuid4().hex[:6]}",
            industry="Chemicals",
            region="EMEA",
            service_profile=ServiceProfile.PREMIUM,
        )
    ).id
    run(AssignManager(account_id=account, manager="bench"))
    roles = list(BuyingRole)
    people = [
        run(
            IdentifyStakeholder.of(
                account,
                PersonalData(name=f"Person {n}"),
                title="Director",
                buying_role=roles[n % len(roles)],
                influence=1 + n % 5,
                reports_to=None,
            )
        ).id
        for n in range(20)
    ]
    for n, person in enumerate(people):
        run(AssignRelationshipOwner(stakeholder_id=person, owner="bench" if n % 2 else "sam"))
    for q in range(24):
        run(
            RecordFinancials(
                account_id=account,
                period=f"{today.year - YEARS + q // 4}-Q{q % 4 + 1}",
                revenue=Decimal(100000 + q * 1000),
                gross_margin=Decimal("0.3"),
                revenue_target=Decimal(101000 + q * 900),
                currency="EUR",
            )
        )
    for f in range(100):
        run(RecordFeedback(account_id=account, nps=f % 11, csat=1 + f % 5))
    for r in range(30):
        risk = run(
            RaiseRisk(
                account_id=account,
                title=f"Risk {r}",
                severity=ThreatLevel.MEDIUM,
                revenue_at_risk=None,
            )
        ).entity_id
        if r % 2:
            run(MitigateRisk(account_id=account, risk_id=risk, mitigation="handled"))
    plans = []
    for year in range(4):
        plan = run(DraftPlan(account_id=account, period=str(today.year - 3 + year))).id
        plans.append(plan)
        for a in range(50):
            action = run(
                AddAction(
                    plan_id=plan,
                    what=f"Action {a}",
                    owner="bench" if a % 3 else "sam",
                    due_on=run.now.date() + timedelta(days=30 + 7 * a),
                )
            ).entity_id
            if a % 3:
                run(StartAction(plan_id=plan, action_id=action))
            if a % 3 == 1:
                run(CompleteAction(plan_id=plan, action_id=action, outcome="done"))
    n = 0
    while run.count < EVENTS:
        run(
            LogInteraction(
                stakeholder_id=people[n % len(people)],
                kind=InteractionKind.CALL,
                on=run.now.date(),
                summary=f"Call {n}",
                sentiment=n % 5 - 2,
            )
        )
        n += 1
    return str(account)


def sign_in(base: str) -> str:
    """The session cookie of the bench user, through the sign-in form."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        form = client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, "no sign-in form"
        answer = client.post(
            "/sign-in",
            data={"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert answer.status_code == 303, answer.text
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def p50(url: str, cookie: str, use_wrk: bool) -> float:
    """p50 latency (ms) of GETs of ``url`` with one connection."""
    if use_wrk:
        path = None
        if cookie:
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                script.write(f'wrk.headers["Cookie"] = "{cookie}"\n')
            path = script.name
        _, latency, bad = wrk(url, 1, path)
        assert bad == 0, f"{url}: reads failed"
        return latency
    return python_load(url, 1, {"Cookie": cookie} if cookie else {}, None)[1]


def run() -> dict[str, float]:
    use_wrk = shutil.which("wrk") is not None
    today = date.today()
    with fresh_schema("benchweb") as (_schema, url):
        with open_services(Settings(database_url=url), check_people=False) as services:
            app = services.app
            print(f"   loading {PORTFOLIO} accounts ...", flush=True)
            load_portfolio(app, PORTFOLIO)
            account = grow_dated_account(app, today)
            print(f"   grew one account to {EVENTS} events over {YEARS} years", flush=True)
            services.projector.setup()
            services.projector.catch_up()
            with services.views.transaction() as tx:
                for table in bench_api.MODEL_TABLES:
                    tx.execute(f"ANALYZE {table}")
            services.users.add("bench", Role.DIRECTOR)
            services.users.set_password("bench", PASSWORD, actor="bench")
        env = {**os.environ, "KAM_DATABASE_URL": url}
        with serving(env) as base:
            return measure(base, account, today, use_wrk)


def measure(base: str, account: str, today: date, use_wrk: bool) -> dict[str, float]:
    cookie = sign_in(base)
    page = f"{base}/app/accounts/{account}"
    middle = today - timedelta(days=365 * YEARS // 2)
    past = f"{page}?as_of={middle.isoformat()}"
    with httpx.Client(headers={"Cookie": cookie}, timeout=60) as client:
        for address in (page, past):
            answer = client.get(address)
            assert answer.status_code == 200, answer.text[-2000:]
            assert "Relationship health" in answer.text
        assert "You are looking at this account as it was on" in client.get(past).text
    vs_healthz, vs_now = [], []
    for _ in range(ROUNDS):
        health = p50(f"{base}/healthz", "", use_wrk)
        now = p50(page, cookie, use_wrk)
        then = p50(past, cookie, use_wrk)
        vs_healthz.append(now / health)
        vs_now.append(then / now)
        print(
            f"   p50: healthz {health:.2f} ms, account page {now:.2f} ms, "
            f"as of {middle} {then:.2f} ms",
            flush=True,
        )
    return {
        "page_account_p50_vs_healthz": statistics.median(vs_healthz),
        "as_of_page_vs_current_page": statistics.median(vs_now),
    }
