"""The handover report laid out once as a small document (``document``), so the Markdown and
the HTML writers show the same facts in the same order: a first-week summary, then DESIGN §4's
sections and titles. Stored codes are shown as words (``label``, ``event_words``)."""

from __future__ import annotations

from datetime import date

from kam_api.report.document import (
    BANDS,
    DASH,
    Block,
    Bullets,
    Chart,
    Cited,
    Document,
    Fields,
    Inline,
    Line,
    Mark,
    Note,
    Para,
    Section,
    Strong,
    Sub,
    Table,
    cols,
    day,
    event_words,
    label,
    moment,
    money,
    number,
    percent,
    plural,
    ratio,
    row,
    src,
    text,
    warn_if,
)
from kam_api.report.layout_work import (
    gaps_blocks,
    open_work_blocks,
    reassign_mark,
    recent_blocks,
    risks_blocks,
)
from kam_projections.handover.model import (
    AccountSnapshot,
    HandoverFacts,
    HandoverReport,
    PlanSection,
    RelationshipHealthPublic,
)


def layout(report: HandoverReport) -> Document:
    """The report as sections in DESIGN §4's order and titles."""
    currency = _currency(report.snapshot)
    plan, recent = report.plan, report.recent
    return Document(
        account_id=report.account_id,
        account_name=report.snapshot.name,
        header=_header(report),
        sections=(
            Section(None, "First week", _first_week(report)),
            Section(1, "Account snapshot", _snapshot(report.snapshot)),
            Section(2, "Ownership timeline and account team", _ownership(report)),
            Section(3, "Stakeholder map", _stakeholders(report), new_page=True),
            Section(4, "Relationship health", _health(report.health)),
            Section(5, "Plan: objectives and pipeline", _plan(plan, currency), new_page=True),
            Section(6, "Open actions and commitments", open_work_blocks(report.open_work)),
            Section(
                7, "Recent interactions and key decisions", recent_blocks(recent), new_page=True
            ),
            Section(
                8, "Risks, competitors and customer feedback", risks_blocks(report.risks, currency)
            ),
            Section(9, "Gaps to confirm", gaps_blocks(report), boxed=True),
        ),
        cited={
            position: Cited(event_words(event.type), event.occurred_at.date())
            for position, event in report.source_events.items()
        },
    )


def _currency(snapshot: AccountSnapshot) -> str | None:
    """The account's currency, from its latest financials: the model carries no currency on
    pipeline values or revenue at risk, and they are recorded in the account's currency."""
    return snapshot.financials[-1].currency if snapshot.financials else None


# --- sections ----------------------------------------------------------------------------


def _header(report: HandoverReport) -> Fields:
    history = (f"position #{report.position}", Note(plural(report.event_count, "event")))
    return Fields(
        (
            ("Generated at", (moment(report.generated_at),)),
            ("Today", (day(report.today),)),
            ("History complete to", history),
            ("Ledger verified to", _ledger(report)),
            ("Manager", (text(report.manager),)),
            *_handover(report.handover),
        )
    )


def _handover(handover: HandoverFacts | None) -> tuple[tuple[str, Line], ...]:
    if handover is None:
        return (("Handover", (Note("the current manager did not take over by a handover"),)),)
    if handover.acknowledged_by is None or handover.acknowledged_at is None:
        acknowledged: Line = (
            Mark("pending", "warn"),
            f"{handover.to_manager} has not acknowledged it yet",
        )
    else:
        acknowledged = (f"by {handover.acknowledged_by} on {day(handover.acknowledged_at.date())}",)
    handed: Line = (f"from {handover.from_manager} to {handover.to_manager}",)
    if handover.handed_over_by is not None and handover.handed_over_at is not None:
        handed += (
            Note(f"(by {handover.handed_over_by} on {day(handover.handed_over_at.date())})"),
        )
    return (
        ("Handover", (*handed, src(handover.sources))),
        ("Effective on", (day(handover.effective_on),)),
        ("Reason", (text(handover.reason),)),
        ("Acknowledged", acknowledged),
    )


def _first_week(report: HandoverReport) -> tuple[Block, ...]:
    week = report.first_week
    meet = tuple(
        (
            text(p.name) if p.name is not None else Note("erased"),
            f"— {p.why}",
            src(p.sources),
        )
        for p in week.meet
    )
    overdue: tuple[Line, ...] = (
        *(
            (
                text(a.what),
                Note(f"(action, {a.owner}, due {day(a.due_on)}, {a.days_late} days late)"),
                *((Mark("reassign", "reassign"),) if a.reassign else ()),
                src(a.sources),
            )
            for a in week.overdue_actions
        ),
        *(
            (
                text(c.description),
                Note(f"(commitment to {c.stakeholder or 'an erased person'}, due {day(c.due_on)})"),
                *((Mark("reassign", "reassign"),) if c.reassign else ()),
                src(c.sources),
            )
            for c in week.overdue_commitments
        ),
    )
    reassign = (
        f"Relationships to hand to a new owner: {week.relationships_to_reassign}"
        " (marked in the stakeholder map).",
    )
    return (
        Sub("People to meet first"),
        Bullets(meet, "No decision maker, economic buyer or champion is known."),
        Sub("Overdue work"),
        Bullets(overdue, "Nothing overdue."),
        Para(reassign),
        Sub("Gaps to settle first"),
        Bullets(tuple((text(g.text), src(g.sources)) for g in week.gaps), "None found."),
    )


def _ledger(report: HandoverReport) -> Line:
    ledger = report.ledger
    if ledger is None:
        return (Note("not checked"),)
    if ledger.problem is not None:
        return (
            Mark(f"position #{ledger.verified_to}", "warn"),
            Note(f"then fails: {ledger.problem}"),
        )
    return (f"position #{ledger.verified_to}", Note("hash chain intact"))


def _snapshot(s: AccountSnapshot) -> tuple[Block, ...]:
    share: Line = (ratio(s.revenue_share), "of the portfolio's last-period revenue")
    if s.pareto_rank is not None:
        share += (f"(Pareto rank {s.pareto_rank})",)
    if s.top20:
        share += (Strong("top 20 %"),)
    attractiveness = DASH if s.attractiveness is None else f"{s.attractiveness} / 100"
    kind = f"({label(s.kind)})" if s.kind else ""
    fields: tuple[tuple[str, Line], ...] = (
        ("Industry", (text(s.industry),)),
        ("Region", (text(s.region),)),
        ("Service profile", (label(s.service_profile),)),
        ("Tier", (label(s.tier), kind, src(s.tier_sources))),
        ("Tier rationale", (text(s.tier_rationale),)),
        ("Stage", (label(s.stage), src(s.stage_sources))),
        ("Attractiveness", (attractiveness, src(s.criteria_sources))),
        ("Share of portfolio", share),
        ("Status", (Mark("exited", "warn"),) if s.exited else ("active",)),
    )
    criteria = tuple(row(label(k), str(v)) for k, v in (s.criteria or {}).items())
    kpis = tuple(
        row(
            text(k.plan_period),
            _kpi(k.kpi_status),
            day(k.reviewed_on),
            text(k.reviewed_by),
            src(k.sources),
        )
        for k in s.kpis
    )
    return (
        Fields(fields),
        Sub("Selection criteria"),
        Table(("Criterion", "Score (1-5)"), criteria, "Not scored."),
        Sub("Financials"),
        _financials(s),
        Sub("KPI status"),
        Table(("Plan", "KPI status", "Reviewed on", "Reviewed by", "Sources"), kpis),
    )


def _kpi(status: str) -> Inline:
    return warn_if(status != "on_track", label(status))


def _financials(s: AccountSnapshot) -> Table:
    rows = []
    previous = None
    for f in s.financials:
        vs_target = ratio(f.revenue / f.revenue_target) if f.revenue_target else DASH
        change = DASH
        if previous is not None and previous.currency == f.currency and previous.revenue:
            change = _signed(ratio(f.revenue / previous.revenue - 1))
        rows.append(
            row(
                text(f.period),
                money(f.revenue, f.currency),
                ratio(f.gross_margin),
                money(f.revenue_target, f.currency),
                vs_target,
                change,
                src(f.sources),
            )
        )
        previous = f
    headers = ("Period", "Revenue", "Gross margin", "Target", "Of target", "Change", "Sources")
    return Table(headers, tuple(rows))


def _signed(value: str) -> str:
    return value if value == DASH or value.startswith("-") else f"+{value}"


def _ownership(report: HandoverReport) -> tuple[Block, ...]:
    acknowledged: dict[bool | None, Inline] = {
        None: DASH,
        True: "yes",
        False: Mark("not yet", "warn"),
    }
    rows = tuple(
        row(
            text(t.manager),
            day(t.since),
            day(t.until) if t.until else Note("present"),
            label(t.how),
            text(t.reason),
            acknowledged[t.acknowledged],
            src(t.sources),
        )
        for t in report.ownership
    )
    headers = ("Manager", "From", "To", "How", "Reason", "Acknowledged", "Sources")
    members = tuple(
        row(text(m.member), ", ".join(label(r) for r in m.roles), src(m.sources))
        for m in report.team.members
    )
    uncovered = report.team.uncovered_roles
    coverage: Line = (
        ("Roles nobody on the team holds:", Mark(", ".join(map(label, uncovered)), "warn"))
        if uncovered
        else ("Every one of the six KAM roles is held.",)
    )
    return (
        Table(headers, rows),
        Sub("Account team"),
        Table(("Member", "KAM roles", "Sources"), members, "Nobody is on the account team."),
        Para(coverage),
    )


def _stakeholders(report: HandoverReport) -> tuple[Block, ...]:
    rows = tuple(
        row(
            text(p.name) if p.name is not None else Note("erased"),
            text(p.title),
            label(p.buying_role),
            f"{p.influence} / 5",
            warn_if(p.disposition == "detractor", label(p.disposition)),
            (text(p.relationship_owner), *((reassign_mark(True),) if p.reassign else ())),
            day(p.last_contact_on),
            str(p.interactions),
            _departure(p.left_on, p.successor_id is not None, p.successor_name),
            src(p.sources),
            mark="reassign" if p.reassign else None,
        )
        for p in report.stakeholders
    )
    headers = cols(
        "Name | Title | Buying role | Influence | Disposition | Relationship owner"
        " | Last contact | Interactions | Left / successor | Sources"
    )
    return (Table(headers, rows, "No stakeholders identified."),)


def _departure(left_on: date | None, has_successor: bool, successor: str | None) -> Line:
    if left_on is None:
        return (DASH,)
    line: Line = (Mark(f"left {day(left_on)}", "warn"),)
    if successor is not None:
        return (*line, "successor:", text(successor))
    if has_successor:
        return (*line, "successor:", Note("erased"))
    return (*line, Note("no successor named"))


def _health(health: RelationshipHealthPublic | None) -> tuple[Block, ...]:
    if health is None:
        return (Para((Note("No relationship health has been computed for this account."),)),)
    band = Mark(health.band, health.band if health.band in BANDS else "unknown")
    components = tuple(
        row(label(c.name), f"{c.value} / 100", str(c.weight), text(c.explanation))
        for c in health.components
    )
    return (
        Para((Strong(f"Score {health.score} / 100"), band, f"as of {health.as_of}")),
        Sub("Components"),
        Table(("Component", "Value", "Weight", "Explanation"), components),
        Sub("Flags"),
        Bullets(tuple((Mark(label(f), "warn"),) for f in health.flags), "No flags raised."),
        Sub("Trend"),
        Chart(tuple(health.trend)),
    )


def _plan(plan: PlanSection, currency: str | None) -> tuple[Block, ...]:
    objectives = tuple(
        row(
            text(o.plan_period),
            text(o.statement),
            text(o.metric),
            f"{number(o.baseline)} → {number(o.target)}",
            number(o.latest_value),
            percent(o.progress_pct),
            day(o.due_on),
            label(o.status),
            src(o.sources),
        )
        for o in plan.objectives
    )
    opportunities = tuple(
        row(
            text(o.plan_period),
            text(o.title),
            label(o.kind),
            money(o.value, currency),
            percent(o.probability),
            money(o.value * o.probability / 100, currency),
            label(o.status),
            src(o.sources),
        )
        for o in plan.opportunities
    )
    fields: tuple[tuple[str, Line], ...] = (
        ("Plans", (", ".join(plan.plans) if plan.plans else DASH,)),
        ("Direction", (text(plan.direction),)),
        ("Shared with the customer", _shared(plan)),
        ("Open pipeline", (money(plan.open_pipeline_value, currency),)),
        ("Weighted pipeline", (money(plan.weighted_pipeline_value, currency),)),
    )
    return (
        Fields(fields),
        Sub("Objectives"),
        Table(
            cols(
                "Plan | Objective | Metric | Baseline → target | Latest | Progress | Due"
                " | Status | Sources"
            ),
            objectives,
        ),
        Sub("Opportunities"),
        Table(
            cols("Plan | Opportunity | Kind | Value | Probability | Weighted | Status | Sources"),
            opportunities,
        ),
    )


_SHARED = {"not_shared": "not shared", "shared_not_agreed": "shared, not agreed"}


def _shared(plan: PlanSection) -> Line:
    """The current plan's sharing, from the same fact as its decision and its gap."""
    if plan.shared_status is None or not plan.plans:
        return (DASH,)
    status = plan.shared_status
    said = warn_if(status != "agreed", _SHARED.get(status, "shared and agreed"))
    return (f"plan {plan.plans[0]}:", said, src(plan.shared_sources))
