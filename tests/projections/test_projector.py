"""The projector on both backends: exactly-once, crash safety, wake-up, rebuild, queries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from tests.support import open_views

from kam_domain.application import KamApplication
from kam_domain.commands import (
    AddAction,
    AssessRelationship,
    AssignManager,
    ChangeDisposition,
    ClassifyAccount,
    CompleteAction,
    DraftPlan,
    ExitAccount,
    HandOver,
    IdentifyOpportunity,
    IdentifyStakeholder,
    LogInteraction,
    RaiseRisk,
    ReassignAction,
    RecordExchangeRate,
    RecordFeedback,
    RecordFinancials,
    RegisterAccount,
    RescheduleAction,
    ScoreCriteria,
    StartAction,
    WinOpportunity,
)
from kam_domain.values import (
    AccountKind,
    BuyingRole,
    Disposition,
    EngagementLevel,
    Envelope,
    InteractionKind,
    OpportunityKind,
    PersonalData,
    SelectionCriteria,
    ServiceProfile,
    ThreatLevel,
    Tier,
)
from kam_projections import health
from kam_projections.actions import ActionFilter, action_history, action_rollup, list_actions
from kam_projections.db import ViewDatabase
from kam_projections.freshness import wait_for_position
from kam_projections.health import refresh_health
from kam_projections.health_model import HealthWeights
from kam_projections.health_reads import account_health, health_list
from kam_projections.pagination import InvalidCursorError
from kam_projections.portfolio_reads import PortfolioFilter, portfolio_rows, portfolio_summary
from kam_projections.projector import MODEL_NAMES, EmbeddedProjector, Projector, build_models
from kam_projections.rebuild import UnknownReadModelError, rebuild
from kam_projections.timeline import TimelineFilter, account_timeline

TODAY = date(2026, 11, 22)
#: What these stories do happened before TODAY (undated, it would happen the day the test
#: runs, and health as of TODAY would not know it yet).
EARLIER = datetime(2026, 11, 2, tzinfo=UTC)
ANN = Envelope(actor="ann", occurred_on=EARLIER)
WHY = Envelope(actor="ann", reason="agreed with the customer", occurred_on=EARLIER)
#: Accounts are registered well before the stories.
REGISTERING = Envelope(actor="ann", occurred_on=datetime(2025, 1, 6, tzinfo=UTC))
#: Every table of every read model (derived, so a new model is covered by the rebuild checks).
VIEW_TABLES = tuple(name for model in build_models() for name in model.table_names())
assert {"rm_portfolio", "rm_timeline", "rm_sources"} <= set(VIEW_TABLES)


def clock() -> date:
    return TODAY


@pytest.fixture
def views(database_url: str) -> Iterator[ViewDatabase]:
    database = open_views(database_url)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def projector(app: KamApplication, views: ViewDatabase) -> Projector:
    instance = Projector(app, views, batch_size=7, clock=clock)
    instance.setup()
    return instance


#: Each table's key columns: the order its rows are compared in.
VIEW_KEYS = {
    t.name: ", ".join(t.key) for model in build_models() for t in [*model.tables, *model.logs]
}


def snapshot(views: ViewDatabase) -> dict[str, list[dict[str, Any]]]:
    """Every read-model row, in a stable order (by the first two columns, then the key)."""
    return {t: views.query(f"SELECT * FROM {t} ORDER BY 1, 2, {VIEW_KEYS[t]}") for t in VIEW_TABLES}


def account(app: KamApplication, name: str, revenue: int, tier: Tier | None = None) -> UUID:
    account_id = app.handle(
        RegisterAccount(
            name=name, industry="Retail", region="EMEA", service_profile=ServiceProfile.STANDARD
        ),
        meta=REGISTERING,
    ).id
    app.handle(
        RecordFinancials(
            account_id=account_id,
            period="2026",
            revenue=Decimal(revenue),
            gross_margin=None,
            revenue_target=None,
            currency="EUR",
        ),
        meta=ANN,
    )
    if tier is not None:
        app.handle(
            ClassifyAccount(
                account_id=account_id, tier=tier, kind=AccountKind.EXISTING, rationale="r"
            ),
            meta=ANN,
        )
    return account_id


def person(app: KamApplication, account_id: UUID, role: BuyingRole) -> UUID:
    return app.handle(
        IdentifyStakeholder.of(
            account_id,
            PersonalData(name=f"Person {role.value}"),
            title=None,
            buying_role=role,
            influence=4,
            reports_to=None,
        ),
        meta=ANN,
    ).id


def small_history(app: KamApplication) -> dict[str, UUID]:
    """A few accounts with plans, actions, stakeholders, feedback, risks, a handover, an
    exchange rate and a won cross-sell."""
    big = account(app, "Big Co", 700, Tier.STRATEGIC)
    mid = account(app, "Mid Co", 200, Tier.KEY)
    small = account(app, "Small Co", 100)
    app.handle(ScoreCriteria.of(big, SelectionCriteria(5, 5, 4, 4, 3, 4, 5, 5)), meta=ANN)
    app.handle(AssignManager(account_id=big, manager="ann"), meta=ANN)
    app.handle(AssignManager(account_id=mid, manager="bob"), meta=ANN)
    dm = person(app, big, BuyingRole.DECISION_MAKER)
    champion = person(app, big, BuyingRole.CHAMPION)
    app.handle(
        ChangeDisposition(stakeholder_id=champion, disposition=Disposition.SUPPORTER), meta=WHY
    )
    app.handle(
        LogInteraction(
            stakeholder_id=dm,
            kind=InteractionKind.MEETING,
            on=TODAY - timedelta(days=3),
            summary="Renewal",
            sentiment=2,
        ),
        meta=ANN,
    )
    plan = app.handle(DraftPlan(account_id=big, period="2027", title=None), meta=ANN).id
    late = app.handle(
        AddAction(
            plan_id=plan,
            what="Send proposal",
            owner="ann",
            due_on=TODAY - timedelta(10),
            stakeholder_ids=[dm],
            success_measure=None,
            objective_id=None,
        ),
        meta=ANN,
    ).entity_id
    later = app.handle(
        AddAction(
            plan_id=plan,
            what="Run QBR",
            owner="bob",
            due_on=TODAY + timedelta(30),
            stakeholder_ids=[],
            success_measure=None,
            objective_id=None,
        ),
        meta=ANN,
    ).entity_id
    assert late and later
    usd = RecordExchangeRate(currency="USD", rate=Decimal("0.9"), effective_on=date(2026, 1, 1))
    app.handle(usd, meta=ANN)
    cross_sell = app.handle(
        IdentifyOpportunity(
            plan_id=plan,
            kind=OpportunityKind.CROSS_SELL,
            title="Add-on",
            value=Decimal(30),
            probability=60,
        ),
        meta=ANN,
    ).entity_id
    assert cross_sell
    app.handle(WinOpportunity(plan_id=plan, opportunity_id=cross_sell), meta=ANN)
    app.handle(StartAction(plan_id=plan, action_id=late), meta=ANN)
    app.handle(
        RescheduleAction(plan_id=plan, action_id=later, due_on=TODAY + timedelta(40)), meta=WHY
    )
    app.handle(
        RecordFeedback(account_id=big, nps=9, csat=4, respondent_id=dm, comment=None), meta=ANN
    )
    app.handle(
        AssessRelationship(
            account_id=big,
            engagement=EngagementLevel.ENGAGED,
            trust=4,
            satisfaction=4,
            partner_rating=8,
            notes=None,
        ),
        meta=ANN,
    )
    risk = app.handle(
        RaiseRisk(
            account_id=mid,
            title="Budget cut",
            severity=ThreatLevel.HIGH,
            revenue_at_risk=Decimal(50),
        ),
        meta=ANN,
    ).entity_id
    assert risk
    app.handle(HandOver(account_id=mid, to="eve", effective_on=TODAY), meta=WHY)
    app.handle(ExitAccount(account_id=small), meta=WHY)
    return {"big": big, "mid": mid, "small": small, "plan": plan, "late": late, "dm": dm}


def test_a_duplicate_delivery_of_tracked_events_changes_nothing(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    small_history(app)
    projector.catch_up()
    before = snapshot(views)
    notifications = app.recorder.select_notifications(1, limit=1000)
    with views.transaction() as tx:
        processed = projector._apply(tx, notifications, projector.tracked(tx, lock=True), TODAY)
    assert processed == 0
    assert snapshot(views) == before
    assert projector.run_once() == 0


def test_a_failure_between_view_writes_and_commit_leaves_models_equal_to_a_rebuild(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    small_history(app)
    projector.batch_size = 1000

    def crash() -> None:
        raise RuntimeError("power cut after the view writes")

    projector.before_commit = crash
    with pytest.raises(RuntimeError):
        projector.run_once()
    assert projector.position() == 0
    assert views.query("SELECT COUNT(*) AS n FROM rm_timeline")[0]["n"] == 0
    restarted = Projector(app, views, clock=clock)
    restarted.catch_up()
    incremental = snapshot(views)
    rebuild(app, views, clock=clock)
    assert snapshot(views) == incremental


def test_processing_in_any_batch_size_equals_a_rebuild(
    app: KamApplication, views: ViewDatabase
) -> None:
    small_history(app)
    for size in (1, 3, 1000):
        rebuild(app, views, clock=clock)
        expected = snapshot(views)
        with views.transaction() as tx:
            for table in VIEW_TABLES:
                tx.execute(f"DELETE FROM {table}")
            tx.execute("UPDATE rm_tracking SET position = 0, generation = generation + 1")
        Projector(app, views, batch_size=size, clock=clock).catch_up()
        assert snapshot(views) == expected, size


def test_the_embedded_projector_is_woken_by_a_save(
    app: KamApplication, views: ViewDatabase
) -> None:
    runner = EmbeddedProjector(Projector(app, views, clock=clock), poll_interval=60)
    runner.start()
    try:
        account(app, "Woken Co", 10)
        position = app.recorder.max_notification_id() or 0
        started = time.monotonic()
        assert wait_for_position(views, position, timeout=10)
        assert time.monotonic() - started < 5  # woken, not polled (the poll is 60 s)
    finally:
        runner.stop()


def test_waiting_for_a_position_not_yet_reached_times_out(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    account(app, "Pending Co", 10)
    position = app.recorder.max_notification_id() or 0
    assert not wait_for_position(views, position, timeout=0.05)
    projector.catch_up()
    assert wait_for_position(views, position, timeout=0.05)


def test_readers_never_see_an_empty_model_while_it_is_rebuilt(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    small_history(app)
    projector.catch_up()
    expected = len(views.query("SELECT position FROM rm_timeline"))
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        reader = open_views_like(views)
        try:
            while not stop.is_set():
                seen.append(len(reader.query("SELECT position FROM rm_timeline")))
        finally:
            reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for _ in range(3):
            rebuild(app, views, ["timeline"], clock=clock)
    finally:
        stop.set()
        thread.join()
    assert seen and set(seen) == {expected}


def open_views_like(views: ViewDatabase) -> ViewDatabase:
    from kam_projections.db import PostgresViews, SqliteViews

    if isinstance(views, SqliteViews):
        return SqliteViews(views.path)
    assert isinstance(views, PostgresViews)
    return PostgresViews(views.conninfo, schema=views.schema)


def test_a_rebuild_whose_row_caches_overflow_equals_one_that_keeps_every_row(
    app: KamApplication, views: ViewDatabase
) -> None:
    # Given a history, rebuilt with every row kept in memory (one chunk, the default bound)
    small_history(app)
    rebuild(app, views, clock=clock)
    expected = snapshot(views)
    # When it is rebuilt in chunks of 3 events, each table keeping 2 rows between chunks (so
    # rows written earlier are read back from the table, and rows met again are upserted)
    rebuild(app, views, clock=clock, chunk=3, row_cache_size=2)
    # Then the read models are the same, row for row
    assert snapshot(views) == expected


def test_scoring_accounts_a_few_at_a_time_scores_each_as_all_at_once(
    app: KamApplication, views: ViewDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a history of several accounts, rebuilt with every account scored from one read
    small_history(app)
    rebuild(app, views, clock=clock)
    expected = snapshot(views)
    assert len(views.query("SELECT account_id FROM rm_health")) > 1
    # When each read of facts scores one account
    monkeypatch.setattr(health, "SCORE_CHUNK", 1)
    rebuild(app, views, clock=clock)
    # Then every score, and every other row, is the same
    assert snapshot(views) == expected


def test_the_live_projector_continues_on_the_swapped_tables(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    ids = small_history(app)
    projector.catch_up()
    rebuild(app, views, clock=clock)
    app.handle(CompleteAction(plan_id=ids["plan"], action_id=ids["late"], outcome="sent"), meta=ANN)
    projector.catch_up()
    late = list_actions(views, ActionFilter(plan_id=ids["plan"]), today=TODAY).items
    assert {a["what"]: a["status"] for a in late}["Send proposal"] == "completed"


def test_an_unknown_model_cannot_be_rebuilt(app: KamApplication, views: ViewDatabase) -> None:
    with pytest.raises(UnknownReadModelError):
        rebuild(app, views, ["portfolio", "gossip"])


# --- Queries --------------------------------------------------------------------------


def test_the_portfolio_ranks_accounts_by_revenue_with_pareto_shares(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    ids = small_history(app)
    projector.catch_up()
    rows = portfolio_rows(views, PortfolioFilter(), today=TODAY).items
    assert [r["name"] for r in rows] == ["Big Co", "Mid Co"]  # the exited one is left out
    big, mid = rows
    assert (big["pareto_rank"], big["revenue_share"], big["top20"]) == (
        1,
        pytest.approx(0.7778, abs=1e-3),
        True,
    )
    assert mid["cumulative_share"] == pytest.approx(1.0)
    assert big["open_actions"] == 2 and big["overdue_actions"] == 1
    assert big["quadrant"] in ("grow", "fix") and big["health_band"] in ("green", "amber", "red")
    assert mid["pending_handover"] and mid["manager"] == "eve"
    assert mid["revenue_at_risk"] == 50
    assert big["last_interaction_on"] == (TODAY - timedelta(days=3)).isoformat()
    assert big["account_id"] == str(ids["big"])


def test_the_portfolio_filters_sorts_and_pages(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    for i in range(7):
        account(app, f"Co {i}", 100 + i, Tier.EMERGING if i % 2 else Tier.KEY)
    projector.catch_up()
    names, cursor = [], None
    name_cursor = None
    while True:
        page = portfolio_rows(
            views, PortfolioFilter(), today=TODAY, sort="name", limit=3, cursor=cursor
        )
        names += [r["name"] for r in page.items]
        cursor = page.next_cursor
        name_cursor = name_cursor or cursor
        if cursor is None:
            break
    assert names == [f"Co {i}" for i in range(7)]
    key = portfolio_rows(views, PortfolioFilter(tier="key"), today=TODAY).items
    assert {r["name"] for r in key} == {"Co 0", "Co 2", "Co 4", "Co 6"}
    by_revenue = portfolio_rows(views, PortfolioFilter(), today=TODAY, limit=2)
    assert [r["name"] for r in by_revenue.items] == ["Co 6", "Co 5"]
    # A cursor of one sort is refused by another, and garbage is refused.
    with pytest.raises(InvalidCursorError):
        portfolio_rows(views, PortfolioFilter(), today=TODAY, sort="revenue", cursor=name_cursor)
    with pytest.raises(InvalidCursorError):
        portfolio_rows(views, PortfolioFilter(), today=TODAY, cursor="not-a-cursor!")


def test_the_portfolio_summary_counts_tiers_against_caps(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    small_history(app)
    projector.catch_up()
    summary = portfolio_summary(views, {Tier.STRATEGIC: 1, Tier.KEY: 5, Tier.EMERGING: 9})
    assert summary["tiers"][0] == {"tier": "strategic", "accounts": 1, "cap": 1}
    assert summary["accounts"] == 2 and summary["pending_handovers"] == 1
    assert summary["top20_revenue"] == 700 and summary["total_revenue"] == 900
    assert {"manager": "eve", "accounts": 1} in summary["accounts_per_manager"]


def test_actions_are_listed_with_lateness_history_and_rollups(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    ids = small_history(app)
    projector.catch_up()
    overdue = list_actions(views, ActionFilter(overdue=True), today=TODAY).items
    assert [(a["what"], a["days_late"], a["status"]) for a in overdue] == [
        ("Send proposal", 10, "in_progress")
    ]
    history = action_history(views, ids["late"])
    assert [h["status"] for h in history] == ["planned", "in_progress"]
    owners = {r["key"]: r for r in action_rollup(views, "owner", today=TODAY)}
    assert owners["ann"]["overdue"] == 1 and owners["bob"]["open"] == 1
    # A later "today" makes the other action overdue too, with no new event.
    later = list_actions(views, ActionFilter(overdue=True), today=TODAY + timedelta(60)).items
    assert len(later) == 2


def test_the_timeline_lists_an_accounts_events_with_filters_and_pages(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    ids = small_history(app)
    projector.catch_up()
    everything = account_timeline(views, TimelineFilter(account_id=ids["big"]), limit=1000).items
    types = [r["event_type"] for r in everything]
    assert types[0] == "Registered" and "ActionAdded" in types and "Identified" in types
    assert all(r["actor"] == "ann" for r in everything)
    pages, cursor = [], None
    while True:
        page = account_timeline(
            views, TimelineFilter(account_id=ids["big"]), limit=4, cursor=cursor
        )
        pages += page.items
        if (cursor := page.next_cursor) is None:
            break
    assert pages == everything
    only = account_timeline(
        views, TimelineFilter(account_id=ids["big"], event_type="ActionAdded")
    ).items
    assert len(only) == 2
    assert "Person" not in " ".join(r["summary"] for r in everything)  # no personal data


def test_health_degrades_as_today_moves_on_without_new_events(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    ids = small_history(app)
    projector.catch_up()
    now = account_health(views, ids["big"], today=TODAY)
    later = account_health(views, ids["big"], today=TODAY + timedelta(days=80))
    assert now is not None and later is not None
    recency = {c["name"]: c["value"] for c in now["components"]}["recency"]
    recency_later = {c["name"]: c["value"] for c in later["components"]}["recency"]
    assert recency > recency_later
    assert later["score"] < now["score"] and "no_contact_60d" in later["flags"]
    assert len(now["trend"]) == 12 and now["trend"][-1]["score"] == now["score"]
    # The stored scores follow when the projector's date moves on.
    health = next(m for m in projector.models if m.name == "health")
    stored = {r["account_id"]: r for r in health_list(views, limit=100).items}
    assert stored[str(ids["big"])]["score"] == now["score"]
    assert refresh_health(views, health, TODAY + timedelta(days=80)) == 3  # type: ignore[arg-type]
    stored = {r["account_id"]: r for r in health_list(views, limit=100).items}
    assert stored[str(ids["big"])]["score"] == later["score"]


def test_health_weights_are_settings(app: KamApplication, views: ViewDatabase) -> None:
    ids = small_history(app)
    weighted = Projector(app, views, build_models(HealthWeights(1, 0, 0, 0, 0, 0)), clock=clock)
    weighted.setup()
    weighted.catch_up()
    only_coverage = account_health(
        views, ids["big"], today=TODAY, weights=HealthWeights(1, 0, 0, 0, 0, 0)
    )
    assert only_coverage is not None
    coverage = {c["name"]: c["value"] for c in only_coverage["components"]}["coverage"]
    assert only_coverage["score"] == coverage


def test_timeline_summaries_name_the_action_an_event_is_about(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    ids = small_history(app)
    projector.catch_up()
    rows = account_timeline(
        views, TimelineFilter(account_id=ids["big"], event_type="ActionRescheduled")
    ).items
    assert len(rows) == 1 and "'Run QBR'" in rows[0]["summary"]


def test_one_accounts_portfolio_row_includes_exited_accounts(
    app: KamApplication, views: ViewDatabase, projector: Projector
) -> None:
    from kam_projections.portfolio_reads import portfolio_row

    ids = small_history(app)
    projector.catch_up()
    row = portfolio_row(views, ids["small"], today=TODAY)
    assert row is not None and row["exited"] and row["name"] == "Small Co"
    assert portfolio_row(views, ids["plan"], today=TODAY) is None


def test_two_projectors_on_one_store_never_work_from_a_stale_cache(
    app: KamApplication, views: ViewDatabase
) -> None:
    first = Projector(app, views, clock=clock)
    second = Projector(app, views, clock=clock)
    first.setup()
    ids = small_history(app)
    first.catch_up()  # first now caches the plan's actions
    later = next(
        a["action_id"]
        for a in list_actions(views, ActionFilter(plan_id=ids["plan"]), today=TODAY).items
        if a["what"] == "Run QBR"
    )
    app.handle(ReassignAction(plan_id=ids["plan"], action_id=UUID(later), owner="eve"), meta=ANN)
    second.catch_up()  # second writes the new owner; first's copy is now stale
    app.handle(StartAction(plan_id=ids["plan"], action_id=UUID(later)), meta=ANN)
    first.catch_up()  # must reload the row, not write the old owner back
    row = next(
        a
        for a in list_actions(views, ActionFilter(plan_id=ids["plan"]), today=TODAY).items
        if a["action_id"] == later
    )
    assert (row["owner"], row["status"]) == ("eve", "in_progress")
    incremental = snapshot(views)
    rebuild(app, views, clock=clock)
    assert snapshot(views) == incremental


def test_batched_queries_answer_as_one_by_one(views: ViewDatabase, projector: Projector) -> None:
    statements = [
        ("SELECT model, position FROM rm_tracking ORDER BY model", None),
        ("SELECT model FROM rm_tracking WHERE model = :m", {"m": "no such model"}),
        ("SELECT COUNT(*) AS n FROM rm_portfolio", {}),
    ]
    batched = views.query_batch(statements)
    assert batched == [views.query(sql, params) for sql, params in statements]
    assert batched[1] == [] and len(batched[0]) == len(MODEL_NAMES)
