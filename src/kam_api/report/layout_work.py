"""The handover report's later sections, laid out (see ``layout``): open actions and
commitments, recent interactions and key decisions, risks, competitors and customer feedback,
and the gaps to confirm."""

from __future__ import annotations

from collections.abc import Sequence

from kam_api.report.document import (
    DASH,
    Block,
    Bullets,
    Inline,
    Line,
    Mark,
    Note,
    Para,
    Strong,
    Sub,
    Table,
    cols,
    day,
    label,
    moment,
    money,
    plural,
    row,
    src,
    text,
    warn_if,
)
from kam_projections.handover.model import (
    HandoverReport,
    LoggedEvent,
    OpenWork,
    RecentSection,
    RisksSection,
)


def open_work_blocks(work: OpenWork) -> tuple[Block, ...]:
    overdue = sum(a.overdue for a in work.actions)
    summary: Line = (
        f"{plural(len(work.actions), 'open action')}, {overdue} overdue:",
        Strong(f"{sum(a.reassign for a in work.actions)} to reassign."),
        f"{plural(len(work.commitments), 'open commitment')}:",
        Strong(f"{sum(c.reassign for c in work.commitments)} to reassign."),
    )
    actions = tuple(
        row(
            reassign_mark(a.reassign),
            text(a.what),
            text(a.owner),
            day(a.due_on),
            label(a.status),
            Mark(f"{a.days_late} days late", "warn") if a.overdue else DASH,
            text(a.plan_period),
            src(a.sources),
            mark="reassign" if a.reassign else None,
        )
        for a in work.actions
    )
    commitments = tuple(
        row(
            reassign_mark(c.reassign),
            text(c.description),
            text(c.stakeholder) if c.stakeholder is not None else Note("erased"),
            day(c.due_on),
            text(c.relationship_owner),
            Mark("overdue", "warn") if c.overdue else DASH,
            src(c.sources),
            mark="reassign" if c.reassign else None,
        )
        for c in work.commitments
    )
    return (
        Para(summary),
        Sub("Actions"),
        Table(
            ("Reassign", "Action", "Owner", "Due", "Status", "Late", "Plan", "Sources"),
            actions,
            "No open actions.",
        ),
        Sub("Commitments"),
        Table(
            cols("Reassign | Commitment | Stakeholder | Due | Relationship owner | Late | Sources"),
            commitments,
            "No open commitments.",
        ),
    )


def reassign_mark(reassign: bool) -> Inline:
    return Mark("reassign", "reassign") if reassign else DASH


def _events(events: Sequence[LoggedEvent], empty: str) -> Table:
    rows = tuple(
        row(moment(e.occurred_at), text(e.actor), text(e.summary), src((e.position,)))
        for e in events
    )
    return Table(("When", "Who", "What", "Source"), rows, empty)


def recent_blocks(recent: RecentSection) -> tuple[Block, ...]:
    return (
        Sub("Interactions"),
        _events(recent.interactions, "No recent interactions."),
        Sub("Key decisions"),
        _events(recent.decisions, "No recent decisions."),
    )


def risks_blocks(risks: RisksSection, currency: str | None) -> tuple[Block, ...]:
    rows = tuple(
        row(
            text(r.title),
            warn_if(r.severity == "high", label(r.severity)),
            money(r.revenue_at_risk, currency),
            text(r.mitigation),
            src(r.sources),
        )
        for r in risks.risks
    )
    competitors = tuple(
        row(text(c.name), label(c.threat), text(c.notes), src(c.sources)) for c in risks.competitors
    )
    assessment: Inline = (
        text(risks.latest_assessment)
        if risks.latest_assessment
        else Note("No formal assessment recorded.")
    )
    return (
        Sub("Risks"),
        Table(("Risk", "Severity", "Revenue at risk", "Mitigation", "Sources"), rows),
        Sub("Competitors"),
        Table(("Competitor", "Threat", "Notes", "Sources"), competitors),
        Sub("Customer feedback"),
        _events(risks.feedback, "No customer feedback recorded."),
        Sub("Latest assessment"),
        Para((assessment, src(risks.assessment_sources))),
    )


def gaps_blocks(report: HandoverReport) -> tuple[Block, ...]:
    return (
        Para(("What the history does not answer: confirm it with the team or the customer.",)),
        Bullets(
            tuple((text(g.text), src(g.sources)) for g in report.gaps),
            "None found.",
        ),
    )
