"""The handover report rendered as Markdown and as printable HTML, from a hand-built report:
every section present, user text escaped, sources shown, reassignments marked, nothing
external loaded, and the same report always giving the same bytes."""

from __future__ import annotations

import re
import types
import typing
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from tests.api.report_checks import assert_readable_html, assert_readable_markdown, html_links

from kam_api.report import render_html, render_markdown
from kam_api.report.document import check_base_url, event_words
from kam_api.settings import Settings
from kam_projections.handover.model import (
    AccountSnapshot,
    CompetitorEntry,
    FinancialPoint,
    FirstWeek,
    Gap,
    HandoverFacts,
    HandoverReport,
    HealthComponentPublic,
    KpiStatusPoint,
    LoggedEvent,
    ObjectiveEntry,
    OpenAction,
    OpenCommitment,
    OpenWork,
    OpportunityEntry,
    PersonToMeet,
    PlanSection,
    RecentSection,
    RelationshipHealthPublic,
    RiskEntry,
    RisksSection,
    SourceEvent,
    StakeholderEntry,
    TeamMemberEntry,
    TeamSection,
    Tenure,
    TrendPointPublic,
)

ACCOUNT = UUID("6f1c2a3b-0000-4000-8000-000000000001")
PLAN = UUID("6f1c2a3b-0000-4000-8000-0000000000a1")
ANNA = UUID("6f1c2a3b-0000-4000-8000-0000000000b1")
ERASED = UUID("6f1c2a3b-0000-4000-8000-0000000000b2")
PIERRE = UUID("6f1c2a3b-0000-4000-8000-0000000000b3")
Render = Callable[[HandoverReport], str]
#: User text that tries to break out of a table cell, start markup and run a script.
HOSTILE = 'Split | cells & <script>alert("x")</script>\nsecond line *bold* _em_ #tag'

BASE = "https://kam.example.com"
SECTIONS = [
    "First week",
    "1. Account snapshot",
    "2. Ownership timeline and account team",
    "3. Stakeholder map",
    "4. Relationship health",
    "5. Plan: objectives and pipeline",
    "6. Open actions and commitments",
    "7. Recent interactions and key decisions",
    "8. Risks, competitors and customer feedback",
    "9. Gaps to confirm",
]


def uid(n: int) -> UUID:
    return UUID(int=0x6F1C2A3B_0000_4000_8000_000000001000 + n)


def trend() -> list[TrendPointPublic]:
    scores = [(date(2025, 9, 1), 78), (date(2025, 10, 6), 71), (date(2025, 11, 3), 64)]
    scores += [(date(2025, 12, 1), 52), (date(2026, 1, 5), 38), (date(2026, 2, 2), 47)]
    bands = {78: "green", 71: "green", 64: "amber", 52: "amber", 38: "red", 47: "amber"}
    return [TrendPointPublic(on=d.isoformat(), score=s, band=bands[s]) for d, s in scores]


def sample_report() -> HandoverReport:
    """Nordwind Logistics, handed over from mia to max: a realistic report with every list
    filled, one stakeholder erased, one departed, and hostile text in the free-text fields."""
    return HandoverReport(
        account_id=ACCOUNT,
        generated_at=datetime(2026, 2, 16, 9, 30, tzinfo=UTC),
        today=date(2026, 2, 16),
        position=1482,
        event_count=96,
        manager="max",
        outgoing_manager="mia",
        incoming_manager="max",
        handover=HandoverFacts(
            from_manager="mia",
            to_manager="max",
            effective_on=date(2026, 3, 1),
            reason="Mia moves to the APAC team",
            handed_over_by="dora",
            handed_over_at=datetime(2026, 2, 10, 9, 0, tzinfo=UTC),
            acknowledged_by=None,
            acknowledged_at=None,
            sources=[1470],
        ),
        first_week=FirstWeek(
            meet=[
                PersonToMeet(
                    stakeholder_id=PIERRE,
                    name=HOSTILE,
                    buying_role="economic_buyer",
                    disposition="detractor",
                    last_contact_on=None,
                    why="economic buyer, a detractor, never contacted",
                    sources=[211],
                )
            ],
            overdue_actions=[],
            overdue_commitments=[],
            relationships_to_reassign=1,
            gaps=[Gap(code="no_assessment_6m", text="No formal assessment in 6 months")],
        ),
        team=TeamSection(
            members=[
                TeamMemberEntry(member="lars", roles=["technical_expert"], sources=[4]),
                TeamMemberEntry(
                    member="max", roles=["relationship_leader", "innovator"], sources=[1471]
                ),
            ],
            uncovered_roles=["collaborator", "project_manager", "result_generator"],
        ),
        snapshot=AccountSnapshot(
            name="Nordwind Logistics GmbH",
            industry="Logistics",
            region="DACH",
            service_profile="premium",
            tier="strategic",
            kind="existing",
            tier_rationale="Largest fleet contract in the region; renewal due 2026",
            tier_sources=[12],
            stage="action_plan",
            stage_sources=[40, 377],
            attractiveness=72,
            criteria={"current_revenue": 5, "growth_potential": 4, "fit": 3},
            criteria_sources=[15],
            financials=[
                FinancialPoint(
                    period="2024",
                    revenue=1_180_000.0,
                    gross_margin=0.29,
                    revenue_target=1_200_000.0,
                    currency="EUR",
                    sources=[20],
                ),
                FinancialPoint(
                    period="2025",
                    revenue=1_254_300.5,
                    gross_margin=0.345,
                    revenue_target=1_400_000.0,
                    currency="EUR",
                    sources=[301],
                ),
            ],
            revenue_share=0.1234,
            pareto_rank=2,
            top20=True,
            kpis=[
                KpiStatusPoint(
                    plan_period="2026",
                    kpi_status="at_risk",
                    reviewed_on=date(2026, 1, 20),
                    reviewed_by="dora",
                    sources=[1400],
                )
            ],
            exited=False,
        ),
        ownership=[
            Tenure(
                manager="lars",
                since=date(2023, 3, 1),
                until=date(2024, 6, 30),
                reason=None,
                how="assigned",
                acknowledged=None,
                sources=[3],
            ),
            Tenure(
                manager="mia",
                since=date(2024, 7, 1),
                until=None,
                reason=HOSTILE,
                how="handed_over",
                acknowledged=False,
                sources=[150, 151],
            ),
        ],
        stakeholders=[
            StakeholderEntry(
                stakeholder_id=ANNA,
                name="Anna Berger",
                title="COO",
                buying_role="decision_maker",
                influence=5,
                disposition="supporter",
                relationship_owner="mia",
                last_contact_on=date(2026, 1, 28),
                interactions=14,
                left_on=None,
                successor_id=None,
                successor_name=None,
                reassign=True,
                sources=[31, 1460],
            ),
            StakeholderEntry(
                stakeholder_id=ERASED,
                name=None,
                title=None,
                buying_role="champion",
                influence=3,
                disposition="neutral",
                relationship_owner=None,
                last_contact_on=date(2025, 5, 2),
                interactions=4,
                left_on=date(2025, 6, 30),
                successor_id=PIERRE,
                successor_name="Pierre Roux",
                sources=[33, 210, 260],
            ),
            StakeholderEntry(
                stakeholder_id=PIERRE,
                name=HOSTILE,
                title="Head of procurement",
                buying_role="economic_buyer",
                influence=4,
                disposition="detractor",
                relationship_owner="lars",
                last_contact_on=None,
                interactions=0,
                left_on=None,
                successor_id=None,
                successor_name=None,
                sources=[211],
            ),
        ],
        health=RelationshipHealthPublic(
            account_id=ACCOUNT,
            as_of="2026-02-16",
            score=47,
            band="amber",
            components=[
                HealthComponentPublic(
                    name="coverage", value=60, weight=25, explanation="2 of 3 key roles held"
                ),
                HealthComponentPublic(
                    name="recency", value=80, weight=20, explanation="last contact 19 days ago"
                ),
                HealthComponentPublic(name="sentiment", value=31, weight=20, explanation=HOSTILE),
            ],
            flags=["detractor_decision_maker", "overdue_actions"],
            trend=trend(),
        ),
        plan=PlanSection(
            plans=["2026", "2025"],
            direction="Grow cold-chain share; protect the fleet contract",
            shared_status="shared_not_agreed",
            shared_sources=[1250],
            objectives=[
                ObjectiveEntry(
                    plan_period="2026",
                    objective_id=uid(1),
                    statement="Win the cold-chain tender",
                    metric="cold-chain revenue (EUR)",
                    baseline=0.0,
                    target=250_000.0,
                    latest_value=40_000.0,
                    progress_pct=16,
                    due_on=date(2026, 9, 30),
                    status="open",
                    sources=[1201, 1302],
                )
            ],
            opportunities=[
                OpportunityEntry(
                    plan_period="2026",
                    opportunity_id=uid(2),
                    kind="cross_sell",
                    title="Cold-chain monitoring",
                    value=250_000.0,
                    probability=40,
                    status="open",
                    sources=[1210],
                )
            ],
            open_pipeline_value=250_000.0,
            weighted_pipeline_value=100_000.0,
        ),
        open_work=OpenWork(
            actions=[
                OpenAction(
                    plan_period="2026",
                    plan_id=PLAN,
                    action_id=uid(3),
                    what=HOSTILE,
                    owner="mia",
                    due_on=date(2026, 2, 1),
                    status="in_progress",
                    overdue=True,
                    days_late=15,
                    reassign=True,
                    sources=[1220, 1350],
                ),
                OpenAction(
                    plan_period="2026",
                    plan_id=PLAN,
                    action_id=uid(4),
                    what="Prepare the QBR deck",
                    owner="lars",
                    due_on=date(2026, 3, 10),
                    status="planned",
                    overdue=False,
                    days_late=0,
                    reassign=False,
                    sources=[1221],
                ),
            ],
            commitments=[
                OpenCommitment(
                    stakeholder_id=ANNA,
                    stakeholder="Anna Berger",
                    commitment_id=uid(5),
                    description="Send the SLA draft",
                    due_on=date(2026, 2, 20),
                    overdue=False,
                    relationship_owner="mia",
                    reassign=True,
                    sources=[1455],
                )
            ],
        ),
        recent=RecentSection(
            interactions=[
                LoggedEvent(
                    position=1460,
                    type="InteractionLogged",
                    actor="mia",
                    occurred_at=datetime(2026, 1, 28, 14, 0, tzinfo=UTC),
                    summary="Meeting with Anna Berger (sentiment +1)",
                )
            ],
            decisions=[
                LoggedEvent(
                    position=377,
                    type="StageAdvanced",
                    actor="dora",
                    occurred_at=datetime(2025, 11, 4, 10, 15, tzinfo=UTC),
                    summary="Stage research -> action plan",
                )
            ],
        ),
        risks=RisksSection(
            risks=[
                RiskEntry(
                    risk_id=uid(6),
                    title="Competitor undercuts the fleet renewal",
                    severity="high",
                    revenue_at_risk=600_000.0,
                    mitigation=None,
                    sources=[1300],
                )
            ],
            competitors=[
                CompetitorEntry(name="FrostLine AG", threat="medium", notes=HOSTILE, sources=[90])
            ],
            feedback=[
                LoggedEvent(
                    position=1390,
                    type="FeedbackRecorded",
                    actor="mia",
                    occurred_at=datetime(2026, 1, 10, 8, 0, tzinfo=UTC),
                    summary="NPS 6, CSAT 3",
                )
            ],
            latest_assessment="Engagement indifferent, trust 3/5",
            assessment_sources=[1100],
        ),
        gaps=[
            Gap(code="no_assessment_6m", text="No formal assessment in 6 months", sources=[1100]),
            Gap(code="unanswered_research", text="Research: competitors unanswered", sources=[]),
        ],
        source_events={
            position: SourceEvent(type=kind, occurred_at=datetime(2026, 1, 5, 9, tzinfo=UTC))
            for position, kind in (
                (40, "StageAdvanced"),
                (377, "StageAdvanced"),
                (301, "FinancialsRecorded"),
                (1100, "RelationshipAssessed"),
                (1220, "ActionAdded"),
                (1350, "ActionBlocked"),
                (1300, "RiskRaised"),
                (1460, "InteractionLogged"),
                (1470, "HandedOver"),
                (1471, "TeamMemberAdded"),
                (211, "Identified"),
                (33, "Identified"),
                (210, "InteractionLogged"),
                (260, "LeftCompany"),
            )
        },
    )


def empty_report() -> HandoverReport:
    """A freshly registered account: every list empty, no health, None wherever allowed."""
    full = sample_report()
    return HandoverReport(
        account_id=ACCOUNT,
        generated_at=datetime(2026, 2, 16, 9, 30),
        today=date(2026, 2, 16),
        position=1,
        event_count=1,
        manager=None,
        outgoing_manager=None,
        incoming_manager=None,
        handover=None,
        first_week=FirstWeek(
            meet=[],
            overdue_actions=[],
            overdue_commitments=[],
            relationships_to_reassign=0,
            gaps=[],
        ),
        team=TeamSection(members=[], uncovered_roles=[]),
        snapshot=full.snapshot.model_copy(
            update={
                "industry": None,
                "region": None,
                "service_profile": None,
                "tier": None,
                "kind": None,
                "tier_rationale": None,
                "tier_sources": [],
                "stage": "strategy",
                "attractiveness": None,
                "criteria": None,
                "financials": [],
                "revenue_share": None,
                "pareto_rank": None,
                "top20": False,
                "kpis": [],
            }
        ),
        ownership=[],
        stakeholders=[],
        health=None,
        plan=PlanSection(
            plans=[],
            direction=None,
            shared_status=None,
            shared_sources=[],
            objectives=[],
            opportunities=[],
            open_pipeline_value=0.0,
            weighted_pipeline_value=0.0,
        ),
        open_work=OpenWork(actions=[], commitments=[]),
        recent=RecentSection(interactions=[], decisions=[]),
        risks=RisksSection(
            risks=[], competitors=[], feedback=[], latest_assessment=None, assessment_sources=[]
        ),
        gaps=[],
    )


def table_rows(markdown: str) -> list[list[str]]:
    """Every Markdown table in the text, as its lines."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def cells(row: str) -> int:
    """How many cells a table line has: escaped pipes (``\\|``) do not split cells."""
    unescaped = re.sub(r"\\.", "x", row)
    return unescaped.count("|") - 1


def svg_fragment(page: str) -> str:
    match = re.search(r"<svg\b.*?</svg>", page, re.DOTALL)
    assert match, "no <svg> in the page"
    return match.group(0)


# --- Markdown ----------------------------------------------------------------------------


def test_markdown_has_title_header_the_first_week_and_the_nine_sections_in_order() -> None:
    markdown = render_markdown(sample_report())

    assert markdown.startswith("# Handover report: Nordwind Logistics GmbH\n")
    assert "- **History complete to:** position #1482 _96 events_" in markdown
    headings = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == SECTIONS


def test_markdown_header_states_the_handovers_date_reason_and_acknowledgement() -> None:
    # Given a handover from Mia to Max that Max has not acknowledged
    report = sample_report()
    # When it is rendered
    markdown = render_markdown(report, BASE)
    # Then the header says when it takes effect, why, and that it is pending
    assert (
        "- **Handover:** from mia to max _(by dora on 2026-02-10)_ [handed over][e1470]" in markdown
    )
    assert "- **Effective on:** 2026-03-01" in markdown
    assert "- **Reason:** Mia moves to the APAC team" in markdown
    assert "- **Acknowledged:** **pending** max has not acknowledged it yet" in markdown
    # And once acknowledged, by whom and when
    assert report.handover is not None
    report.handover.acknowledged_by = "max"
    report.handover.acknowledged_at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert "- **Acknowledged:** by max on 2026-03-02" in render_markdown(report)


def test_markdown_without_a_handover_says_so() -> None:
    assert "- **Handover:** _the current manager did not take over by a handover_" in (
        render_markdown(empty_report())
    )


def test_markdown_opens_with_the_first_week() -> None:
    markdown = render_markdown(sample_report())
    first_week = markdown.split("## First week", 1)[1].split("## 1. ", 1)[0]
    assert "economic buyer, a detractor, never contacted" in first_week
    assert "Relationships to hand to a new owner: 1" in first_week
    assert "- No formal assessment in 6 months" in first_week
    assert "Nothing overdue." in first_week


def test_markdown_shows_the_team_and_the_roles_nobody_holds() -> None:
    markdown = render_markdown(sample_report())
    assert "| max | relationship leader, innovator | team member added (event 1471) |" in markdown
    assert (
        "Roles nobody on the team holds: **collaborator, project manager, result generator**"
        in markdown
    )


def test_markdown_states_the_plans_sharing_as_the_plan_records_it() -> None:
    report = sample_report()
    assert "- **Shared with the customer:** plan 2026: **shared, not agreed**" in (
        render_markdown(report)
    )
    report.plan.shared_status = "agreed"
    assert "- **Shared with the customer:** plan 2026: shared and agreed" in (
        render_markdown(report)
    )
    report.plan.shared_status = "not_shared"
    assert "- **Shared with the customer:** plan 2026: **not shared**" in (render_markdown(report))


def test_markdown_tables_keep_their_column_count_whatever_the_user_wrote() -> None:
    markdown = render_markdown(sample_report())

    tables = table_rows(markdown)
    assert len(tables) >= 12
    for table in tables:
        widths = {cells(row) for row in table}
        assert len(widths) == 1, table
    assert "<script>" not in markdown
    assert "\\<script\\>" in markdown
    assert "Split \\| cells \\& " in markdown
    assert "second line \\*bold\\* \\_em\\_ #tag" in markdown


def test_markdown_escapes_leading_markup_in_user_text() -> None:
    report = sample_report()
    report.snapshot.name = "#1 *Customer*"
    report.plan.direction = "- not a list\n# not a heading"

    markdown = render_markdown(report)

    assert markdown.startswith("# Handover report: \\#1 \\*Customer\\*\n")
    assert "- **Direction:** \\- not a list # not a heading" in markdown


def test_markdown_shows_sources_money_and_percentages() -> None:
    markdown = render_markdown(sample_report())

    assert (
        "| 2025 | 1,254,300.50 EUR | 34.5 % | 1,400,000 EUR | 89.6 % | +6.3 % "
        "| financials recorded (event 301) |"
    ) in markdown
    assert (
        "- **Stage:** action plan stage advanced (event 40), stage advanced (event 377)" in markdown
    )
    assert "12.3 % of the portfolio's last-period revenue (Pareto rank 2) **top 20 %**" in (
        markdown
    )
    assert "| 2026 | Cold-chain monitoring | cross sell | 250,000 EUR | 40 % | 100,000 EUR |" in (
        markdown
    )
    assert (
        "| Competitor undercuts the fleet renewal | **high** | 600,000 EUR | — "
        "| risk raised (event 1300) |"
    ) in markdown


def test_markdown_sources_are_reference_links_to_the_accounts_history() -> None:
    # Given a base URL
    markdown = render_markdown(sample_report(), BASE)
    # Then each source is its event's name, a reference link defined at the end
    assert "- **Stage:** action plan [stage advanced][e40], [stage advanced][e377]" in markdown
    history = f"{BASE}/accounts/{ACCOUNT}/history"
    assert (
        f'[e40]: <{history}?position=40> "stage advanced, 2026-01-05 (log position 40)"'
        in markdown.splitlines()
    )
    definitions = assert_readable_markdown(markdown)
    assert definitions["e1460"] == f"{history}?position=1460"


def test_the_rendered_sample_has_no_internal_codes_and_no_unresolved_references() -> None:
    assert_readable_markdown(render_markdown(sample_report(), BASE))
    assert_readable_markdown(render_markdown(empty_report(), BASE))
    assert_readable_html(render_html(sample_report(), BASE))


def test_markdown_marks_what_to_reassign() -> None:
    markdown = render_markdown(sample_report())

    actions = [line for line in markdown.splitlines() if "(event 1220)" in line]
    assert len(actions) == 1
    assert actions[0].startswith("| **reassign** |")
    assert "**15 days late**" in actions[0]
    qbr = next(line for line in markdown.splitlines() if "Prepare the QBR deck" in line)
    assert qbr.startswith("| — |")
    sla = next(line for line in markdown.splitlines() if "Send the SLA draft" in line)
    assert sla.startswith("| **reassign** |")
    assert "2 open actions, 1 overdue: **1 to reassign.**" in markdown
    anna = next(line for line in markdown.splitlines() if line.startswith("| Anna Berger |"))
    assert "| mia **reassign** |" in anna


def test_markdown_stakeholders_show_erasure_and_departure() -> None:
    markdown = render_markdown(sample_report())

    erased = next(line for line in markdown.splitlines() if "(event 33)" in line)
    assert erased.startswith("| _erased_ | — | champion | 3 / 5 | neutral |")
    assert "**left 2025-06-30** successor: Pierre Roux" in erased


def test_markdown_health_lists_components_flags_and_trend() -> None:
    markdown = render_markdown(sample_report())

    assert "**Score 47 / 100** **amber** as of 2026-02-16" in markdown
    assert "| coverage | 60 / 100 | 25 | 2 of 3 key roles held |" in markdown
    assert "- **detractor decision maker**" in markdown
    assert "| 2026-01-05 | 38 | red |" in markdown


def test_markdown_gaps_keep_their_sources() -> None:
    markdown = render_markdown(sample_report())

    assert "- No formal assessment in 6 months relationship assessed (event 1100)" in markdown
    assert "- Research: competitors unanswered\n" in markdown
    assert "no\\_assessment" not in markdown  # the gap's code is for programs


def test_markdown_of_an_empty_report_says_none_recorded_instead_of_empty_tables() -> None:
    markdown = render_markdown(empty_report())

    headings = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == SECTIONS
    assert "_None recorded._" in markdown
    assert "_No relationship health has been computed for this account._" in markdown
    assert "_No open actions._" in markdown
    assert "_None found._" in markdown
    assert "- **Manager:** —" in markdown
    assert table_rows(markdown) == []


# --- HTML --------------------------------------------------------------------------------


def test_html_is_one_self_contained_page_with_every_section() -> None:
    page = render_html(sample_report())

    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert "@media print" in page
    assert "size: A4" in page
    assert "<title>Handover report: Nordwind Logistics GmbH</title>" in page
    assert '<section id="first-week">' in page
    for number, title in enumerate(SECTIONS[1:], start=1):
        assert f'<section id="s{number}"' in page
        assert f"<h2>{title}</h2>" in page


def test_html_loads_nothing_external_and_runs_no_script() -> None:
    page = render_html(sample_report())

    assert "http://" not in page
    assert "https://" not in page
    assert "src=" not in page
    assert "@import" not in page
    assert "url(" not in page
    assert "<script" not in page.lower()


def test_html_escapes_user_text() -> None:
    page = render_html(sample_report())

    assert (
        "Split | cells &amp; &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; second line" in page
    )


def test_html_links_each_source_to_its_event_in_the_accounts_history() -> None:
    page = render_html(sample_report(), BASE)

    history = f"{BASE}/accounts/{ACCOUNT}/history"
    assert (
        f'(<a href="{history}?position=40" title="stage advanced, 2026-01-05 (log position 40)">'
        f'stage advanced</a>, <a href="{history}?position=377"'
    ) in page
    assert f'<a href="{history}?position=1460"' in page
    assert "/events" not in page
    links = assert_readable_html(page)
    assert set(links) >= {f"{history}?position={p}" for p in sample_report().source_events}


def test_html_without_a_base_url_names_sources_without_links() -> None:
    page = render_html(sample_report())
    assert '<a href="http' not in page and "file:" not in page
    assert '<span title="stage advanced, 2026-01-05 (log position 40)">stage advanced</span>' in (
        page
    )


def test_html_marks_rows_to_reassign() -> None:
    page = render_html(sample_report())

    rows = re.findall(r"<tr[^>]*>.*?</tr>", page)
    marked = [row for row in rows if row.startswith('<tr class="reassign">')]
    assert len(marked) == 3  # an action, a commitment, a relationship
    assert all('<span class="mark mark-reassign">reassign</span>' in row for row in marked)
    assert any("Send the SLA draft" in row for row in marked)
    assert not any("Prepare the QBR deck" in row for row in marked)


def test_html_health_chart_is_well_formed_accessible_svg() -> None:
    svg = ET.fromstring(svg_fragment(render_html(sample_report())))

    assert svg.tag == "svg"
    assert svg.get("role") == "img"
    title = svg.find("title")
    assert title is not None
    assert title.text is not None
    assert "6 points from 2025-09-01 to 2026-02-02" in title.text
    labels = [t.text for t in svg.iter("text")]
    assert {"Sep 2025", "Oct 2025", "Jan 2026", "Feb 2026"} <= set(labels)
    assert {"green ≥ 70", "amber ≥ 40", "red < 40"} <= set(labels)
    markers = [
        e for e in svg if e.tag in {"circle", "rect", "polygon"} and e.find("title") is not None
    ]
    assert [e.get("fill") for e in markers] == [
        "#1b7f3b",
        "#1b7f3b",
        "#b36b00",
        "#b36b00",
        "#c0262d",
        "#b36b00",
    ]
    assert svg.find("polyline") is not None


def test_html_health_has_components_table_and_flags_list() -> None:
    page = render_html(sample_report())

    assert (
        "<tr><td>coverage</td><td>60 / 100</td><td>25</td><td>2 of 3 key roles held</td></tr>"
        in page
    )
    assert '<li><span class="mark mark-warn">overdue actions</span></li>' in page


@pytest.mark.parametrize(
    "points",
    [
        [TrendPointPublic(on="2026-02-02", score=47, band="amber")],
        [
            TrendPointPublic(on="week 1", score=130, band="purple"),
            TrendPointPublic(on="week 2 <&>", score=-5, band="red"),
        ],
        [
            TrendPointPublic(on="2026-02-10", score=60, band="amber"),
            TrendPointPublic(on="2026-02-03", score=50, band="amber"),
        ],
    ],
    ids=["one point", "not dates, out of range", "one month, unordered"],
)
def test_html_chart_copes_with_odd_trends(points: list[TrendPointPublic]) -> None:
    report = sample_report()
    assert report.health is not None
    report.health.trend = points

    svg = ET.fromstring(svg_fragment(render_html(report)))

    assert len([e for e in svg if e.find("title") is not None]) == len(points)
    for element in svg.iter():
        for name in ("x", "y", "cx", "cy"):
            value = element.get(name)
            if value is not None:
                assert 0 <= float(value) <= 720


def test_html_without_health_or_trend_says_so_instead_of_a_chart() -> None:
    report = sample_report()
    assert report.health is not None
    report.health.trend = []
    assert "<svg" not in render_html(report)
    assert "No health trend recorded yet." in render_html(report)

    page = render_html(empty_report())
    assert "<svg" not in page
    assert "No relationship health has been computed for this account." in page


def test_html_gaps_section_is_boxed() -> None:
    page = render_html(sample_report())

    assert '<section id="s9" class="gaps">' in page
    assert "section.gaps { border:" in page


def test_html_of_an_empty_report_has_no_empty_tables() -> None:
    page = render_html(empty_report())

    assert "<table>" not in page
    assert '<p class="empty">None recorded.</p>' in page
    assert '<p class="empty">None found.</p>' in page


# --- both --------------------------------------------------------------------------------


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_rendering_is_deterministic(render: Render) -> None:
    assert render(sample_report()) == render(sample_report())
    assert render(empty_report()) == render(empty_report())


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_rendering_survives_hostile_numbers_and_control_characters(render: Render) -> None:
    report = sample_report()
    report.snapshot.name = "Evil\x00\x07 Corp\r\n"
    report.snapshot.financials[0].revenue = float("nan")
    report.snapshot.financials[1].revenue_target = float("inf")
    report.snapshot.revenue_share = float("-inf")
    report.plan.open_pipeline_value = -0.0

    output = render(report)

    assert "\x00" not in output
    assert "\x07" not in output
    assert "Evil Corp" in output
    assert not re.search(r"\b(nan|inf)\b", output, re.IGNORECASE)


# --- any valid report ---------------------------------------------------------------------


def values(annotation: Any) -> st.SearchStrategy[Any]:
    """Any value a field of this type accepts: NaN and infinities included, text of any kind."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return models(annotation)
    if origin is list:
        return st.lists(values(typing.get_args(annotation)[0]), max_size=3)
    if origin is dict:
        key, value = typing.get_args(annotation)
        return st.dictionaries(values(key), values(value), max_size=3)
    if origin in (types.UnionType, typing.Union):
        return st.one_of([values(arg) for arg in typing.get_args(annotation)])
    if annotation is str:
        return st.text(max_size=40)
    return st.from_type(annotation)


def models(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    fields = {name: values(field.annotation) for name, field in model.model_fields.items()}
    return st.fixed_dictionaries(fields).map(lambda data: model(**data))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(HandoverReport))
def test_any_valid_report_renders_safely_in_both_formats(report: HandoverReport) -> None:
    markdown = render_markdown(report, BASE)
    page = render_html(report, BASE)

    for table in table_rows(markdown):
        assert len({cells(row) for row in table}) == 1, table
    prose = [line for line in markdown.splitlines() if not re.match(r"\[e-?\d+\]: <", line)]
    assert not re.search(r"(?<!\\)<", "\n".join(prose))
    assert markdown.count("\n## ") == 10
    assert page.count("<section ") == 10
    links, _ = html_links(page)
    assert all(link.startswith(f"{BASE}/accounts/{report.account_id}/history?") for link in links)
    assert "<script" not in page
    if "<svg" in page:
        ET.fromstring(svg_fragment(page))


@pytest.mark.parametrize(
    "url",
    [
        "file:///tmp/report",
        "/events",
        "javascript:alert(1)",
        "https://kam.example.com/?next=1",
        'https://kam.example.com/"><script>',
        "https://kam example.com",
        "https://",
    ],
)
def test_a_base_url_must_be_a_plain_absolute_http_address(url: str) -> None:
    with pytest.raises(ValueError, match="must"):
        check_base_url(url)
    with pytest.raises(ValidationError):
        Settings(public_url=url)


def test_a_base_url_loses_its_trailing_slash() -> None:
    assert check_base_url(" https://kam.example.com/kam/ ") == "https://kam.example.com/kam"
    assert Settings(public_url="").public_url is None


@pytest.mark.parametrize(
    ("event_type", "words"),
    [
        ("ActionCompleted", "action completed"),
        ("Relationship.DispositionChanged", "disposition changed"),
        ("Identified", "stakeholder identified"),
        ("SharedWithCustomer", "plan shared with the customer"),
        ("HandedOver", "handed over"),
    ],
)
def test_event_types_read_as_words(event_type: str, words: str) -> None:
    assert event_words(event_type) == words
