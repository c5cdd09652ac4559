"""The handover report after a scripted two-year history (both backends): who managed the
account and why it changed hands, what Ben leaves open, who left, the gaps; facts linked to
the events they come from; Markdown against a golden file; the HTTP and CLI faces."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem
from tests.api.handover_scenario import NOW, TODAY, Scenario, on, two_year_scenario
from tests.support import open_views
from typer.testing import CliRunner

from kam_api.auth import Role
from kam_api.cli import cli
from kam_api.presenters import ledger_status
from kam_api.report import render_markdown
from kam_api.settings import Settings
from kam_domain.application import KamApplication
from kam_domain.commands import RaiseRisk
from kam_domain.values import ThreatLevel
from kam_projections.db import ViewDatabase
from kam_projections.handover import HandoverReport, build_report
from kam_projections.projector import Projector, build_models
from kam_store.env import library_env
from kam_store.features import store_features
from kam_store.ledger import Ledger
from kam_store.url import DatabaseURL

GOLDEN = Path(__file__).parent / "golden" / "handover_report.md"
BASE_URL = "https://kam.example.com"
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def history(database_url: str) -> Iterator[tuple[KamApplication, ViewDatabase, Scenario]]:
    app = KamApplication(
        env=library_env(database_url, pool_size=4),
        snapshot_interval=5,
        store_features=store_features,
    )
    views = open_views(database_url)
    try:
        scenario = two_year_scenario(app)
        projector = Projector(app, views, build_models())
        projector.setup()
        projector.catch_up()
        yield app, views, scenario
    finally:
        views.close()
        app.close()


def report_of(history: tuple[KamApplication, ViewDatabase, Scenario]) -> HandoverReport:
    app, views, scenario = history
    return build_report(app, views, scenario.account, today=TODAY, now=NOW)


def event_at(app: KamApplication, position: int) -> tuple[UUID, str]:
    """The aggregate and event type stored at a log position."""
    (notification,) = app.recorder.select_notifications(position, 1)
    assert notification.id == position
    return notification.originator_id, notification.topic.rsplit(".", 1)[-1]


def test_names_both_previous_managers_with_dates_and_reasons(history: Any) -> None:
    report = report_of(history)
    app = history[0]
    assert [(t.manager, t.since, t.until, t.how) for t in report.ownership] == [
        ("ann", TODAY.replace(2025, 1, 10), TODAY.replace(2025, 9, 1), "assigned"),
        ("ben", TODAY.replace(2025, 9, 1), TODAY.replace(2027, 1, 4), "handed over"),
        ("cleo", TODAY.replace(2027, 1, 4), None, "handed over"),
    ]
    assert report.ownership[1].reason == "Ann moves to the EMEA team"
    assert report.ownership[1].acknowledged is True
    assert report.ownership[2].reason == "Ben leaves the company"
    assert report.ownership[2].acknowledged is False
    assert (report.manager, report.outgoing_manager, report.incoming_manager) == (
        "cleo",
        "ben",
        "cleo",
    )
    kinds = [[event_at(app, p)[1] for p in t.sources] for t in report.ownership]
    assert kinds == [["ManagerAssigned"], ["HandedOver", "HandoverAcknowledged"], ["HandedOver"]]


def test_lists_the_outgoing_managers_open_work_for_reassignment(history: Any) -> None:
    report = report_of(history)
    app, _, scenario = history
    to_reassign = [a for a in report.open_work.actions if a.reassign]
    assert {a.action_id for a in to_reassign} == set(scenario.ben_open_actions)
    assert all(a.owner == "ben" for a in to_reassign)
    renewal = next(a for a in to_reassign if a.what == "Renewal proposal for 2027")
    assert renewal.overdue and renewal.days_late == 46  # due 2026-11-30
    others = [a for a in report.open_work.actions if not a.reassign]
    assert [(a.what, a.owner) for a in others] == [("Sensor firmware upgrade", "sam")]
    # The completed 2025 action is not open work.
    assert "Run the analytics pilot in plant 3" not in {a.what for a in report.open_work.actions}
    (commitment,) = report.open_work.commitments
    assert commitment.commitment_id == scenario.ben_commitment and commitment.reassign
    assert commitment.overdue and commitment.stakeholder == "Hedda Larsen"
    for action in report.open_work.actions:
        kinds = [event_at(app, p) for p in action.sources]
        assert kinds[0] == (action.plan_id, "ActionAdded")
    started = next(a for a in to_reassign if a.status == "in_progress")
    assert [event_at(app, p)[1] for p in started.sources] == ["ActionAdded", "ActionStarted"]


def test_shows_who_left_and_their_successor(history: Any) -> None:
    report = report_of(history)
    app, _, scenario = history
    by_name = {s.name: s for s in report.stakeholders}
    priya = by_name["Priya Nair"]
    assert priya.left_on == TODAY.replace(2026, 6, 30)
    assert (priya.successor_id, priya.successor_name) == (scenario.successor, "Tom Berg")
    assert report.stakeholders[-1].name == "Priya Nair"  # people who left come last
    assert "LeftCompany" in [event_at(app, p)[1] for p in priya.sources]
    hedda = by_name["Hedda Larsen"]
    assert (hedda.buying_role, hedda.relationship_owner) == ("decision_maker", "ben")
    assert hedda.last_contact_on == TODAY.replace(2026, 10, 20)


def test_lists_the_expected_gaps(history: Any) -> None:
    report = report_of(history)
    codes = [g.code for g in report.gaps]
    assert codes.count("research_unanswered") == 5  # 3 of 8 categories answered in 2026
    assert set(codes) == {
        "no_economic_buyer",
        "no_recent_contact",  # the last contact with a decision maker or champion: 2026-10-20
        "no_recent_assessment",  # 2026-03-01 is more than six months before today
        "research_unanswered",
        "plan_not_agreed",  # the 2026 plan was never shared
        "handover_unacknowledged",
        "review_overdue",  # the health model's flag
    }
    unanswered = {g.text.split('"')[1] for g in report.gaps if g.code == "research_unanswered"}
    assert unanswered == {"account team", "trends", "other insights", "value we offer", "what else"}


def test_every_other_section_is_filled_and_linked(history: Any) -> None:
    report = report_of(history)
    app, _, scenario = history
    snapshot = report.snapshot
    assert (snapshot.tier, snapshot.kind, snapshot.stage) == (
        "strategic",
        "existing",
        "action_plan",
    )
    assert [(f.period, f.revenue) for f in snapshot.financials] == [
        ("2025", 1_200_000.0),
        ("2026", 1_350_000.0),
    ]
    assert snapshot.revenue_share == 1.0 and snapshot.top20
    assert [event_at(app, p)[1] for p in snapshot.tier_sources] == ["Classified"]
    assert [(k.plan_period, k.kpi_status) for k in snapshot.kpis] == [("2026", "at_risk")]
    assert report.plan.plans == ["2026", "2025"]
    (objective,) = report.plan.objectives
    assert (objective.latest_value, objective.progress_pct) == (2.0, 50)
    (opportunity,) = report.plan.opportunities
    assert opportunity.probability == 60
    assert report.plan.weighted_pipeline_value == 150_000.0
    assert [e.type for e in report.recent.interactions] == ["InteractionLogged"] * 2
    assert report.recent.decisions[0].type == "HandedOver"
    assert [e.type for e in report.risks.feedback] == ["FeedbackRecorded"] * 2
    (risk,) = report.risks.risks
    assert [event_at(app, p)[1] for p in risk.sources] == ["RiskRaised"]
    assert report.risks.competitors[0].name == "Contoso"
    assert report.health is not None and report.health.trend
    assert report.position >= scenario.last_position
    assert report.event_count == sum(
        len(list(app.repository.event_store.get(i)))
        for i in {
            scenario.account,
            scenario.plan_2025,
            scenario.plan_2026,
            scenario.decision_maker,
            scenario.champion,
            scenario.successor,
        }
    )


def normalised(markdown: str) -> str:
    """Markdown with each UUID replaced by its order of first appearance (ids are random)."""
    seen: dict[str, str] = {}
    return UUID_PATTERN.sub(lambda m: seen.setdefault(m.group(0), f"<id{len(seen) + 1}>"), markdown)


def test_markdown_matches_the_golden_file(history: Any, database_url: str) -> None:
    app, views, scenario = history
    ledger = Ledger(DatabaseURL.parse(database_url), app.recorder.events_table_name)
    report = build_report(
        app, views, scenario.account, today=TODAY, now=NOW, ledger=ledger_status(ledger)
    )
    markdown = normalised(render_markdown(report, BASE_URL))
    if os.environ.get("KAM_UPDATE_GOLDEN") or not GOLDEN.exists():
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(markdown, encoding="utf-8")
        if not os.environ.get("KAM_UPDATE_GOLDEN"):
            pytest.fail(f"{GOLDEN} did not exist: written now, check it in")
    assert markdown == GOLDEN.read_text(encoding="utf-8")


def test_report_is_as_of_the_read_models_position(history: Any) -> None:
    """Events the read models have not seen yet are not in the report, and nothing is half
    in: the account is loaded at the version the sources saw."""
    app, views, scenario = history
    before = report_of(history)
    app.handle(
        RaiseRisk(
            account_id=scenario.account,
            title="Plant 3 budget freeze",
            severity=ThreatLevel.LOW,
            revenue_at_risk=None,
        ),
        meta=on(TODAY, "cleo"),
    )
    unseen = build_report(app, views, scenario.account, today=TODAY, now=NOW)
    assert unseen.model_dump() == before.model_dump()
    Projector(app, views, build_models()).catch_up()
    seen = build_report(app, views, scenario.account, today=TODAY, now=NOW)
    assert [r.title for r in seen.risks.risks][-1] == "Plant 3 budget freeze"
    assert seen.position > before.position


def test_health_read_on_an_executor_gives_the_same_report(history: Any) -> None:
    """The health read may run on the caller's executor while the rest is gathered."""
    app, views, scenario = history
    with ThreadPoolExecutor(1) as executor:
        concurrent = build_report(
            app, views, scenario.account, today=TODAY, now=NOW, executor=executor
        )
    assert concurrent.health is not None
    assert concurrent.model_dump() == report_of(history).model_dump()


# --- HTTP ---------------------------------------------------------------------------------


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """The API's settings with today the scenario's today: its events are not in the future."""
    return api_settings.model_copy(update={"today": TODAY})


def test_http_formats_and_auth(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    scenario = two_year_scenario(kam)
    url = f"/accounts/{scenario.account}/handover-report"
    wait = {"min_position": scenario.last_position}
    as_json = client.get(url, params=wait, headers=auth["audrey"])
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"] == "application/json"
    body = as_json.json()
    assert body["outgoing_manager"] == "ben" and len(body["ownership"]) == 3
    markdown = client.get(url, params={**wait, "format": "markdown"}, headers=auth["mia"])
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Handover report: Northwind Foods")
    html = client.get(url, params={**wait, "format": "html"}, headers=auth["dora"])
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<svg" in html.text and "Northwind Foods" in html.text
    assert_problem(client.get(url, headers=auth["vic"]), 403)
    assert_problem(client.get(url, params={"format": "pdf"}, headers=auth["dora"]), 422)
    unknown = f"/accounts/{UUID(int=7)}/handover-report"
    assert_problem(client.get(unknown, headers=auth["dora"]), 404)


def test_handover_command_returns_the_outgoing_managers_open_work(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    scenario = two_year_scenario(kam)
    # Cleo acknowledges, Ben's actions are reassigned to her, and she hands the account on.
    users = client.app.state.users  # type: ignore[attr-defined]
    cleo = {"Authorization": f"Bearer {users.add('cleo', Role.MANAGER)}"}
    ack = client.post(
        f"/accounts/{scenario.account}/handover/acknowledge",
        json={"notes": "Read the report"},
        headers=cleo,
    )
    assert ack.status_code == 200, ack.text
    for action in scenario.ben_open_actions:
        response = client.post(
            f"/plans/{scenario.plan_2026}/actions/{action}/reassign",
            json={"owner": "cleo", "reason": "Ben left"},
            headers=auth["dora"],
        )
        assert response.status_code == 200, response.text
    response = client.post(
        f"/accounts/{scenario.account}/handover",
        json={"to": "dan", "effective_on": "2027-02-01", "reason": "Cleo moves to strategy"},
        headers=auth["dora"],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outgoing_manager"] == "cleo"
    assert {a["action_id"] for a in body["open_actions"]} == {
        str(a) for a in scenario.ben_open_actions
    }
    assert all(a["owner"] == "cleo" and a["reassign"] for a in body["open_actions"])
    assert body["open_commitments"] == []  # Hedda's relationship is still Ben's
    assert body["listed_at_position"] >= body["position"]


# --- Command line -------------------------------------------------------------------------


def test_command_line_report(database_url: str, tmp_path: Path) -> None:
    """`kam handover-report` by name or id, in each format; read models caught up first."""
    app = KamApplication(env=library_env(database_url, pool_size=2), store_features=store_features)
    try:
        scenario = two_year_scenario(app)
    finally:
        app.close()
    runner = CliRunner()
    env = {"KAM_DATABASE_URL": database_url}
    by_name = runner.invoke(cli, ["handover-report", "northwind foods"], env=env)
    assert by_name.exit_code == 0, by_name.output
    assert "bringing the read models up to date" in by_name.stderr
    assert by_name.stdout.startswith("# Handover report: Northwind Foods")
    assert "Ben leaves the company" in by_name.stdout
    as_json = runner.invoke(
        cli, ["handover-report", str(scenario.account), "--format", "json"], env=env
    )
    assert as_json.exit_code == 0, as_json.output
    report = HandoverReport.model_validate_json(as_json.stdout)
    assert report.outgoing_manager == "ben" and report.position >= scenario.last_position
    page = tmp_path / "report.html"
    as_html = runner.invoke(
        cli, ["handover-report", "Northwind Foods", "-f", "html", "-o", str(page)], env=env
    )
    assert as_html.exit_code == 0, as_html.output
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    unknown = runner.invoke(cli, ["handover-report", "Southwind"], env=env)
    assert unknown.exit_code == 1 and "no account named 'Southwind'" in unknown.stderr
    bad = runner.invoke(cli, ["handover-report", "Northwind Foods", "-f", "pdf"], env=env)
    assert bad.exit_code == 2
