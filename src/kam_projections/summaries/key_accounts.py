"""Summaries of ``KeyAccount`` events."""

from __future__ import annotations

from collections.abc import Mapping

from kam_projections.events import EventClass, KeyAccount
from kam_projections.summaries.text import (
    TEXT_LIMIT,
    Data,
    Labels,
    Summariser,
    changed,
    clip,
    day,
    label_of,
    money,
    num,
    percent_of_ratio,
    quoted,
    word,
)


def _registered(d: Data, labels: Labels) -> str:
    return (
        f"Registered as a key account: {clip(d['name'], 50)} ({clip(d['industry'], 30)}, "
        f"{clip(d['region'], 30)}), {word(d['service_profile'])} service profile"
    )


def _classified(d: Data, labels: Labels) -> str:
    details = [f"{word(d['kind'])} account"]
    previous = d.get("previous_tier")
    if previous is not None and previous != d["tier"]:
        details.append(f"was {word(previous)}")
    if d.get("override_reason"):
        details.append("over the tier cap")
    return f"Classified as {word(d['tier'])} ({', '.join(details)})"


def _criteria_scored(d: Data, labels: Labels) -> str:
    return f"Selection criteria scored: attractiveness {d['attractiveness']}/100"


def _manager_assigned(d: Data, labels: Labels) -> str:
    return changed("Manager", d.get("previous_manager"), clip(d["manager"], 40))


def _handed_over(d: Data, labels: Labels) -> str:
    return (
        f"Handed over from {clip(d['from_manager'], 40)} to {clip(d['to_manager'], 40)}, "
        f"effective {day(d['effective_on'])}"
    )


def _handover_acknowledged(d: Data, labels: Labels) -> str:
    return f"Handover acknowledged by {clip(d['manager'], 40)}"


def _handover_cancelled(d: Data, labels: Labels) -> str:
    return (
        f"Handover to {clip(d['to_manager'], 40)} cancelled; "
        f"{clip(d['from_manager'], 40)} manages the account again"
    )


def _team_member_added(d: Data, labels: Labels) -> str:
    roles = ", ".join(word(role) for role in d["roles"])
    return f"Team member added: {clip(d['member'], 40)} ({roles})"


def _team_member_removed(d: Data, labels: Labels) -> str:
    return f"Team member removed: {clip(d['member'], 40)}"


def _team_roles_changed(d: Data, labels: Labels) -> str:
    before = ", ".join(word(role) for role in d["previous_roles"])
    after = ", ".join(word(role) for role in d["roles"])
    return f"Team roles of {clip(d['member'], 40)} changed from {before} to {after}"


def _focus_set(d: Data, labels: Labels) -> str:
    focus = d["focus"]
    if isinstance(focus, Mapping):
        parts = (focus["penetration"], focus["expansion"], focus["protection"])
    else:
        parts = (focus.penetration, focus.expansion, focus.protection)
    return "Focus set: penetration {}%, expansion {}%, protection {}%".format(*parts)


def _stage_advanced(d: Data, labels: Labels) -> str:
    return f"Stage advanced from {word(d['from_stage'])} to {word(d['to_stage'])}"


def _financials_recorded(d: Data, labels: Labels) -> str:
    currency = d["currency"]
    extras = []
    if d.get("revenue_target") is not None:
        extras.append(f"target {money(d['revenue_target'], currency)}")
    if d.get("gross_margin") is not None:
        extras.append(f"margin {percent_of_ratio(d['gross_margin'])}")
    text = f"Revenue for {clip(d['period'], 20)}: {money(d['revenue'], currency)}"
    return f"{text} ({', '.join(extras)})" if extras else text


def _feedback_recorded(d: Data, labels: Labels) -> str:
    scores = []
    if d.get("nps") is not None:
        scores.append(f"NPS {d['nps']}")
    if d.get("csat") is not None:
        scores.append(f"CSAT {d['csat']}")
    return f"{', '.join(scores)} recorded" if scores else "Customer feedback recorded"


def _relationship_assessed(d: Data, labels: Labels) -> str:
    return (
        f"Relationship assessed: {word(d['engagement'])}, trust {d['trust']}/5, "
        f"satisfaction {d['satisfaction']}/5, partner rating {d['partner_rating']}/10"
    )


def _competitor_noted(d: Data, labels: Labels) -> str:
    return f"Competitor noted: {clip(d['name'], 50)} ({word(d['threat'])} threat)"


def _risk_raised(d: Data, labels: Labels) -> str:
    details = [f"{word(d['severity'])} severity"]
    if d.get("revenue_at_risk") is not None:
        details.append(f"revenue at risk {num(d['revenue_at_risk'])}")
    return f"Risk raised: {quoted(d['title'])} ({', '.join(details)})"


def _risk_mitigated(d: Data, labels: Labels) -> str:
    return f"Risk{label_of(labels, d['risk_id'])} mitigated: {clip(d['mitigation'], TEXT_LIMIT)}"


def _reevaluated(d: Data, labels: Labels) -> str:
    return f"Re-evaluated: {word(d['decision'])} ({clip(d['rationale'], TEXT_LIMIT)})"


def _service_profile_changed(d: Data, labels: Labels) -> str:
    return (
        f"Service profile changed from {word(d['previous_profile'])} "
        f"to {word(d['service_profile'])}"
    )


def _exited(d: Data, labels: Labels) -> str:
    return "Exited the key account programme"


#: How each KeyAccount event is summarised.
SUMMARIES: dict[EventClass, Summariser] = {
    KeyAccount.Registered: _registered,
    KeyAccount.Classified: _classified,
    KeyAccount.CriteriaScored: _criteria_scored,
    KeyAccount.ManagerAssigned: _manager_assigned,
    KeyAccount.HandedOver: _handed_over,
    KeyAccount.HandoverAcknowledged: _handover_acknowledged,
    KeyAccount.HandoverCancelled: _handover_cancelled,
    KeyAccount.TeamMemberAdded: _team_member_added,
    KeyAccount.TeamMemberRemoved: _team_member_removed,
    KeyAccount.TeamRolesChanged: _team_roles_changed,
    KeyAccount.FocusSet: _focus_set,
    KeyAccount.StageAdvanced: _stage_advanced,
    KeyAccount.FinancialsRecorded: _financials_recorded,
    KeyAccount.FeedbackRecorded: _feedback_recorded,
    KeyAccount.RelationshipAssessed: _relationship_assessed,
    KeyAccount.CompetitorNoted: _competitor_noted,
    KeyAccount.RiskRaised: _risk_raised,
    KeyAccount.RiskMitigated: _risk_mitigated,
    KeyAccount.Reevaluated: _reevaluated,
    KeyAccount.ServiceProfileChanged: _service_profile_changed,
    KeyAccount.Exited: _exited,
}
