"""The report's header facts and sections 1, 2 (with the team), 3, 5 and 8, assembled from the
account's state at the version the read models saw, each fact with the positions of its events.
Pure: the reads are done."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from kam_domain.key_accounts import KeyAccount
from kam_domain.values import OpportunityStatus
from kam_projections.erasure import shown
from kam_projections.handover.model import (
    AccountSnapshot,
    CompetitorEntry,
    FinancialPoint,
    HandoverFacts,
    KpiStatusPoint,
    ObjectiveEntry,
    OpportunityEntry,
    PlanSection,
    RiskEntry,
    RisksSection,
    SharedStatus,
    StakeholderEntry,
    TeamMemberEntry,
    TeamSection,
    Tenure,
)
from kam_projections.handover.view import AccountView, ReportTimeline, name_of


def snapshot(view: AccountView, portfolio: Mapping[str, Any]) -> AccountSnapshot:
    """1. The account, its money and KPIs; its share of the portfolio from its portfolio row."""
    account, sources = view.account, view.sources
    kpis = [
        KpiStatusPoint(
            plan_period=plan.period,
            kpi_status=review.kpi_status.value,
            reviewed_on=review.occurred_on.date(),
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
        revenue_share=portfolio.get("revenue_share"),
        pareto_rank=portfolio.get("pareto_rank"),
        top20=bool(portfolio.get("top20")),
        kpis=kpis,
        exited=account.exited,
    )


def ownership(account: KeyAccount, timeline: ReportTimeline) -> list[Tenure]:
    """2. Every manager's tenure, how it started and, for a handover, whether it was confirmed."""
    changes = timeline.oldest_first("manager")
    starts: list[dict[str, Any]] = []
    for change in changes:
        if change["event_type"] == "HandoverCancelled":
            if starts:  # the handover it cancels never started a tenure
                starts.pop()
        elif change["event_type"] != "HandoverAcknowledged":
            starts.append(change)
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


def handover_facts(account: KeyAccount, timeline: ReportTimeline) -> HandoverFacts | None:
    """The handover that made the current manager, if one did: its date, reason, who made it
    and who acknowledged it, when (none: still pending)."""
    changes = timeline.oldest_first("manager")
    starts = [c for c in changes if c["event_type"] != "HandoverAcknowledged"]
    history = account.manager_history
    if not starts or starts[-1]["event_type"] != "HandedOver" or len(history) < 2:
        return None
    handed = starts[-1]
    ack = next(
        (
            c
            for c in changes
            if c["event_type"] == "HandoverAcknowledged" and c["position"] > handed["position"]
        ),
        None,
    )
    return HandoverFacts(
        from_manager=history[-2].manager,
        to_manager=history[-1].manager,
        effective_on=history[-1].since,
        reason=history[-1].reason,
        handed_over_by=handed["actor"],
        handed_over_at=_instant(handed["occurred_at"]),
        acknowledged_by=ack["actor"] if ack else None,
        acknowledged_at=_instant(ack["occurred_at"]) if ack else None,
        sources=[handed["position"], *([ack["position"]] if ack else [])],
    )


def team(view: AccountView) -> TeamSection:
    """2b. Who is on the account team with which KAM roles, and the roles nobody holds."""
    account = view.account
    return TeamSection(
        members=[
            TeamMemberEntry(
                member=member,
                roles=[role.value for role in roles],
                sources=view.sources.last(account.id, f"team:{member}"),
            )
            for member, roles in sorted(account.team.items())
        ],
        uncovered_roles=[role.value for role in account.uncovered_roles()],
    )


def stakeholders(view: AccountView, outgoing: str | None = None) -> list[StakeholderEntry]:
    """3. The people at the customer, who matters most first; people who left last. A current
    relationship the outgoing manager owns is marked for reassignment."""
    by_id = {person.id: person for person in view.stakeholders}
    entries = []
    for person in view.stakeholders:
        successor = by_id.get(person.successor_id) if person.successor_id else None
        subjects = (
            *("Identified", "RoleChanged", "DispositionChanged", "OwnerAssigned"),
            *("TitleCorrected", "ReportsToCorrected"),
        )
        positions = sorted(p for s in subjects for p in view.sources.last(person.id, s))
        positions += view.sources.last(person.id, "InteractionLogged")
        positions += view.sources.last(person.id, "LeftCompany")
        entries.append(
            StakeholderEntry(
                stakeholder_id=person.id,
                name=name_of(person),
                title=shown(person, person.title),
                buying_role=person.buying_role.value,
                influence=person.influence,
                disposition=person.disposition.value,
                relationship_owner=person.owner,
                last_contact_on=person.last_interaction_on,
                interactions=person.interaction_count,
                left_on=person.left_on,
                successor_id=person.successor_id,
                successor_name=name_of(successor) if successor else None,
                reassign=outgoing is not None
                and person.left_on is None
                and person.owner == outgoing,
                sources=positions,
            )
        )
    # Who matters most first; people who left last.
    entries.sort(
        key=lambda e: (e.left_on is not None, -e.influence, e.name or "", str(e.stakeholder_id))
    )
    return entries


def plan_section(view: AccountView) -> PlanSection:
    """5. Objectives with progress and the opportunity pipeline, of every plan."""
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
        shared_status=shared_status(current.shared_with_customer) if current else None,
        shared_sources=sources.last(current.id, "SharedWithCustomer") if current else [],
        objectives=objectives,
        opportunities=opportunities,
        open_pipeline_value=sum(o.value for o in open_pipeline),
        weighted_pipeline_value=round(sum(o.value * o.probability / 100 for o in open_pipeline), 2),
    )


def risks(view: AccountView, timeline: ReportTimeline) -> RisksSection:
    """8. Risks, competitors, the customer's feedback and the latest formal assessment."""
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
            f"{assessment.engagement.value.replace('_', ' ')}, trust {assessment.trust}/5, "
            f"satisfaction {assessment.satisfaction}/5, "
            f"partner rating {assessment.partner_rating}/10"
            + f" ({assessment.occurred_on.date().isoformat()})"
            if assessment
            else None
        ),
        assessment_sources=sources.last(account.id, "RelationshipAssessed"),
    )


def shared_status(shared_with_customer: bool | None) -> SharedStatus:
    """A plan's ``shared_with_customer`` (set by its latest SharedWithCustomer event: agreed
    or not; None: never shared) as the one status the report states."""
    if shared_with_customer is None:
        return "not_shared"
    return "agreed" if shared_with_customer else "shared_not_agreed"


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _value(member: Any) -> str | None:
    return None if member is None else str(member.value)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _progress(baseline: Decimal, target: Decimal, value: Decimal) -> int | None:
    if target == baseline:
        return None
    return round((value - baseline) / (target - baseline) * 100)
