"""Builds the handover report from the account's aggregates and the read models.

Everything in one report is as of one log position: the read models' (``rm_tracking``). The
``sources`` read model says which version of each aggregate that position saw and which events
each fact came from; aggregates are loaded at exactly those versions (from the cache when it
holds that version, which is the usual case), so the report never mixes a newer state with
older links.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from kam_api.schemas.reads import RelationshipHealthPublic
from kam_api.schemas.report import (
    AccountSnapshot,
    CompetitorEntry,
    FinancialPoint,
    Gap,
    HandoverReport,
    KpiStatusPoint,
    LoggedEvent,
    ObjectiveEntry,
    OpenAction,
    OpenCommitment,
    OpenWork,
    OpportunityEntry,
    PlanSection,
    RecentSection,
    RiskEntry,
    RisksSection,
    StakeholderEntry,
    Tenure,
)
from kam_domain.account_plans import AccountPlan
from kam_domain.app_core import KamApplicationBase
from kam_domain.base import KamAggregate
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.research import questions_in
from kam_domain.values import (
    ActionStatus,
    BuyingRole,
    Disposition,
    OpportunityStatus,
    ResearchCategory,
)
from kam_projections.db import ViewDatabase
from kam_projections.health import account_health
from kam_projections.health_model import HealthWeights
from kam_projections.portfolio import portfolio_row
from kam_projections.sources import SOURCES_SQL, sources_from

A = TypeVar("A", bound=KamAggregate)

#: Threads for the report's health reads (database-bound, so the GIL is free while they wait).
_HEALTH_READS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kam-report-health")

OPEN_ACTION = frozenset({ActionStatus.PLANNED, ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED})
RECENT_INTERACTIONS = 10
RECENT_DECISIONS = 12
FEEDBACK_HISTORY = 12
#: Events that record a decision about the account or its plan.
DECISIONS = (
    "Classified",
    "Reevaluated",
    "StageAdvanced",
    "FocusSet",
    "DirectionStated",
    "SharedWithCustomer",
    "Reviewed",
    "Closed",
    "ManagerAssigned",
    "HandedOver",
    "Exited",
)
ASSESSMENT_STALE_DAYS = 183
CONTACT_STALE_DAYS = 60


class AccountView:
    """An account with its plans and stakeholders, each at the version the read models saw."""

    def __init__(self, kam: KamApplicationBase, views: ViewDatabase, account_id: UUID) -> None:
        self.kam = kam
        # Read-only: the cached objects themselves, never changed here (not found → 404).
        self.account = kam.load(KeyAccount, account_id, fresh=False, copy=False)
        # One round trip on PostgreSQL: the read models' position (read first, so everything
        # up to it is in the sources), the sources, and the timeline lists.
        position, sources, *timeline = views.query_batch(
            [
                ("SELECT MIN(position) AS position FROM rm_tracking", None),
                (SOURCES_SQL, {"a": str(account_id)}),
                *_Timeline.statements(account_id),
            ]
        )
        self.position = int(position[0]["position"] or 0) if position else 0
        self.sources = sources_from(sources)
        self.timeline = _Timeline([row for rows in timeline for row in rows])
        self.account = self._at_seen_version(KeyAccount, self.account)
        self.plans = sorted(
            (self._get(AccountPlan, i) for i in self.sources.owned("AccountPlan")),
            key=lambda plan: plan.period,
            reverse=True,
        )
        self.stakeholders = [self._get(Relationship, i) for i in self.sources.owned("Relationship")]

    def _get(self, cls: type[A], aggregate_id: UUID) -> A:
        return self._at_seen_version(cls, self.kam.load(cls, aggregate_id, fresh=False, copy=False))

    def _at_seen_version(self, cls: type[A], current: A) -> A:
        seen = self.sources.versions.get(current.id)
        if seen is None or seen == current.version:
            return current
        return self.kam.load(cls, current.id, version=seen, fresh=False)


def handover_parties(account: KeyAccount) -> tuple[str | None, str | None]:
    """(outgoing, incoming) manager: a pending handover's two sides; else, if the current
    manager came by a handover, the previous one and them; else the current manager alone."""
    if account.pending_handover is not None:
        return account.pending_handover.from_manager, account.pending_handover.to_manager
    history = account.manager_history
    if len(history) >= 2:
        return history[-2].manager, history[-1].manager
    return account.manager, None


def open_work(view: AccountView, outgoing: str | None, today: date) -> OpenWork:
    """Open plan actions and unkept commitments; the outgoing manager's are to reassign."""
    actions = [
        OpenAction(
            plan_period=plan.period,
            plan_id=plan.id,
            action_id=action.id,
            what=action.what,
            owner=action.owner,
            due_on=action.due_on,
            status=action.status.value,
            overdue=action.due_on < today,
            days_late=max(0, (today - action.due_on).days),
            reassign=outgoing is not None and action.owner == outgoing,
            sources=view.sources.of(plan.id, f"action:{action.id}"),
        )
        for plan in view.plans
        for action in plan.actions.values()
        if action.status in OPEN_ACTION
    ]
    actions.sort(key=lambda a: (not a.reassign, a.due_on, a.what))
    commitments = [
        OpenCommitment(
            stakeholder_id=person.id,
            stakeholder=_name(person),
            commitment_id=commitment.commitment_id,
            description=commitment.description,
            due_on=commitment.due_on,
            overdue=commitment.due_on is not None and commitment.due_on < today,
            relationship_owner=person.owner,
            reassign=outgoing is not None and person.owner == outgoing,
            sources=view.sources.of(person.id, f"commitment:{commitment.commitment_id}"),
        )
        for person in view.stakeholders
        for commitment in person.commitments.values()
        if not commitment.fulfilled
    ]
    commitments.sort(key=lambda c: (not c.reassign, c.due_on or date.max, c.description))
    return OpenWork(actions=actions, commitments=commitments)


def build_report(
    kam: KamApplicationBase,
    views: ViewDatabase,
    account_id: UUID,
    *,
    today: date,
    weights: HealthWeights | None = None,
    now: datetime | None = None,
) -> HandoverReport:
    """The handover report of one account, as of the read models' position."""
    # Health is the slowest part (six reads, then 13 scores for the trend) and needs nothing
    # else here: it runs on its own connection while the rest is gathered.
    pending_health = _HEALTH_READS.submit(
        account_health, views, account_id, today=today, weights=weights
    )
    try:
        view = AccountView(kam, views, account_id)
    finally:
        health = pending_health.result()
    timeline = view.timeline
    account = view.account
    outgoing, incoming = handover_parties(account)
    health_public = RelationshipHealthPublic.model_validate(health) if health else None
    return HandoverReport(
        account_id=account_id,
        generated_at=now or datetime.now(UTC),
        today=today,
        position=view.position,
        event_count=sum(view.sources.counts.values()),
        manager=account.manager,
        outgoing_manager=outgoing,
        incoming_manager=incoming,
        snapshot=_snapshot(view, views, today),
        ownership=_ownership(account, timeline),
        stakeholders=_stakeholders(view),
        health=health_public,
        plan=_plan(view),
        open_work=open_work(view, outgoing, today),
        recent=RecentSection(
            interactions=timeline.latest("interactions"),
            decisions=timeline.latest("decisions"),
        ),
        risks=_risks(view, timeline),
        gaps=_gaps(view, health_public, today),
    )


# --- Sections ---------------------------------------------------------------------------


def _snapshot(view: AccountView, views: ViewDatabase, today: date) -> AccountSnapshot:
    account, sources = view.account, view.sources
    row = portfolio_row(views, account.id, today=today) or {}
    kpis = [
        KpiStatusPoint(
            plan_period=plan.period,
            kpi_status=review.kpi_status.value,
            reviewed_on=review.occurred_on.date() if review.occurred_on else None,
            reviewed_by=review.reviewed_by,
            sources=sources.last(plan.id, "Reviewed"),
        )
        for plan in view.plans
        if (review := plan.reviews[-1] if plan.reviews else None) is not None
    ]
    return AccountSnapshot(
        name=account.name,
        industry=account.industry,
        region=account.region,
        service_profile=account.service_profile,
        tier=_value(account.tier),
        kind=_value(account.kind),
        tier_rationale=account.tier_rationale,
        tier_sources=sources.last(account.id, "Classified"),
        stage=account.stage.value,
        stage_sources=sources.last(account.id, "StageAdvanced"),
        attractiveness=account.attractiveness,
        criteria=account.criteria.scores() if account.criteria else None,
        criteria_sources=sources.last(account.id, "CriteriaScored"),
        financials=[
            FinancialPoint(
                period=f.period,
                revenue=float(f.revenue),
                gross_margin=_float(f.gross_margin),
                revenue_target=_float(f.revenue_target),
                currency=f.currency,
                sources=sources.of(account.id, f"financials:{f.period}"),
            )
            for f in sorted(account.financials.values(), key=lambda f: f.period)
        ],
        revenue_share=row.get("revenue_share"),
        pareto_rank=row.get("pareto_rank"),
        top20=bool(row.get("top20")),
        kpis=kpis,
        exited=account.exited,
    )


def _ownership(account: KeyAccount, timeline: _Timeline) -> list[Tenure]:
    changes = timeline.oldest_first("manager")
    starts = [c for c in changes if c["event_type"] != "HandoverAcknowledged"]
    # Tenures and the events that started them line up from the end (the read model may not
    # have seen the newest yet; the aggregate then is at the same version anyway).
    offset = len(starts) - len(account.manager_history)
    tenures: list[Tenure] = []
    for index, tenure in enumerate(account.manager_history):
        start = starts[index + offset] if index + offset >= 0 else None
        how = "handed over" if start and start["event_type"] == "HandedOver" else "assigned"
        sources = [start["position"]] if start else []
        acknowledged: bool | None = None
        if how == "handed over" and start is not None:
            ack = next(
                (
                    c
                    for c in changes
                    if c["event_type"] == "HandoverAcknowledged"
                    and c["position"] > start["position"]
                ),
                None,
            )
            acknowledged = ack is not None
            if ack is not None:
                sources.append(ack["position"])
        following = account.manager_history[index + 1 : index + 2]
        tenures.append(
            Tenure(
                manager=tenure.manager,
                since=tenure.since,
                until=following[0].since if following else None,
                reason=tenure.reason,
                how=how,
                acknowledged=acknowledged,
                sources=sources,
            )
        )
    return tenures


def _stakeholders(view: AccountView) -> list[StakeholderEntry]:
    by_id = {person.id: person for person in view.stakeholders}
    entries = []
    for person in view.stakeholders:
        successor = by_id.get(person.successor_id) if person.successor_id else None
        subjects = ("Identified", "RoleChanged", "DispositionChanged", "OwnerAssigned")
        positions = sorted(p for s in subjects for p in view.sources.last(person.id, s))
        positions += view.sources.last(person.id, "InteractionLogged")
        positions += view.sources.last(person.id, "LeftCompany")
        entries.append(
            StakeholderEntry(
                stakeholder_id=person.id,
                name=_name(person),
                title=person.title,
                buying_role=person.buying_role.value,
                influence=person.influence,
                disposition=person.disposition.value,
                relationship_owner=person.owner,
                last_contact_on=person.last_interaction_on,
                interactions=person.interaction_count,
                left_on=person.left_on,
                successor_id=person.successor_id,
                successor_name=_name(successor) if successor else None,
                sources=positions,
            )
        )
    # Who matters most first; people who left last.
    entries.sort(
        key=lambda e: (e.left_on is not None, -e.influence, e.name or "", str(e.stakeholder_id))
    )
    return entries


def _plan(view: AccountView) -> PlanSection:
    sources = view.sources
    objectives = [
        ObjectiveEntry(
            plan_period=plan.period,
            objective_id=objective.id,
            statement=objective.statement,
            metric=objective.metric,
            baseline=float(objective.baseline),
            target=float(objective.target),
            latest_value=float(objective.latest_value),
            progress_pct=_progress(objective.baseline, objective.target, objective.latest_value),
            due_on=objective.due_on,
            status=objective.status.value,
            sources=sources.of(plan.id, f"objective:{objective.id}"),
        )
        for plan in view.plans
        for objective in plan.objectives.values()
    ]
    opportunities = [
        OpportunityEntry(
            plan_period=plan.period,
            opportunity_id=opportunity.id,
            kind=opportunity.kind.value,
            title=opportunity.title,
            value=float(opportunity.value),
            probability=opportunity.probability,
            status=opportunity.status.value,
            sources=sources.of(plan.id, f"opportunity:{opportunity.id}"),
        )
        for plan in view.plans
        for opportunity in plan.opportunities.values()
    ]
    open_pipeline = [o for o in opportunities if o.status == OpportunityStatus.OPEN.value]
    current = view.plans[0] if view.plans else None
    return PlanSection(
        plans=[plan.period for plan in view.plans],
        direction=current.direction if current else None,
        shared_with_customer=current.shared_with_customer if current else None,
        objectives=objectives,
        opportunities=opportunities,
        open_pipeline_value=sum(o.value for o in open_pipeline),
        weighted_pipeline_value=round(sum(o.value * o.probability / 100 for o in open_pipeline), 2),
    )


def _risks(view: AccountView, timeline: _Timeline) -> RisksSection:
    account, sources = view.account, view.sources
    assessment = account.latest_assessment
    return RisksSection(
        risks=[
            RiskEntry(
                risk_id=risk.risk_id,
                title=risk.title,
                severity=risk.severity.value,
                revenue_at_risk=_float(risk.revenue_at_risk),
                mitigation=risk.mitigation,
                sources=sources.of(account.id, f"risk:{risk.risk_id}"),
            )
            for risk in account.risks.values()
        ],
        competitors=[
            CompetitorEntry(
                name=competitor.name,
                threat=competitor.threat.value,
                notes=competitor.notes,
                sources=sources.of(account.id, f"competitor:{competitor.name.casefold()}"),
            )
            for competitor in account.competitors.values()
        ],
        feedback=timeline.latest("feedback"),
        latest_assessment=(
            f"{assessment.engagement.value}, trust {assessment.trust}/5, satisfaction "
            f"{assessment.satisfaction}/5, partner rating {assessment.partner_rating}/10"
            + (f" ({assessment.occurred_on.date().isoformat()})" if assessment.occurred_on else "")
            if assessment
            else None
        ),
        assessment_sources=sources.last(account.id, "RelationshipAssessed"),
    )


def _gaps(view: AccountView, health: RelationshipHealthPublic | None, today: date) -> list[Gap]:
    """What the history cannot answer: missing people, stale facts, unanswered research."""
    account, sources = view.account, view.sources
    gaps: list[Gap] = []

    def gap(code: str, text: str, positions: Iterable[int] = ()) -> None:
        gaps.append(Gap(code=code, text=text, sources=sorted(set(positions))))

    active = [p for p in view.stakeholders if p.left_on is None]
    for role, code in (
        (BuyingRole.DECISION_MAKER, "no_decision_maker"),
        (BuyingRole.ECONOMIC_BUYER, "no_economic_buyer"),
        (BuyingRole.CHAMPION, "no_champion"),
    ):
        if not any(p.buying_role is role for p in active):
            word = role.value.replace("_", " ")
            gap(code, f"No {word} is known at the account: who is it now?")
    for person in view.stakeholders:
        who = _name(person) or person.title or "a stakeholder"
        if person.left_on is not None and person.successor_id is None:
            gap(
                "successor_unknown",
                f"{who} ({person.buying_role.value.replace('_', ' ')}) left on "
                f"{person.left_on.isoformat()} and no successor is recorded.",
                view.sources.last(person.id, "LeftCompany"),
            )
        elif person.left_on is None and person.owner is None:
            gap(
                "no_relationship_owner",
                f"Nobody on our side owns the relationship with {who}.",
                view.sources.last(person.id, "Identified"),
            )
        elif (
            person.left_on is None
            and person.disposition is Disposition.DETRACTOR
            and (person.buying_role in (BuyingRole.DECISION_MAKER, BuyingRole.ECONOMIC_BUYER))
        ):
            gap(
                "detractor_decision_maker",
                f"{who} decides or signs and is a detractor: what would change their mind?",
                view.sources.last(person.id, "DispositionChanged"),
            )
    key_people = [
        p for p in active if p.buying_role in (BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION)
    ]
    last_contact = max(
        (p.last_interaction_on for p in key_people if p.last_interaction_on), default=None
    )
    if key_people and (last_contact is None or (today - last_contact).days > CONTACT_STALE_DAYS):
        since = f"since {last_contact.isoformat()}" if last_contact else "ever"
        gap(
            "no_recent_contact",
            f"No contact with a decision maker or champion {since}: is the relationship current?",
        )
    if not account.financials:
        gap("no_revenue", "No revenue has ever been recorded for the account.")
    if account.criteria is None:
        gap("criteria_not_scored", "The eight selection criteria have not been scored.")
    if account.tier is None:
        gap("not_classified", "The account has no tier.")
    assessment = account.latest_assessment
    assessed_on = assessment.occurred_on.date() if assessment and assessment.occurred_on else None
    if assessed_on is None or (today - assessed_on).days > ASSESSMENT_STALE_DAYS:
        when = (
            f"the last was on {assessed_on.isoformat()}" if assessed_on else "there has been none"
        )
        gap(
            "no_recent_assessment",
            f"No formal relationship assessment in the last 6 months ({when}).",
            sources.last(account.id, "RelationshipAssessed"),
        )
    if account.feedback_count == 0:
        gap("no_customer_feedback", "No NPS or CSAT response has ever been recorded.")
    current = view.plans[0] if view.plans else None
    if current is None:
        gap("no_plan", "The account has no account plan.")
    else:
        answered = set(current.research_answers)
        for category in ResearchCategory:
            if not any(q.id in answered for q in questions_in(category)):
                gap(
                    "research_unanswered",
                    f"Plan {current.period}: no research question answered on "
                    f'"{category.value.replace("_", " ")}".',
                )
        if not current.shared_with_customer:
            gap(
                "plan_not_agreed",
                f"Plan {current.period} has not been agreed with the customer.",
                sources.last(current.id, "SharedWithCustomer"),
            )
        if not current.objectives:
            gap("no_objectives", f"Plan {current.period} has no objectives.")
    if account.pending_handover is not None:
        gap(
            "handover_unacknowledged",
            f"{account.pending_handover.to_manager} has not yet acknowledged the handover.",
            sources.last(account.id, "manager"),
        )
    if health is not None and "review_overdue" in health.flags:
        gap("review_overdue", "The account's review is overdue.")
    return gaps


# --- Helpers ---------------------------------------------------------------------------


class _Timeline:
    """The timeline reads a report needs, in one round trip: the newest few events of some
    kinds (each kind read through the (account, type, position) index, so an account with
    thousands of interactions costs no more than one with ten) and every manager change."""

    #: group -> (event types, how many of the newest; None for all)
    GROUPS: dict[str, tuple[Sequence[str], int | None]] = {
        "interactions": (("InteractionLogged",), RECENT_INTERACTIONS),
        "decisions": (DECISIONS, RECENT_DECISIONS),
        "feedback": (("FeedbackRecorded",), FEEDBACK_HISTORY),
        "manager": (("ManagerAssigned", "HandedOver", "HandoverAcknowledged"), None),
    }

    @classmethod
    def statements(cls, account_id: UUID) -> list[tuple[str, dict[str, Any]]]:
        """The query (one UNION ALL) whose rows ``_Timeline(rows)`` takes."""
        params: dict[str, Any] = {"a": str(account_id)}
        parts = []
        for group, (types, limit) in cls.GROUPS.items():
            for event_type in types:
                key = f"t{len(params)}"
                params[key] = event_type
                limit_sql = f" LIMIT {int(limit)}" if limit is not None else ""
                parts.append(
                    f"SELECT * FROM (SELECT '{group}' AS grp, position, event_type, actor, "
                    "occurred_at, summary FROM rm_timeline "
                    f"WHERE account_id = :a AND event_type = :{key} "
                    f"ORDER BY position DESC{limit_sql}) AS {key}"
                )
        return [(" UNION ALL ".join(parts), params)]

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {group: [] for group in self.GROUPS}
        for row in rows:
            self.rows[row["grp"]].append(row)
        for group, (_, limit) in self.GROUPS.items():
            newest = sorted(self.rows[group], key=lambda r: r["position"], reverse=True)
            self.rows[group] = newest[:limit] if limit is not None else newest

    def latest(self, group: str) -> list[LoggedEvent]:
        """The group's newest events, newest first."""
        return [
            LoggedEvent(
                position=r["position"],
                type=r["event_type"],
                actor=r["actor"],
                occurred_at=datetime.fromisoformat(r["occurred_at"]),
                summary=r["summary"],
            )
            for r in self.rows[group]
        ]

    def oldest_first(self, group: str) -> list[dict[str, Any]]:
        return list(reversed(self.rows[group]))


def _name(person: Relationship | None) -> str | None:
    if person is None or person.personal is None:
        return None
    return person.personal.name


def _value(member: Any) -> str | None:
    return None if member is None else str(member.value)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _progress(baseline: Decimal, target: Decimal, value: Decimal) -> int | None:
    if target == baseline:
        return None
    return round((value - baseline) / (target - baseline) * 100)


__all__ = ["AccountView", "build_report", "handover_parties", "open_work"]
