"""Read models on PostgreSQL: rebuild throughput against raw batched inserts and against one
transaction per event, the rebuild's peak memory, and projection lag under write load.

One log of ``KAM_BENCH_EVENTS`` events (default 100,000) is written first, through the
application service with 16 threads and a realistic mix of commands over ~500 accounts, and is
reused by every figure:

- rebuild_vs_raw_batched: events/s of ``kam_projections.rebuild.rebuild`` (all five read models,
  the whole log, run as ``kam rebuild`` would be, in a child process) divided by rows/s of raw
  psycopg ``executemany`` inserts of as many timeline-shaped rows (12 columns, an ~80-character
  summary) in one transaction per 1,000 rows, into a table in the same schema, measured just
  before and just after each rebuild (geometric mean). Rounds: ``KAM_BENCH_ROUNDS``, default 2;
  the figure is the median of the per-round ratios.
- rebuild_vs_per_event_txn: the same rebuild rate divided by the events/s of a ``Projector``
  with ``batch_size=1`` (one transaction per event) over fresh read-model tables in a second
  schema, timed over the first ``KAM_BENCH_PER_EVENT`` events of the log (default 2,000), once
  per round.
- rebuild_peak_rss_mb: the largest peak RSS of the rebuild child processes, in MB.
- projection_lag_p99_ms: 16 writer threads issue commands for ``KAM_BENCH_LAG_SECONDS``
  (default 5) while a ``StandaloneProjector`` (LISTEN/NOTIFY) runs in a thread; a watcher polls
  ``MIN(position)`` of ``rm_tracking`` every ~2 ms and records, per command, the time from the
  use case returning its ``CommandResult`` to every read model having passed its position.
  ``KAM_BENCH_LAG_PROJECTOR=process`` runs ``kam project`` in a child process instead, as
  deployed (the thread shares the GIL with the 16 writers).
"""

from __future__ import annotations

import heapq
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from common import POSTGRES_URL, fresh_schema
from kam_api.bootstrap import open_services
from kam_api.settings import Settings
from kam_domain.application import CommandResult, KamApplication
from kam_domain.commands import (
    AddAction,
    AddTeamMember,
    AdvanceStage,
    AssessRelationship,
    AssignManager,
    ChangeDisposition,
    ClassifyAccount,
    Command,
    CompleteAction,
    DraftPlan,
    FulfilCommitment,
    IdentifyOpportunity,
    IdentifyStakeholder,
    LogInteraction,
    MakeCommitment,
    MitigateRisk,
    NoteCompetitor,
    RaiseRisk,
    RecordFeedback,
    RecordFinancials,
    RecordProgress,
    RegisterAccount,
    RemoveTeamMember,
    RescheduleAction,
    ReviewPlan,
    ScoreCriteria,
    SetFocus,
    SetObjective,
    StartAction,
)
from kam_domain.errors import ConflictError, KamError
from kam_domain.values import (
    AccountKind,
    BuyingRole,
    Disposition,
    EngagementLevel,
    Envelope,
    FocusWeights,
    InteractionKind,
    KamRole,
    KpiStatus,
    OpportunityKind,
    PersonalData,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)
from kam_projections.db import PostgresViews
from kam_projections.projector import Projector, wait_for_position
from kam_projections.standalone import StandaloneProjector

TARGETS = {
    "rebuild_vs_raw_batched": (">=", 0.25),
    "rebuild_vs_per_event_txn": (">=", 10.0),
    "rebuild_peak_rss_mb": ("<=", 300.0),
    "projection_lag_p99_ms": ("report", 0.0),
}
THREADS = 16
EVENTS = int(os.environ.get("KAM_BENCH_EVENTS", "100000"))
ROUNDS = int(os.environ.get("KAM_BENCH_ROUNDS", "2"))
PER_EVENT = int(os.environ.get("KAM_BENCH_PER_EVENT", "2000"))
LAG_SECONDS = float(os.environ.get("KAM_BENCH_LAG_SECONDS", "5"))
#: Where the projector runs in the lag run: "thread" (default) or "process" (``kam project``).
LAG_PROJECTOR = os.environ.get("KAM_BENCH_LAG_PROJECTOR", "thread")
RAW_BATCH = 1000
CHILD = Path(__file__).resolve().parent / "rebuild_child.py"
TODAY = date.today()

# --- A realistic workload --------------------------------------------------------------------

INDUSTRIES = ["Retail", "Energy", "Pharma", "Logistics", "Banking", "Telecom", "Automotive"]
REGIONS = ["EMEA", "NA", "APAC", "LATAM"]
SUMMARIES = [
    "Quarterly business review with procurement on renewal terms and volume commitments",
    "Call with the CIO about the migration roadmap and the pilot in the Hamburg plant",
    "Lunch with the new head of supply chain; interested in the forecasting module",
    "Email exchange on the delayed invoice and the credit note for the March shipment",
    "Workshop on the joint innovation programme; three use cases shortlisted for Q3",
]
ACTIONS = [
    "Prepare the value case for the expansion into the Nordic distribution centres",
    "Organise an executive sponsor meeting with the COO before the budget round",
    "Run a pilot of the analytics add-on with the planning team in two regions",
    "Map the buying centre for the 2027 tender and identify the economic buyer",
    "Resolve the open service tickets and report back to the customer's IT lead",
]
COMPETITORS = ["Globex", "Initech", "Umbrella", "Hooli", "Vandelay"]


@dataclass
class AccountState:
    id: uuid.UUID
    tier: Tier
    stage: Stage = Stage.STRATEGY
    people: list[uuid.UUID] = field(default_factory=list)
    dispositions: dict[uuid.UUID, Disposition] = field(default_factory=dict)
    commitments: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    plan: uuid.UUID | None = None
    plans: int = 0
    plan_actions: int = 0
    objectives: list[uuid.UUID] = field(default_factory=list)
    opportunities: list[uuid.UUID] = field(default_factory=list)
    planned: list[tuple[uuid.UUID, date]] = field(default_factory=list)
    in_progress: list[tuple[uuid.UUID, date]] = field(default_factory=list)
    risks: list[uuid.UUID] = field(default_factory=list)
    month: int = 0
    currency: str = "EUR"
    team: set[str] = field(default_factory=set)


class Writer:
    """One thread's share of the workload: its own accounts, so commands seldom conflict
    (only classification touches shared aggregates, the tier rosters)."""

    def __init__(self, app: KamApplication, index: int, accounts: int) -> None:
        self.app = app
        self.index = index
        self.accounts_to_open = accounts
        self.rng = random.Random(1000 + index)
        self.accounts: list[AccountState] = []
        self.weights: list[float] = []
        self.refused = 0
        self.conflicts = 0
        self.actor = f"kam{index}@example.com"
        self.commands: list[tuple[Callable[[AccountState], CommandResult | None], float]] = [
            (self.log_interaction, 22),
            (self.add_action, 10),
            (self.start_action, 7),
            (self.complete_action, 7),
            (self.record_financials, 8),
            (self.record_feedback, 6),
            (self.assess, 5),
            (self.reschedule_action, 4),
            (self.note_competitor, 4),
            (self.score_criteria, 3),
            (self.raise_risk, 3),
            (self.identify_stakeholder, 3),
            (self.mitigate_risk, 2),
            (self.change_disposition, 2),
            (self.make_commitment, 2),
            (self.set_focus, 2),
            (self.advance_stage, 2),
            (self.review_plan, 2),
            (self.set_objective, 2),
            (self.record_progress, 2),
            (self.identify_opportunity, 2),
            (self.fulfil_commitment, 1),
            (self.add_team_member, 1),
            (self.draft_plan, 1),
            (self.classify, 0.5),
        ]
        self.command_weights = [w for _, w in self.commands]

    def meta(self, reason: str | None = None) -> Envelope:
        return Envelope(actor=self.actor, reason=reason, correlation_id=uuid.uuid4().hex)

    def call(self, command: Command, meta: Envelope) -> CommandResult | None:
        for _ in range(10):
            try:
                return self.app.handle(command, meta=meta)
            except ConflictError:
                self.conflicts += 1
            except KamError:
                self.refused += 1
                return None
        self.refused += 1
        return None

    # --- Onboarding: ~12 events per account ---------------------------------------------

    def onboard(self) -> Iterator[CommandResult | None]:
        rng = self.rng
        for n in range(self.accounts_to_open):
            registered = self.call(
                RegisterAccount(
                    name=f"Account {self.index:02d}-{n:03d} {uuid.uuid4().hex[:6]}",
                    industry=rng.choice(INDUSTRIES),
                    region=rng.choice(REGIONS),
                    service_profile=rng.choice(list(ServiceProfile)),
                ),
                meta=self.meta(),
            )
            yield registered
            if registered is None:
                continue
            account = AccountState(
                id=registered.id,
                tier=rng.choices(list(Tier), weights=[1, 3, 6])[0],
                currency=rng.choice(["EUR", "EUR", "USD", "GBP"]),
            )
            self.accounts.append(account)
            # Pareto-ish activity: a few accounts get most of the commands.
            self.weights.append(rng.paretovariate(1.2))
            yield self.call(
                ClassifyAccount(
                    account_id=account.id,
                    tier=account.tier,
                    kind=rng.choice(list(AccountKind)),
                    rationale="Strategic fit and growth potential in the next three years",
                ),
                meta=self.meta("board approved exception to the tier cap"),
            )
            yield self.score_criteria(account)
            yield self.call(
                AssignManager(account_id=account.id, manager=f"kam{self.index}"), meta=self.meta()
            )
            for _ in range(3):
                yield self.identify_stakeholder(account)
            yield self.draft_plan(account)
            yield self.record_financials(account)
            yield self.add_action(account)
            yield self.add_team_member(account)

    def step(self) -> CommandResult | None:
        account = self.rng.choices(self.accounts, weights=self.weights)[0]
        command = self.rng.choices(self.commands, weights=self.command_weights)[0][0]
        return command(account)

    # --- Accounts -------------------------------------------------------------------------

    def score_criteria(self, a: AccountState) -> CommandResult | None:
        r = self.rng
        criteria = SelectionCriteria(*(r.randint(1, 5) for _ in range(8)))
        return self.call(ScoreCriteria.of(a.id, criteria), meta=self.meta())

    def classify(self, a: AccountState) -> CommandResult | None:
        a.tier = self.rng.choice(list(Tier))
        return self.call(
            ClassifyAccount(
                account_id=a.id,
                tier=a.tier,
                kind=self.rng.choice(list(AccountKind)),
                rationale="Annual portfolio review moved the account",
            ),
            meta=self.meta("annual portfolio review"),
        )

    def record_financials(self, a: AccountState) -> CommandResult | None:
        r = self.rng
        if a.month and r.random() < 0.15:
            month = a.month - 1  # a correction of the last period
        else:
            month, a.month = a.month, a.month + 1
        revenue = Decimal(r.randint(50_000, 5_000_000))
        return self.call(
            RecordFinancials(
                account_id=a.id,
                period=f"{2020 + month // 12}-{month % 12 + 1:02d}",
                revenue=revenue,
                gross_margin=revenue * Decimal("0.31"),
                revenue_target=revenue * Decimal("1.1"),
                currency=a.currency,
            ),
            meta=self.meta(),
        )

    def record_feedback(self, a: AccountState) -> CommandResult | None:
        r = self.rng
        respondent = r.choice(a.people) if a.people and r.random() < 0.3 else None
        return self.call(
            RecordFeedback(
                account_id=a.id,
                nps=r.randint(0, 10),
                csat=r.randint(1, 5) if r.random() < 0.5 else None,
                respondent_id=respondent,
                comment="Happy with delivery, pricing discussion pending"
                if r.random() < 0.5
                else None,
            ),
            meta=self.meta(),
        )

    def assess(self, a: AccountState) -> CommandResult | None:
        r = self.rng
        return self.call(
            AssessRelationship(
                account_id=a.id,
                engagement=r.choice(list(EngagementLevel)),
                trust=r.randint(1, 5),
                satisfaction=r.randint(1, 5),
                partner_rating=r.randint(0, 10),
                notes="Relationship x-ray after the steering committee",
            ),
            meta=self.meta(),
        )

    def note_competitor(self, a: AccountState) -> CommandResult | None:
        return self.call(
            NoteCompetitor(
                account_id=a.id,
                name=self.rng.choice(COMPETITORS),
                threat=self.rng.choice(list(ThreatLevel)),
                notes="Seen in the tender shortlist",
            ),
            meta=self.meta(),
        )

    def raise_risk(self, a: AccountState) -> CommandResult | None:
        result = self.call(
            RaiseRisk(
                account_id=a.id,
                title="Budget freeze announced for the second half",
                severity=self.rng.choice(list(ThreatLevel)),
                revenue_at_risk=Decimal(self.rng.randint(10_000, 500_000)),
            ),
            meta=self.meta(),
        )
        if result is not None and result.entity_id is not None:
            a.risks.append(result.entity_id)
        return result

    def mitigate_risk(self, a: AccountState) -> CommandResult | None:
        if not a.risks:
            return self.raise_risk(a)
        risk = a.risks.pop(self.rng.randrange(len(a.risks)))
        return self.call(
            MitigateRisk(account_id=a.id, risk_id=risk, mitigation="Agreed a phased rollout"),
            meta=self.meta(),
        )

    def set_focus(self, a: AccountState) -> CommandResult | None:
        p = self.rng.randint(10, 60)
        e = self.rng.randint(10, 90 - p)
        return self.call(SetFocus.of(a.id, FocusWeights(p, e, 100 - p - e)), meta=self.meta())

    def advance_stage(self, a: AccountState) -> CommandResult | None:
        result = self.call(AdvanceStage(account_id=a.id, to=a.stage.next), meta=self.meta())
        if result is not None:
            a.stage = a.stage.next
        return result

    def add_team_member(self, a: AccountState) -> CommandResult | None:
        member = f"member{self.rng.randrange(40)}@example.com"
        if member in a.team:
            a.team.discard(member)
            return self.call(RemoveTeamMember(account_id=a.id, member=member), meta=self.meta())
        a.team.add(member)
        return self.call(
            AddTeamMember(account_id=a.id, member=member, roles=[self.rng.choice(list(KamRole))]),
            meta=self.meta(),
        )

    # --- Stakeholders -----------------------------------------------------------------------

    def identify_stakeholder(self, a: AccountState) -> CommandResult | None:
        r = self.rng
        n = len(a.people)
        result = self.call(
            IdentifyStakeholder.of(
                a.id,
                PersonalData(name=f"Person {n} of {a.id.hex[:6]}", email=f"p{n}@customer.com"),
                title=r.choice(["CIO", "Head of Procurement", "COO", "IT Lead", None]),
                buying_role=r.choice(list(BuyingRole)),
                influence=r.randint(1, 5),
                reports_to=None,
            ),
            meta=self.meta(),
        )
        if result is not None:
            a.people.append(result.id)
            a.dispositions[result.id] = Disposition.NEUTRAL
        return result

    def log_interaction(self, a: AccountState) -> CommandResult | None:
        if not a.people:
            return self.identify_stakeholder(a)
        r = self.rng
        return self.call(
            LogInteraction(
                stakeholder_id=r.choice(a.people),
                kind=r.choice(list(InteractionKind)),
                on=TODAY - timedelta(days=r.randint(0, 120)),
                summary=r.choice(SUMMARIES),
                sentiment=r.randint(-2, 2),
            ),
            meta=self.meta(),
        )

    def change_disposition(self, a: AccountState) -> CommandResult | None:
        if not a.people:
            return self.identify_stakeholder(a)
        person = self.rng.choice(a.people)
        new = self.rng.choice([d for d in Disposition if d != a.dispositions[person]])
        result = self.call(
            ChangeDisposition(stakeholder_id=person, disposition=new),
            meta=self.meta("reaction to the pricing proposal"),
        )
        if result is not None:
            a.dispositions[person] = new
        return result

    def make_commitment(self, a: AccountState) -> CommandResult | None:
        if not a.people:
            return self.identify_stakeholder(a)
        person = self.rng.choice(a.people)
        result = self.call(
            MakeCommitment(
                stakeholder_id=person,
                description="Send the reference case from the automotive pilot",
                due_on=TODAY + timedelta(days=self.rng.randint(-10, 30)),
            ),
            meta=self.meta(),
        )
        if result is not None and result.entity_id is not None:
            a.commitments.append((person, result.entity_id))
        return result

    def fulfil_commitment(self, a: AccountState) -> CommandResult | None:
        if not a.commitments:
            return self.make_commitment(a)
        person, commitment = a.commitments.pop(0)
        return self.call(
            FulfilCommitment(stakeholder_id=person, commitment_id=commitment, note="Sent"),
            meta=self.meta(),
        )

    # --- Plans and actions ------------------------------------------------------------------

    def draft_plan(self, a: AccountState) -> CommandResult | None:
        result = self.call(
            DraftPlan(
                account_id=a.id,
                period=f"FY{2025 + a.plans}",
                title=f"Account plan FY{2025 + a.plans}",
            ),
            meta=self.meta(),
        )
        a.plans += 1
        if result is not None:
            a.plan, a.plan_actions = result.id, 0
            a.objectives.clear()
            a.opportunities.clear()
            a.planned.clear()
            a.in_progress.clear()
        return result

    def plan_of(self, a: AccountState) -> uuid.UUID | None:
        if a.plan is None or a.plan_actions >= 60:
            self.draft_plan(a)
        return a.plan

    def add_action(self, a: AccountState) -> CommandResult | None:
        plan = self.plan_of(a)
        if plan is None:
            return None
        r = self.rng
        due = TODAY + timedelta(days=r.randint(-20, 90))
        result = self.call(
            AddAction(
                plan_id=plan,
                what=r.choice(ACTIONS),
                owner=f"kam{self.index}",
                due_on=due,
                stakeholder_ids=[r.choice(a.people)] if a.people and r.random() < 0.3 else [],
                success_measure="Signed-off next step",
                objective_id=r.choice(a.objectives) if a.objectives and r.random() < 0.5 else None,
            ),
            meta=self.meta(),
        )
        if result is not None and result.entity_id is not None:
            a.planned.append((result.entity_id, due))
            a.plan_actions += 1
        return result

    def start_action(self, a: AccountState) -> CommandResult | None:
        if not a.planned or a.plan is None:
            return self.add_action(a)
        action = a.planned.pop(self.rng.randrange(len(a.planned)))
        result = self.call(StartAction(plan_id=a.plan, action_id=action[0]), meta=self.meta())
        if result is not None:
            a.in_progress.append(action)
        return result

    def complete_action(self, a: AccountState) -> CommandResult | None:
        pool = a.in_progress or a.planned
        if not pool or a.plan is None:
            return self.add_action(a)
        action = pool.pop(self.rng.randrange(len(pool)))
        return self.call(
            CompleteAction(
                plan_id=a.plan,
                action_id=action[0],
                outcome="Done; customer confirmed in the weekly call",
            ),
            meta=self.meta(),
        )

    def reschedule_action(self, a: AccountState) -> CommandResult | None:
        pool = a.planned or a.in_progress
        if not pool or a.plan is None:
            return self.add_action(a)
        i = self.rng.randrange(len(pool))
        action_id, due = pool[i]
        new_due = due + timedelta(days=self.rng.randint(7, 30))
        result = self.call(
            RescheduleAction(plan_id=a.plan, action_id=action_id, due_on=new_due),
            meta=self.meta("customer asked to move it after their budget meeting"),
        )
        if result is not None:
            pool[i] = (action_id, new_due)
        return result

    def review_plan(self, a: AccountState) -> CommandResult | None:
        plan = self.plan_of(a)
        if plan is None:
            return None
        return self.call(
            ReviewPlan(
                plan_id=plan,
                notes="Monthly review: two actions slipped, pipeline on track",
                kpi_status=self.rng.choice(list(KpiStatus)),
            ),
            meta=self.meta(),
        )

    def set_objective(self, a: AccountState) -> CommandResult | None:
        plan = self.plan_of(a)
        if plan is None:
            return None
        result = self.call(
            SetObjective(
                plan_id=plan,
                statement="Grow share of wallet in logistics services",
                metric="share of wallet %",
                baseline=Decimal(20),
                target=Decimal(35),
                due_on=TODAY + timedelta(days=180),
            ),
            meta=self.meta(),
        )
        if result is not None and result.entity_id is not None:
            a.objectives.append(result.entity_id)
        return result

    def record_progress(self, a: AccountState) -> CommandResult | None:
        if not a.objectives or a.plan is None:
            return self.set_objective(a)
        return self.call(
            RecordProgress(
                plan_id=a.plan,
                objective_id=self.rng.choice(a.objectives),
                value=Decimal(self.rng.randint(20, 35)),
                note=None,
            ),
            meta=self.meta(),
        )

    def identify_opportunity(self, a: AccountState) -> CommandResult | None:
        plan = self.plan_of(a)
        if plan is None:
            return None
        result = self.call(
            IdentifyOpportunity(
                plan_id=plan,
                kind=self.rng.choice(list(OpportunityKind)),
                title="Roll-out to the Benelux subsidiaries",
                value=Decimal(self.rng.randint(20_000, 900_000)),
                probability=self.rng.randint(10, 80),
            ),
            meta=self.meta(),
        )
        if result is not None and result.entity_id is not None:
            a.opportunities.append(result.entity_id)
        return result


class Progress:
    """Prints the log's growth every few seconds while the workload runs."""

    def __init__(self, label: str, target: int | None) -> None:
        self.label = label
        self.target = target
        self.position = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = last_t = time.perf_counter()
        last = 0
        while not self.stop.wait(5.0):
            now, position = time.perf_counter(), self.position
            of = f"/{self.target:,}" if self.target else ""
            rate = (position - last) / (now - last_t)
            print(
                f"   {self.label}: {position:,}{of} events, {rate:,.0f}/s now, "
                f"{position / (now - started):,.0f}/s overall",
                flush=True,
            )
            last, last_t = position, now


def count_events(schema: str) -> int:
    """Events stored (not the last id: rolled-back group commits leave gaps in the ids)."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{schema}".kam_events').fetchone()
    return int(row[0]) if row else 0


def write_until(writers: list[Writer], target: int, progress: Progress, onboard: bool) -> None:
    """Runs every writer on its own thread until a command's position reaches ``target``."""
    done = threading.Event()
    errors: list[BaseException] = []

    def note(result: CommandResult | None) -> None:
        if result is not None:
            progress.position = max(progress.position, result.position)
            if result.position >= target:
                done.set()

    def work(writer: Writer) -> None:
        try:
            if onboard:
                for result in writer.onboard():
                    note(result)
            while not done.is_set():
                note(writer.step())
        except BaseException as error:  # re-raised below
            errors.append(error)
            done.set()

    pool = [threading.Thread(target=work, args=(w,)) for w in writers]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]


def build_log(app: KamApplication, schema: str, events: int) -> list[Writer]:
    """Writes ``events`` events (a few more) with 16 threads; returns the writers (reused
    by the lag run, so it continues the same accounts, plans and stakeholders)."""
    accounts = max(THREADS, min(512, events // 100))
    writers = [
        Writer(app, i, accounts // THREADS + (1 if i < accounts % THREADS else 0))
        for i in range(THREADS)
    ]
    progress = Progress("build", events)
    started = time.perf_counter()
    progress.thread.start()
    try:
        write_until(writers, events, progress, onboard=True)
        stored = count_events(schema)
        while stored < events:
            # Ids have gaps (a group commit that conflicted is redone under new ids): top up.
            write_until(writers, progress.position + events - stored, progress, onboard=False)
            stored = count_events(schema)
    finally:
        progress.stop.set()
    seconds = time.perf_counter() - started
    print(
        f"   built {stored:,} events (last id {progress.position:,}; {accounts} accounts) in "
        f"{seconds:.1f} s ({stored / seconds:,.0f} events/s); conflicts retried "
        f"{sum(w.conflicts for w in writers)}, refused {sum(w.refused for w in writers)}",
        flush=True,
    )
    return writers


# --- Baselines ---------------------------------------------------------------------------------


def timeline_rows(count: int) -> list[tuple[Any, ...]]:
    """Rows shaped like ``rm_timeline``'s: 12 columns, an ~80-character summary."""
    rng = random.Random(7)
    accounts = [str(uuid.uuid4()) for _ in range(500)]
    base = datetime(2026, 1, 1, 9, 0)
    rows = []
    for i in range(1, count + 1):
        at = (base + timedelta(seconds=i)).isoformat()
        rows.append(
            (
                i,
                rng.choice(accounts),
                str(uuid.uuid4()),
                "AccountPlan",
                rng.randint(1, 200),
                "ActionRescheduled",
                "kam3@example.com",
                at,
                at,
                "customer asked to move it" if i % 5 == 0 else None,
                uuid.uuid4().hex,
                rng.choice(SUMMARIES)[:80],
            )
        )
    return rows


def raw_batched_rate(schema: str, rows: list[tuple[Any, ...]]) -> float:
    """Rows/s of executemany inserts, one transaction per ``RAW_BATCH`` rows."""
    table = f'"{schema}".raw_timeline'
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(
            f"CREATE TABLE {table} (position BIGINT PRIMARY KEY, account_id TEXT NOT NULL, "
            "aggregate_id TEXT NOT NULL, aggregate_type TEXT NOT NULL, "
            "aggregate_version INTEGER NOT NULL, event_type TEXT NOT NULL, actor TEXT NOT NULL, "
            "recorded_at TEXT NOT NULL, occurred_at TEXT NOT NULL, reason TEXT, "
            "correlation_id TEXT, summary TEXT NOT NULL)"
        )
        sql = f"INSERT INTO {table} VALUES ({', '.join(['%s'] * 12)})"
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for i in range(0, len(rows), RAW_BATCH):
                with conn.transaction():
                    cursor.executemany(sql, rows[i : i + RAW_BATCH])
        seconds = time.perf_counter() - started
        conn.execute(f"DROP TABLE {table}")
    return len(rows) / seconds


def rebuild_in_child(url: str) -> dict[str, Any]:
    """Runs ``rebuild_child.py`` and returns what it printed (events, seconds, peak RSS)."""
    done = subprocess.run(
        [sys.executable, str(CHILD), url], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"rebuild child failed:\n{done.stdout}\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def per_event_rate(app: KamApplication, count: int) -> tuple[float, int]:
    """Events/s of a projector committing one transaction per event, over the log's first
    ``count`` events, into fresh read-model tables in a schema of their own."""
    with (
        fresh_schema("bench_pe") as (schema, url),
        open_services(Settings(database_url=url)) as services,
    ):
        views = services.views
        assert isinstance(views, PostgresViews) and views.schema == schema
        projector = Projector(app, views, batch_size=1)
        projector.setup()
        processed = 0
        started = time.perf_counter()
        while processed < count:
            n = projector.run_once()
            if n == 0:
                break
            processed += n
        seconds = time.perf_counter() - started
    return processed / seconds, processed


# --- Projection lag ------------------------------------------------------------------------------


@contextmanager
def running_projector(url: str, mode: str) -> Iterator[Callable[[], int | None]]:
    """A standalone projector over the store at ``url``, caught up and past its first idle pass
    (when it re-scores health for the day) before this yields a function giving the number of
    events it processed (None in a child process).

    ``thread``: ``StandaloneProjector`` on a thread of this process (it shares the GIL with the
    writers); ``process``: ``kam project`` in a child process, as deployed.
    """
    settings = Settings(database_url=url)
    with open_services(settings) as services:
        views = services.views
        assert isinstance(views, PostgresViews)
        with open_services(settings) as at_start:
            head = at_start.app.recorder.max_notification_id() or 0
        if mode == "process":
            kam = Path(sys.executable).with_name("kam")
            child = subprocess.Popen(
                [str(kam), "project", "--poll-interval", "2"],
                env={**os.environ, "KAM_DATABASE_URL": url},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                if not wait_for_position(views, head, 120):
                    raise RuntimeError("kam project did not catch up before the lag run")
                time.sleep(3.0)  # its first idle pass re-scores health for the day
                yield lambda: None
            finally:
                child.terminate()
                child.wait(30)
            return
        with open_services(settings) as projecting:
            projector_app = projecting.app
            runner = StandaloneProjector(
                Projector(projector_app, views),
                views,
                channel=projector_app.recorder.channel_name,  # type: ignore[attr-defined]
                poll_interval=2.0,
            )
            thread = threading.Thread(target=runner.run, name="bench-projector", daemon=True)
            thread.start()
            try:
                if not runner.active.wait(30) or not runner.projector.wait(head, 120):
                    raise RuntimeError(
                        "the standalone projector did not catch up before the lag run"
                    )
                deadline = time.monotonic() + 60
                while runner.projector._refreshed_on is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                yield lambda: runner.processed
            finally:
                runner.stop()
                thread.join(30)


def projection_lag(
    url: str, schema: str, writers: list[Writer], mode: str
) -> tuple[list[float], float]:
    """Per-command lag (seconds) from commit to visible in every read model; and commands/s."""
    with running_projector(url, mode) as processed:
        pending: list[tuple[int, float]] = []  # (position, committed at), a heap
        lock = threading.Lock()
        lags: list[float] = []
        writing = threading.Event()
        writing.set()

        def watch() -> None:
            sql = f'SELECT MIN(position) FROM "{schema}".rm_tracking'
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                deadline = None
                while True:
                    row = conn.execute(sql, prepare=True).fetchone()
                    seen_at = time.perf_counter()
                    visible = row[0] if row and row[0] is not None else 0
                    with lock:
                        while pending and pending[0][0] <= visible:
                            lags.append(seen_at - heapq.heappop(pending)[1])
                        left = len(pending)
                    if not writing.is_set():
                        if not left:
                            return
                        deadline = deadline or seen_at + 60
                        if seen_at > deadline:
                            print(f"   watcher gave up with {left} pending", flush=True)
                            return
                    time.sleep(0.002)

        def write(writer: Writer) -> None:
            while writing.is_set():
                result = writer.step()
                if result is not None and result.position:
                    committed = time.perf_counter()
                    with lock:
                        heapq.heappush(pending, (result.position, committed))

        before = processed()
        watcher = threading.Thread(target=watch, name="bench-watcher", daemon=True)
        watcher.start()
        pool = [threading.Thread(target=write, args=(w,)) for w in writers]
        started = time.perf_counter()
        for t in pool:
            t.start()
        time.sleep(LAG_SECONDS)
        writing.clear()
        for t in pool:
            t.join()
        wrote = time.perf_counter() - started
        watcher.join(90)
        after = processed()
        projected = (
            f", projector processed {after - before:,} events"
            if after is not None and before is not None
            else ""
        )
        print(
            f"   lag run ({mode}): {len(lags):,} commands in {wrote:.1f} s "
            f"({len(lags) / wrote:,.0f}/s){projected}",
            flush=True,
        )
        return lags, len(lags) / wrote


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- The benchmark -------------------------------------------------------------------------------


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    with fresh_schema() as (schema, url), open_services(Settings(database_url=url)) as services:
        app = services.app
        writers = build_log(app, schema, EVENTS)
        rows = timeline_rows(count_events(schema))

        raw_ratios, per_event_ratios, peaks = [], [], []
        for round_ in range(ROUNDS):
            # The machine is shared: the baseline is taken just before and just after the
            # rebuild, and their geometric mean used, so a change of load mid-round evens out.
            raw_before = raw_batched_rate(schema, rows)
            report = rebuild_in_child(url)
            raw_after = raw_batched_rate(schema, rows)
            raw = (raw_before * raw_after) ** 0.5
            rebuild_rate = report["events"] / report["seconds"]
            per_event, n = per_event_rate(app, PER_EVENT)
            peak_mb = report["peak_rss_kb"] / 1024
            peaks.append(peak_mb)
            raw_ratios.append(rebuild_rate / raw)
            per_event_ratios.append(rebuild_rate / per_event)
            print(
                f"   round {round_ + 1}: raw batched {raw_before:,.0f} / {raw_after:,.0f} "
                f"rows/s (before / after), rebuild {report['events']:,} events in "
                f"{report['seconds']:.1f} s ({report['cpu_seconds']:.1f} s CPU) = "
                f"{rebuild_rate:,.0f} events/s (peak RSS {peak_mb:.0f} MB, "
                f"{report['rss_before_rebuild_kb'] / 1024:.0f} MB before it), per-event txn "
                f"{per_event:,.0f} events/s over the first {n:,}; ratios "
                f"{rebuild_rate / raw:.3f} and {rebuild_rate / per_event:.1f}",
                flush=True,
            )
        children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        mine_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"   (RUSAGE_CHILDREN ru_maxrss {children_kb / 1024:.0f} MB is not used: it "
            f"includes this process's pre-exec peak, {mine_kb / 1024:.0f} MB)",
            flush=True,
        )
        figures["rebuild_vs_raw_batched"] = statistics.median(raw_ratios)
        figures["rebuild_vs_per_event_txn"] = statistics.median(per_event_ratios)
        figures["rebuild_peak_rss_mb"] = max(peaks)

        del rows
        lags, _ = projection_lag(url, schema, writers, LAG_PROJECTOR)
        if lags:
            print(
                f"   lag ms: p50 {percentile(lags, 0.5) * 1e3:.1f}, p90 "
                f"{percentile(lags, 0.9) * 1e3:.1f}, p99 {percentile(lags, 0.99) * 1e3:.1f}, "
                f"max {max(lags) * 1e3:.1f}",
                flush=True,
            )
            figures["projection_lag_p99_ms"] = percentile(lags, 0.99) * 1e3
    return figures
