"""Event-sourced core on PostgreSQL: write throughput against raw psycopg, and cold load time
of a long-lived account against a new one.

- write_vs_raw_pg_16: use-case commands/s through the application service (16 threads, each
  command writing one event to an existing aggregate: a competitor noted on an account, or an
  interaction logged with a stakeholder), divided by raw psycopg single-row INSERT transactions/s
  (16 threads) into a table of the same shape as the events table. Alternating rounds; the
  figure is the median of the per-round ratios.
- as_of_vs_current_load: cold load of that 5,000-event account as of a mid-history instant
  (found by binary search over versions, then loaded via the snapshot before it) divided by
  loading its current state.
- load_5000_vs_10_events: cold load (a fresh application, no aggregate cache) of an account with
  5,000 events (stage, focus, competitor, financials, team, feedback and assessment events)
  divided by one with 10, with snapshots every 50 events (the default setting).
"""

from __future__ import annotations

import os
import random
import statistics
import uuid
from datetime import date
from decimal import Decimal

import psycopg
from psycopg_pool import ConnectionPool

from common import POSTGRES_URL, fresh_schema, median_time, throughput
from kam_api.bootstrap import open_services
from kam_api.settings import Settings
from kam_domain.application import KamApplication
from kam_domain.commands import (
    AddTeamMember,
    AdvanceStage,
    AssessRelationship,
    IdentifyStakeholder,
    LogInteraction,
    NoteCompetitor,
    RecordFeedback,
    RecordFinancials,
    RegisterAccount,
    RemoveTeamMember,
    SetFocus,
)
from kam_domain.key_accounts import KeyAccount
from kam_domain.values import (
    BuyingRole,
    EngagementLevel,
    Envelope,
    FocusWeights,
    InteractionKind,
    KamRole,
    PersonalData,
    ServiceProfile,
    Stage,
    ThreatLevel,
)

TARGETS = {
    "write_vs_raw_pg_16": (">=", 0.5),
    "load_5000_vs_10_events": ("<=", 2.0),
    "as_of_vs_current_load": ("<=", 3.0),
}
THREADS = 16
SECONDS = float(os.environ.get("KAM_BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("KAM_BENCH_ROUNDS", "3"))
META = Envelope(actor="bench")
# A typical stored event's state is ~400 bytes of JSON.
PAYLOAD = b'{"name":"Globex","threat":{"_type_":"ThreatLevel","_data_":"high"},' + b"x" * 330 + b"}"


def raw_rate(url: str, schema: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".raw_events (originator_id uuid NOT NULL, '
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
        conn.execute(
            f'CREATE UNIQUE INDEX IF NOT EXISTS raw_events_nid ON "{schema}".raw_events '
            "(notification_id)"
        )
    sql = (
        f'INSERT INTO "{schema}".raw_events (originator_id, originator_version, topic, state) '
        "VALUES (%s, 1, %s, %s)"
    )
    with ConnectionPool(
        url, min_size=THREADS, max_size=THREADS, kwargs={"autocommit": True}, open=True
    ) as pool:
        pool.wait()

        def worker(_: int):  # type: ignore[no-untyped-def]
            def insert() -> None:
                with pool.connection() as conn:
                    conn.execute(
                        sql,
                        (uuid.uuid4(), "kam_domain.key_accounts:KeyAccount.X", PAYLOAD),
                        prepare=True,
                    )

            return insert

        return throughput(THREADS, SECONDS, worker)


def app_rate(app: KamApplication) -> float:
    # Each thread owns its own accounts and stakeholders: the figure measures the write path,
    # not optimistic-concurrency retries.
    owned: list[tuple[list[uuid.UUID], list[uuid.UUID]]] = []
    for t in range(THREADS):
        accounts, people = [], []
        for i in range(4):
            account = app.handle(
                RegisterAccount(
                    name=f"Bench {uuid.uuid4().hex[:8]} {t}-{i}",
                    industry="Retail",
                    region="EMEA",
                    service_profile=ServiceProfile.STANDARD,
                ),
                meta=META,
            ).id
            accounts.append(account)
            people.append(
                app.handle(
                    IdentifyStakeholder.of(
                        account,
                        PersonalData(name=f"P {t}-{i}"),
                        title=None,
                        buying_role=BuyingRole.USER,
                        influence=3,
                        reports_to=None,
                    ),
                    meta=META,
                ).id
            )
        owned.append((accounts, people))

    def worker(i: int):  # type: ignore[no-untyped-def]
        accounts, people = owned[i]
        rng = random.Random(i)

        def command() -> None:
            if rng.random() < 0.5:
                app.handle(
                    NoteCompetitor(
                        account_id=rng.choice(accounts),
                        name=f"C{rng.randrange(5)}",
                        threat=ThreatLevel.MEDIUM,
                        notes="seen at a trade fair",
                    ),
                    meta=META,
                )
            else:
                app.handle(
                    LogInteraction(
                        stakeholder_id=rng.choice(people),
                        kind=InteractionKind.CALL,
                        on=date(2026, 11, 1),
                        summary="Catch-up call on renewal",
                        sentiment=1,
                    ),
                    meta=META,
                )

        return command

    return throughput(THREADS, SECONDS, worker)


def grow_account(app: KamApplication, events: int) -> uuid.UUID:
    """An account with exactly ``events`` events from a realistic mix of commands."""
    account = app.handle(
        RegisterAccount(
            name=f"Long-lived {uuid.uuid4().hex[:8]}",
            industry="Energy",
            region="NA",
            service_profile=ServiceProfile.PREMIUM,
        ),
        meta=META,
    ).id
    stage = Stage.STRATEGY
    written = 1
    while written < events:
        step = written % 7
        if step == 5:
            app.handle(
                RecordFeedback(
                    account_id=account,
                    nps=written % 11,
                    csat=None,
                    respondent_id=None,
                    comment="quarterly survey",
                ),
                meta=META,
            )
        elif step == 6:
            app.handle(
                AssessRelationship(
                    account_id=account,
                    engagement=EngagementLevel.ENGAGED,
                    trust=4,
                    satisfaction=4,
                    partner_rating=7,
                    notes=None,
                ),
                meta=META,
            )
        elif step == 0:
            stage = stage.next
            app.handle(AdvanceStage(account_id=account, to=stage), meta=META)
        elif step == 1:
            app.handle(SetFocus.of(account, FocusWeights(50, 30, 20)), meta=META)
        elif step == 2:
            app.handle(
                NoteCompetitor(
                    account_id=account, name=f"C{written % 7}", threat=ThreatLevel.LOW, notes=None
                ),
                meta=META,
            )
        elif step == 3:
            app.handle(
                RecordFinancials(
                    account_id=account,
                    period=f"2026-{written % 12 + 1:02d}",
                    revenue=Decimal(written),
                    gross_margin=None,
                    revenue_target=None,
                    currency="EUR",
                ),
                meta=META,
            )
        else:
            member = f"m{written % 9}"
            if member in app.get_account(account).team:
                app.handle(RemoveTeamMember(account_id=account, member=member), meta=META)
            else:
                app.handle(
                    AddTeamMember(account_id=account, member=member, roles=[KamRole.COLLABORATOR]),
                    meta=META,
                )
        written += 1
    assert app.get_account(account).version == events
    return account


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    with fresh_schema() as (schema, url):
        # The application as the service builds it from default settings (pool, aggregate
        # cache, snapshot interval), so the figure is what a deployment gets.
        with open_services(Settings(database_url=url), check_people=False) as services:
            app = services.app
            ratios = []
            for round_ in range(ROUNDS):
                raw = raw_rate(POSTGRES_URL, schema)
                ours = app_rate(app)
                ratios.append(ours / raw)
                print(
                    f"   round {round_ + 1}: raw {raw:,.0f}/s, commands {ours:,.0f}/s, "
                    f"ratio {ours / raw:.2f}",
                    flush=True,
                )
            figures["write_vs_raw_pg_16"] = statistics.median(ratios)

            small = grow_account(app, 10)
            large = grow_account(app, 5000)
        # Cold: a fresh application with no aggregate cache, so every load reads the store.
        with open_services(
            Settings(database_url=url, aggregate_cache_size=0), check_people=False
        ) as services:
            cold = services.app
            for _ in range(20):  # warm the connection pool and prepared statements
                cold.get_account(small)
                cold.get_account(large)
            t_small = median_time(lambda: cold.get_account(small), 300)
            t_large = median_time(lambda: cold.get_account(large), 300)
            # As of the instant its 2,501st event was recorded (mid-history, between snapshots).
            middle = cold.recorder.select_events(large, gt=2500, lte=2501)[0]
            instant = cold.mapper.to_domain_event(middle).timestamp  # type: ignore[attr-defined]
            assert cold.get_as_of(KeyAccount, large, instant).version == 2501
            t_as_of = median_time(lambda: cold.get_as_of(KeyAccount, large, instant), 300)
        print(
            f"   load: 10 events {t_small * 1e3:.2f} ms, 5000 events {t_large * 1e3:.2f} ms, "
            f"5000 events as of mid-history {t_as_of * 1e3:.2f} ms",
            flush=True,
        )
        figures["load_5000_vs_10_events"] = t_large / t_small
        figures["as_of_vs_current_load"] = t_as_of / t_large
    return figures
