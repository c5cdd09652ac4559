"""The demo portfolio: deterministic, Pareto-shaped, covering the whole domain."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from tests import schema_pool
from tests.support import TEST_MASTER_KEY, postgres_url_or_skip
from typer.testing import CliRunner

from kam_api.cli import cli
from kam_api.demo import load_demo
from kam_api.demo.load import DemoSummary
from kam_domain.application import KamApplication
from kam_domain.values import ActionStatus
from kam_store.crypto import MasterKey, personal_data_mapper
from kam_store.env import library_env
from kam_store.features import store_features

TODAY = date(2026, 6, 15)


@dataclass(frozen=True)
class LoadedDemo:
    app: KamApplication
    summary: DemoSummary
    database_url: str


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoadedDemo]:
    """The default-seed demo of 20 accounts, loaded once per backend for the tests below that
    only read it, by an application with the aggregate cache on, as ``kam demo`` loads it."""
    schema = None
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'kam.db'}"
    else:
        url = postgres_url_or_skip()
        schema = schema_pool.new_schema(url)
        database_url = f"{url}?schema={schema}"
    app = KamApplication(
        env=library_env(database_url, pool_size=4, max_overflow=16),
        snapshot_interval=5,
        aggregate_cache_size=10_000,
        store_features=store_features,
        mapper=personal_data_mapper(MasterKey.from_base64(TEST_MASTER_KEY)),
    )
    try:
        yield LoadedDemo(app, load_demo(app, accounts=20, today=TODAY), database_url)
    finally:
        app.close()
        if schema is not None:
            schema_pool.drop(postgres_url_or_skip(), schema)


def events(app: KamApplication) -> list[tuple[str, UUID]]:
    """(Aggregate.Event, originator id) of every stored event, in log order."""
    found: list[tuple[str, UUID]] = []
    start = 1
    while True:
        batch = app.recorder.select_notifications(start, limit=1000)
        if not batch:
            return found
        found.extend((n.topic.rsplit(":", 1)[-1], n.originator_id) for n in batch)
        start = batch[-1].id + 1


def test_the_same_seed_loads_the_same_portfolio(app: KamApplication, tmp_path: Path) -> None:
    first = load_demo(app, accounts=6, seed=3, today=TODAY)
    other = KamApplication(env=library_env(f"sqlite:///{tmp_path / 'other.db'}"))
    try:
        second = load_demo(other, accounts=6, seed=3, today=TODAY)
        assert second.account_names == first.account_names
        assert [name for name, _ in events(other)] == [name for name, _ in events(app)]
    finally:
        other.close()
    assert len(set(first.account_names)) == 6
    for name in first.account_names:
        assert app.find_account_by_name(name) is not None


def test_a_few_strategic_accounts_hold_most_revenue(demo: LoadedDemo) -> None:
    app, summary = demo.app, demo.summary
    assert summary.refused == summary.skipped == 0  # the demo makes no mistakes
    last: list[Decimal] = []
    for name in summary.account_names:
        account_id = app.find_account_by_name(name)
        assert account_id is not None
        financials = app.get_account(account_id).financials
        periods = sorted(financials)
        assert len(periods) >= 4
        last.append(financials[periods[-1]].revenue)
    last.sort(reverse=True)
    assert sum(last[:4]) > sum(last) / 2
    assert summary.tiers == {"strategic": 2, "key": 6, "emerging": 12}


def test_the_demo_covers_every_aggregate_and_a_broad_set_of_events(demo: LoadedDemo) -> None:
    app = demo.app
    stored = events(app)
    per_type = Counter(name for name, _ in stored)
    aggregates = {name.split(".")[0] for name in per_type}
    assert {"KeyAccount", "AccountPlan", "Relationship"} <= aggregates
    expected = {
        "KeyAccount.Registered", "KeyAccount.Classified", "KeyAccount.CriteriaScored",
        "KeyAccount.ManagerAssigned", "KeyAccount.HandedOver", "KeyAccount.HandoverAcknowledged",
        "KeyAccount.TeamMemberAdded", "KeyAccount.FocusSet", "KeyAccount.StageAdvanced",
        "KeyAccount.FinancialsRecorded", "KeyAccount.FeedbackRecorded",
        "KeyAccount.RelationshipAssessed", "KeyAccount.CompetitorNoted", "KeyAccount.RiskRaised",
        "KeyAccount.Reevaluated",
        "AccountPlan.Drafted", "AccountPlan.ObjectiveSet", "AccountPlan.ObjectiveProgressRecorded",
        "AccountPlan.ObjectiveAchieved", "AccountPlan.ObjectiveMissed",
        "AccountPlan.OpportunityIdentified", "AccountPlan.OpportunityWon",
        "AccountPlan.OpportunityLost", "AccountPlan.ActionAdded", "AccountPlan.ActionStarted",
        "AccountPlan.ActionCompleted", "AccountPlan.ActionRescheduled",
        "AccountPlan.ResearchQuestionAnswered", "AccountPlan.Reviewed", "AccountPlan.Closed",
        "Relationship.Identified", "Relationship.DispositionChanged",
        "Relationship.InteractionLogged", "Relationship.LeftCompany",
    }  # fmt: skip
    assert expected - set(per_type) == set()
    # Every handover was acknowledged by the incoming manager.
    assert per_type["KeyAccount.HandedOver"] == per_type["KeyAccount.HandoverAcknowledged"] > 0
    for name, originator in stored:
        if name == "KeyAccount.Registered":
            account = app.get_account(originator)
            assert not account.is_pending_handover
        if name == "Relationship.LeftCompany":
            leaver = app.get_stakeholder(originator)
            assert leaver.successor_id is not None
            successor = app.get_stakeholder(leaver.successor_id)
            assert successor.account_id == leaver.account_id
    # Most actions are done; those still open past their due date are few (and how many
    # there are is measured over the default demo in test_demo_realism).
    plans = [app.get_plan(o) for name, o in stored if name == "AccountPlan.Drafted"]
    actions = [a for plan in plans for a in plan.actions.values()]
    done = [a for a in actions if a.status is ActionStatus.COMPLETED]
    assert len(done) > len(actions) / 2
    assert sum(len(plan.overdue_actions(TODAY)) for plan in plans) <= len(done) / 10


def test_kam_demo_loads_once_and_refuses_a_second_time(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"KAM_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    first = runner.invoke(cli, ["demo", "--accounts", "3", "--seed", "5"], env=env)
    assert first.exit_code == 0, first.output
    assert "loaded 3 demo accounts" in first.output
    assert "stakeholders:" in first.output
    second = runner.invoke(cli, ["demo", "--accounts", "3", "--seed", "5"], env=env)
    assert second.exit_code == 1
    assert "already holds 3 demo account(s)" in second.output


def test_kam_demo_seals_with_the_key_file_and_its_hint_names_it(tmp_path: Path) -> None:
    runner = CliRunner()
    key = tmp_path / "master.key"
    assert runner.invoke(cli, ["keys", "new", str(key)]).exit_code == 0
    env = {
        "KAM_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "KAM_MASTER_KEY_FILE": str(key),
        "KAM_MASTER_KEY": "",
    }
    loaded = runner.invoke(cli, ["demo", "--accounts", "3", "--seed", "5"], env=env)
    assert loaded.exit_code == 0, loaded.output
    # The suggested next command works only with the same key: it says which.
    if "try:" in loaded.output:
        assert f"try: KAM_MASTER_KEY_FILE={key} .venv/bin/kam handover-report" in loaded.output
    status = runner.invoke(cli, ["status"], env=env)
    assert "encrypted per person" in status.output, status.output
    # (``kam``'s entry point prints this error as one line; the runner calls the commands.)
    without = runner.invoke(cli, ["status"], env={**env, "KAM_MASTER_KEY_FILE": ""})
    assert without.exit_code != 0
    assert "no master key is set" in str(without.exception)


def test_the_demo_records_rates_so_its_whole_portfolio_converts(demo: LoadedDemo) -> None:
    """Given the demo (some accounts in USD and GBP, a rate of each every quarter), when it is
    projected, then every account's revenue is in the reporting currency: nothing unconverted."""
    from tests.support import open_views

    from kam_projections.portfolio_reads import PortfolioFilter, portfolio_rows, portfolio_summary
    from kam_projections.projector import Projector

    summary = demo.summary
    assert summary.refused == 0 and summary.skipped == 0
    assert set(summary.last_quarter_revenue) == {"EUR", "USD", "GBP"}
    views = open_views(demo.database_url)
    try:
        projector = Projector(demo.app, views, clock=lambda: TODAY)
        projector.setup()
        projector.catch_up()
        rows = portfolio_rows(views, PortfolioFilter(), today=TODAY).items
        assert {r["currency"] for r in rows} == {"EUR", "USD", "GBP"}
        assert all(r["revenue_converted"] and r["revenue"] for r in rows)
        assert all(r["lifetime_value"] for r in rows)
        assert portfolio_summary(views, {})["unconverted_revenue"] == []
        rates = views.query("SELECT DISTINCT currency FROM rm_fx_rates ORDER BY currency")
        assert [r["currency"] for r in rates] == ["GBP", "USD"]
    finally:
        views.close()


def test_a_story_told_decades_past_today_still_makes_valid_commands() -> None:
    """The benchmarks' long logs tell the stories past ``today`` (a million events: some 60
    years of 500 accounts). Revenue grows for ten years past it, then stays level: compounded
    for ever it passed the 16 digits a command takes (at ~790,000 events)."""
    from datetime import timedelta

    from kam_api.demo import PortfolioStory, demo_account_names
    from kam_api.demo.story import occurred

    story = PortfolioStory(
        demo_account_names(2, 5), seed=5, starts_on=TODAY - timedelta(days=730), today=TODAY
    )
    for planner in story.planners:  # faster than any generated profile grows (6 % a quarter)
        planner.profile = dataclasses.replace(planner.profile, growth=0.08)
    horizon = TODAY.replace(year=TODAY.year + 80)
    for step in story.steps():  # each step's command is validated as it is made
        if occurred(step).date() > horizon:
            break
