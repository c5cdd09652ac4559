"""The handover report after a scripted two-year history (both backends): who managed the
account and why it changed hands, what Ben leaves open, who left, the gaps; facts linked to
the events they come from; Markdown against a golden file; the HTTP and CLI faces."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem
from tests.api.handover_scenario import NOW, TODAY, Scenario, on, two_year_scenario
from tests.api.report_checks import (
    assert_readable_html,
    assert_readable_markdown,
    html_links,
)
from tests.support import open_views
from typer.testing import CliRunner

from kam_api.cli import cli
from kam_api.demo import load_demo
from kam_api.presenters import ledger_status
from kam_api.report import render_html, render_markdown
from kam_api.settings import Settings
from kam_domain.application import KamApplication
from kam_domain.commands import (
    AchieveObjective,
    AcknowledgeHandover,
    AddTeamMember,
    AssignManager,
    AssignRelationshipOwner,
    HandOver,
    RaiseRisk,
    RecordProgress,
    RegisterAccount,
    SharePlan,
)
from kam_domain.values import KamRole, ServiceProfile, ThreatLevel
from kam_projections.db import ViewDatabase
from kam_projections.handover import HandoverReport, build_report
from kam_projections.handover.builder import cited_positions
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
        "team_roles_uncovered",  # only Sam (technical expert) is left on the team
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


def test_a_handover_stored_before_keep_on_team_still_kept_the_team(database_url: str) -> None:
    """A version 1 HandedOver in a real store (no ``keep_on_team``) reads as the handover it
    was: the outgoing manager stayed on the team."""
    app = KamApplication(env=library_env(database_url, pool_size=2), store_features=store_features)
    try:
        # Given Ann manages Acme and leads its team
        account_id = app.handle(
            RegisterAccount(
                name="Acme", industry="Steel", region="EMEA", service_profile=ServiceProfile.LIGHT
            ),
            meta=on(TODAY, "dora"),
        ).id
        app.handle(AssignManager(account_id=account_id, manager="ann"), meta=on(TODAY, "dora"))
        app.handle(
            AddTeamMember(account_id=account_id, member="ann", roles=[KamRole.RELATIONSHIP_LEADER]),
            meta=on(TODAY, "ann"),
        )
        # And a handover to Ben stored the way version 1 stored it
        account = app.get_account(account_id)
        account.hand_over(to="ben", effective_on=TODAY, meta=on(TODAY, "dora", "reorg"))
        (event,) = account.collect_events()
        stored = app.mapper.to_stored_event(event)
        state = app.mapper.transcoder.decode(stored.state)
        assert state.pop("class_version") == 2
        del state["keep_on_team"]
        app.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=stored.originator_id,
                    originator_version=stored.originator_version,
                    topic=stored.topic,
                    state=app.mapper.transcoder.encode(state),
                )
            ]
        )
        # When the account is read back
        account = app.get_account(account_id)
        # Then Ben manages it and Ann is still on the team, as she was then
        assert (account.manager, account.pending_handover is not None) == ("ben", True)
        assert account.team == {"ann": [KamRole.RELATIONSHIP_LEADER]}
        (handover,) = [
            e
            for e in app.repository.event_store.get(account_id)
            if type(e).__name__ == "HandedOver"
        ]
        assert handover.keep_on_team is True
    finally:
        app.close()


def caught_up(history: tuple[KamApplication, ViewDatabase, Scenario]) -> HandoverReport:
    app, views, _ = history
    Projector(app, views, build_models()).catch_up()
    return report_of(history)


def test_the_account_team_and_the_kam_roles_nobody_covers(history: Any) -> None:
    # Given Ann (relationship leader) and Sam (technical expert) on the team, and Ann's
    # handover to Ben, which did not keep her on it
    # When the report is built
    report = report_of(history)
    app = history[0]
    # Then Sam alone is on the team, and the five other roles are uncovered
    assert [(m.member, m.roles) for m in report.team.members] == [("sam", ["technical_expert"])]
    assert [event_at(app, p)[1] for p in report.team.members[0].sources] == ["TeamMemberAdded"]
    assert report.team.uncovered_roles == [
        "relationship_leader",
        "collaborator",
        "project_manager",
        "innovator",
        "result_generator",
    ]
    (gap,) = [g for g in report.gaps if g.code == "team_roles_uncovered"]
    assert "relationship leader, collaborator, project manager, innovator" in gap.text


def test_an_outgoing_manager_kept_on_purpose_stays_on_the_team(history: Any) -> None:
    # Given Cleo acknowledged and joined the team as its relationship leader
    app, _, scenario = history
    app.handle(AcknowledgeHandover(account_id=scenario.account, notes=None), meta=on(TODAY, "cleo"))
    app.handle(
        AddTeamMember(
            account_id=scenario.account, member="cleo", roles=[KamRole.RELATIONSHIP_LEADER]
        ),
        meta=on(TODAY, "cleo"),
    )
    # When she hands the account to Dan but is kept on the team
    app.handle(
        HandOver(account_id=scenario.account, to="dan", effective_on=TODAY, keep_on_team=True),
        meta=on(TODAY, "dora", "Cleo moves to strategy, still advises"),
    )
    # Then she is still on the team, and the report says so
    assert app.get_account(scenario.account).team["cleo"] == [KamRole.RELATIONSHIP_LEADER]
    report = caught_up(history)
    assert "relationship_leader" not in report.team.uncovered_roles
    assert "cleo" in [m.member for m in report.team.members]


def test_relationships_the_outgoing_manager_owns_are_flagged_for_reassignment(
    history: Any,
) -> None:
    # Given Ben owns the relationship with Hedda, Sam those with Tom and (who left) Priya
    report = report_of(history)
    # Then Hedda's is to reassign, the others not
    flagged = {s.name: s.reassign for s in report.stakeholders}
    assert flagged == {"Hedda Larsen": True, "Tom Berg": False, "Priya Nair": False}
    assert report.first_week.relationships_to_reassign == 1


def test_the_header_states_the_handovers_date_reason_and_acknowledgement(history: Any) -> None:
    # Given Ben's handover to Cleo, not acknowledged yet
    report = report_of(history)
    app = history[0]
    handover = report.handover
    assert handover is not None
    assert (handover.from_manager, handover.to_manager) == ("ben", "cleo")
    assert handover.effective_on == TODAY.replace(2027, 1, 4)
    assert handover.reason == "Ben leaves the company"
    assert handover.handed_over_by == "dora"
    assert handover.acknowledged_by is None and handover.acknowledged_at is None
    assert [event_at(app, p)[1] for p in handover.sources] == ["HandedOver"]
    markdown = render_markdown(report)
    assert "- **Acknowledged:** **pending** cleo has not acknowledged it yet" in markdown
    # When Cleo acknowledges
    scenario = history[2]
    app.handle(AcknowledgeHandover(account_id=scenario.account, notes=None), meta=on(TODAY, "cleo"))
    report = caught_up(history)
    # Then the header says who acknowledged and when
    assert report.handover is not None
    assert (report.handover.acknowledged_by, report.handover.acknowledged_at) == (
        "cleo",
        NOW.replace(hour=10),
    )
    assert "- **Acknowledged:** by cleo on 2027-01-15" in render_markdown(report)


def test_the_first_week_names_people_overdue_work_and_gaps_from_the_report(
    history: Any,
) -> None:
    report = report_of(history)
    week = report.first_week
    # The champion nobody has met yet first, then the decision maker not met for 87 days
    assert [(p.name, p.why) for p in week.meet] == [
        ("Tom Berg", "champion, never contacted"),
        ("Hedda Larsen", "decision maker, last contact 87 days ago"),
    ]
    assert [a.what for a in week.overdue_actions] == ["Renewal proposal for 2027"]
    assert [c.description for c in week.overdue_commitments] == [
        "Send the plant 2 downtime analysis"
    ]
    assert [g.code for g in week.gaps] == [
        "handover_unacknowledged",
        "no_economic_buyer",
        "no_recent_contact",
    ]
    # Drawn from the report's own sections
    assert all(g in report.gaps for g in week.gaps)
    assert all(a in report.open_work.actions for a in week.overdue_actions)


def test_the_plans_sharing_reads_the_same_fact_as_the_decision_and_the_gap(
    history: Any,
) -> None:
    # Given the 2026 plan shared with the customer, who did not agree it
    app, _, scenario = history
    app.handle(
        SharePlan(plan_id=scenario.plan_2026, agreed=False, notes="Wants a cheaper option"),
        meta=on(TODAY, "cleo"),
    )
    report = caught_up(history)
    # Then the plan, the decision and the gap all say: shared, not agreed
    assert report.plan.shared_status == "shared_not_agreed"
    assert [event_at(app, p)[1] for p in report.plan.shared_sources] == ["SharedWithCustomer"]
    assert report.recent.decisions[0].summary == "Plan shared with the customer, not agreed"
    (gap,) = [g for g in report.gaps if g.code == "plan_not_agreed"]
    assert gap.text == "Plan 2026 was shared with the customer but not agreed."
    markdown = render_markdown(report)
    assert "- **Shared with the customer:** plan 2026: **shared, not agreed**" in markdown
    assert "shared: no" not in markdown.lower()


def test_an_objective_is_achieved_only_when_its_event_says_so(history: Any) -> None:
    # Given the plants objective (1 -> 3) at 2.5: 75 % of the way
    app, _, scenario = history
    (objective_id,) = app.get_plan(scenario.plan_2026).objectives
    objective = UUID(objective_id)
    app.handle(
        RecordProgress(
            plan_id=scenario.plan_2026, objective_id=objective, value=Decimal("2.5"), note=None
        ),
        meta=on(TODAY, "cleo"),
    )
    report = caught_up(history)
    (entry,) = report.plan.objectives
    # Then it is open, at 75 %
    assert (entry.status, entry.progress_pct) == ("open", 75)
    assert "| 75 % | 2026-12-31 | open |" in render_markdown(report)
    # When the objective is marked achieved
    app.handle(
        AchieveObjective(plan_id=scenario.plan_2026, objective_id=objective),
        meta=on(TODAY, "cleo"),
    )
    report = caught_up(history)
    (entry,) = report.plan.objectives
    # Then it reads achieved, with the event that said so among its sources
    assert entry.status == "achieved"
    assert report.source_events[entry.sources[-1]].type == "ObjectiveAchieved"
    assert "| achieved | [objective set][e" in render_markdown(report, BASE_URL)


def test_the_rendered_report_has_no_internal_codes_and_every_reference_resolves(
    history: Any,
) -> None:
    report = report_of(history)
    definitions = assert_readable_markdown(render_markdown(report, BASE_URL))
    assert set(definitions) == {f"e{p}" for p in cited_positions(report)}
    assert_readable_markdown(render_markdown(report))
    links = assert_readable_html(render_html(report, BASE_URL))
    assert {int(link.rsplit("=", 1)[1]) for link in links} == cited_positions(report)
    assert set(report.source_events) == cited_positions(report)


def test_every_demo_accounts_report_reads_without_codes_and_its_references_resolve(
    database_url: str,
) -> None:
    """The demo's generated histories (handovers, departures, erasures, refusals) rendered
    for every account: the scan finds no internal code and no unresolved reference."""
    app = KamApplication(env=library_env(database_url, pool_size=4), store_features=store_features)
    views = open_views(database_url)
    try:
        load_demo(app, accounts=4, seed=11, today=TODAY)
        projector = Projector(app, views, build_models())
        projector.setup()
        projector.catch_up()
        accounts = [
            UUID(row["account_id"]) for row in views.query("SELECT account_id FROM rm_portfolio")
        ]
        assert len(accounts) == 4
        for account_id in accounts:
            report = build_report(app, views, account_id, today=TODAY, now=NOW)
            definitions = assert_readable_markdown(render_markdown(report, BASE_URL))
            assert len(definitions) == len(cited_positions(report))
            assert set(report.source_events) == cited_positions(report)
            assert_readable_html(render_html(report, BASE_URL))
    finally:
        views.close()
        app.close()


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


def test_report_links_open_for_a_manager_of_the_account(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    # Given the two-year history and Cleo, the account's (incoming) manager
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    scenario = two_year_scenario(kam)
    users = client.app.state.users  # type: ignore[attr-defined]
    cleo = {"Authorization": f"Bearer {users.rotate('cleo', actor='root')}"}
    url = f"/accounts/{scenario.account}/handover-report"
    wait = {"min_position": scenario.last_position}
    # When she reads the report as HTML and as Markdown
    page = client.get(url, params={**wait, "format": "html"}, headers=cleo)
    markdown = client.get(url, params={**wait, "format": "markdown"}, headers=cleo)
    assert page.status_code == 200 and markdown.status_code == 200
    links = assert_readable_html(page.text)
    definitions = assert_readable_markdown(markdown.text)
    # Then every source links to the account's history, absolute, never /events or a file
    assert links and set(definitions.values()) == set(links)
    assert all(
        link.startswith(f"http://testserver/accounts/{scenario.account}/history?position=")
        for link in links
    )
    assert "/events" not in page.text and "file:" not in page.text
    # And each link opens, with her token, on exactly the event it names
    for link in sorted(set(links)):
        opened = client.get(link, headers=cleo)
        assert opened.status_code == 200, (link, opened.text)
        (item,) = opened.json()["items"]
        assert item["position"] == int(link.rsplit("=", 1)[1])


def test_report_links_use_the_configured_public_url(
    client: TestClient, auth: dict[str, dict[str, str]], api_settings: Settings
) -> None:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    scenario = two_year_scenario(kam)
    api_settings.public_url = "https://kam.example.com"
    page = client.get(
        f"/accounts/{scenario.account}/handover-report",
        params={"min_position": scenario.last_position, "format": "html"},
        headers=auth["mia"],
    )
    links, _ = html_links(page.text)
    assert links and all(link.startswith("https://kam.example.com/accounts/") for link in links)


def test_history_answers_the_one_event_at_a_position(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    scenario = two_year_scenario(kam)
    url = f"/accounts/{scenario.account}/history"
    wait = {"min_position": scenario.last_position}
    one = client.get(url, params={**wait, "position": scenario.last_position}, headers=auth["max"])
    assert one.status_code == 200
    assert [i["type"] for i in one.json()["items"]] == ["HandedOver"]
    # Position 1 is the account's registration; 2 is its name's index, not account history
    none = client.get(url, params={**wait, "position": 2}, headers=auth["max"])
    assert none.status_code == 200 and none.json()["items"] == []
    assert_problem(client.get(url, params={"position": 0}, headers=auth["max"]), 422)
    assert_problem(client.get(url, params={"position": "x"}, headers=auth["max"]), 422)
    assert_problem(client.get(url, params={"position": 3}, headers=auth["vic"]), 403)


def test_account_view_lists_the_kam_roles_nobody_covers(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    scenario = two_year_scenario(kam)
    body = client.get(f"/accounts/{scenario.account}", headers=auth["max"]).json()
    assert body["team"] == {"sam": ["technical_expert"]}  # Ann left it when she handed over
    assert body["uncovered_roles"] == [
        "relationship_leader",
        "collaborator",
        "project_manager",
        "innovator",
        "result_generator",
    ]


def test_handover_over_http_takes_the_outgoing_manager_off_the_team_unless_kept(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    # Given Cleo acknowledged Northwind and leads its team
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    scenario = two_year_scenario(kam)
    kam.handle(AcknowledgeHandover(account_id=scenario.account, notes=None), meta=on(TODAY, "cleo"))
    kam.handle(
        AddTeamMember(
            account_id=scenario.account, member="cleo", roles=[KamRole.RELATIONSHIP_LEADER]
        ),
        meta=on(TODAY, "cleo"),
    )
    url = f"/accounts/{scenario.account}/handover"
    body = {"to": "dan", "effective_on": "2027-02-01", "reason": "Cleo moves to strategy"}
    version = kam.get_account(scenario.account).version
    # When keep_on_team is not a boolean: refused, nothing changes
    bad = client.post(url, json={**body, "keep_on_team": "maybe"}, headers=auth["dora"])
    assert_problem(bad, 422)
    assert kam.get_account(scenario.account).version == version
    # When she is kept on the team on purpose
    kept = client.post(url, json={**body, "keep_on_team": True}, headers=auth["dora"])
    assert kept.status_code == 200, kept.text
    account = client.get(f"/accounts/{scenario.account}", headers=auth["dora"]).json()
    # Then she stays on it, and relationship leader is still covered
    assert account["team"]["cleo"] == ["relationship_leader"]
    assert "relationship_leader" not in account["uncovered_roles"]
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    field = next(s for name, s in schema.items() if "keep_on_team" in s.get("properties", {}))
    assert "leave" in field["properties"]["keep_on_team"]["description"]


def test_handover_command_returns_the_outgoing_managers_open_work(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    scenario = two_year_scenario(kam)
    # Cleo acknowledges, Ben's actions are reassigned to her, and she hands the account on.
    users = client.app.state.users  # type: ignore[attr-defined]
    cleo = {"Authorization": f"Bearer {users.rotate('cleo', actor='root')}"}  # a colleague
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
    # Cleo takes over the relationship with Tom Berg
    kam.handle(
        AssignRelationshipOwner(stakeholder_id=scenario.successor, owner="cleo"),
        meta=on(TODAY, "cleo"),
    )
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
    assert [r["name"] for r in body["relationships_to_reassign"]] == ["Tom Berg"]
    assert all(r["reassign"] for r in body["relationships_to_reassign"])
    assert body["listed_at_position"] >= body["position"]
    # Cleo was not on the team and is not now; the account's view says what is uncovered
    account = client.get(f"/accounts/{scenario.account}", headers=auth["dora"]).json()
    assert "cleo" not in account["team"]


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
    written = page.read_text(encoding="utf-8")
    assert written.startswith("<!DOCTYPE html>")
    # No base URL: the sources are named, not linked (never file:// or /events)
    assert html_links(written)[0] == [] and "file:" not in written and "/events" not in written
    linked = runner.invoke(
        cli,
        ["handover-report", "Northwind Foods", "-f", "html", "--base-url", "https://kam.example"],
        env=env,
    )
    assert linked.exit_code == 0, linked.output
    links = assert_readable_html(linked.stdout)
    assert links and all(
        link.startswith(f"https://kam.example/accounts/{scenario.account}/history?position=")
        for link in links
    )
    from_settings = runner.invoke(
        cli,
        ["handover-report", "Northwind Foods"],
        env={**env, "KAM_PUBLIC_URL": "https://kam.example/"},
    )
    definitions = assert_readable_markdown(from_settings.stdout)
    assert definitions and all(
        url.startswith("https://kam.example/accounts/") for url in definitions.values()
    )
    not_a_url = runner.invoke(
        cli, ["handover-report", "Northwind Foods", "--base-url", "file:///tmp"], env=env
    )
    assert not_a_url.exit_code == 2
    unknown = runner.invoke(cli, ["handover-report", "Southwind"], env=env)
    assert unknown.exit_code == 2 and "no account named 'Southwind'" in unknown.stderr
    bad = runner.invoke(cli, ["handover-report", "Northwind Foods", "-f", "pdf"], env=env)
    assert bad.exit_code == 2
