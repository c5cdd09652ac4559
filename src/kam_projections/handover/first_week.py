"""The report's opening summary, "the first week": drawn only from its own sections (people,
open work, gaps), by fixed rules, so the same report always opens the same way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from kam_domain.values import BuyingRole, Disposition
from kam_projections.handover.model import (
    FirstWeek,
    Gap,
    OpenWork,
    PersonToMeet,
    StakeholderEntry,
)

#: How many of each list the summary shows (the sections below hold all of them).
PEOPLE_TO_MEET = 3
OVERDUE_SHOWN = 3
GAPS_SHOWN = 3

_KEY_ROLES = (BuyingRole.DECISION_MAKER, BuyingRole.ECONOMIC_BUYER, BuyingRole.CHAMPION)
_KEY_ROLE_VALUES = frozenset(role.value for role in _KEY_ROLES)
#: Influence from which a detractor is worth meeting whatever their role.
_INFLUENTIAL = 4
#: Gaps in order of what to settle first: the handover itself, the people who decide, contact,
#: who covers what on our side, the plan; any other gap after these, in the report's order.
GAP_PRIORITY = (
    "handover_unacknowledged",
    "detractor_decision_maker",
    "no_decision_maker",
    "no_economic_buyer",
    "no_champion",
    "successor_unknown",
    "no_recent_contact",
    "no_relationship_owner",
    "team_roles_uncovered",
    "plan_not_agreed",
    "no_plan",
    "review_overdue",
)


def first_week(
    stakeholders: Sequence[StakeholderEntry],
    work: OpenWork,
    gaps: Sequence[Gap],
    today: date,
) -> FirstWeek:
    """People to meet first, the oldest overdue work and the most important gaps."""
    overdue_actions = sorted(
        (a for a in work.actions if a.overdue), key=lambda a: (-a.days_late, a.what)
    )
    overdue_commitments = sorted(
        (c for c in work.commitments if c.overdue),
        key=lambda c: (c.due_on or date.min, c.description),
    )
    rank = {code: index for index, code in enumerate(GAP_PRIORITY)}
    ranked = sorted(enumerate(gaps), key=lambda g: (rank.get(g[1].code, len(rank)), g[0]))
    return FirstWeek(
        meet=people_to_meet(stakeholders, today)[:PEOPLE_TO_MEET],
        overdue_actions=overdue_actions[:OVERDUE_SHOWN],
        overdue_commitments=overdue_commitments[:OVERDUE_SHOWN],
        relationships_to_reassign=sum(s.reassign for s in stakeholders),
        gaps=[gap for _, gap in ranked[:GAPS_SHOWN]],
    )


def people_to_meet(stakeholders: Sequence[StakeholderEntry], today: date) -> list[PersonToMeet]:
    """Current decision makers, economic buyers and champions, and influential detractors:
    detractors first, then who has gone longest without contact (never: first), then the
    most influential."""
    chosen = [
        s
        for s in stakeholders
        if s.left_on is None
        and (
            s.buying_role in _KEY_ROLE_VALUES
            or (s.disposition == Disposition.DETRACTOR.value and s.influence >= _INFLUENTIAL)
        )
    ]
    chosen.sort(
        key=lambda s: (
            s.disposition != Disposition.DETRACTOR.value,
            s.last_contact_on or date.min,
            -s.influence,
            s.name or "",
            str(s.stakeholder_id),
        )
    )
    return [
        PersonToMeet(
            stakeholder_id=s.stakeholder_id,
            name=s.name,
            buying_role=s.buying_role,
            disposition=s.disposition,
            last_contact_on=s.last_contact_on,
            why=_why(s, today),
            sources=s.sources,
        )
        for s in chosen
    ]


def _why(person: StakeholderEntry, today: date) -> str:
    reasons = [person.buying_role.replace("_", " ")]
    if person.disposition == Disposition.DETRACTOR.value:
        reasons.append("a detractor")
    if person.last_contact_on is None:
        reasons.append("never contacted")
    else:
        days = (today - person.last_contact_on).days
        reasons.append(f"last contact {days} days ago" if days > 1 else "contacted lately")
    return ", ".join(reasons)
