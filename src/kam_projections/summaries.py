"""One-line, human summaries of stored events, for an account's timeline and history.

``summarize("AccountPlan.ActionRescheduled", data)`` turns one event into a sentence such as
"Action rescheduled from 2027-03-01 to 2027-04-15 — reason: customer asked". ``data`` is the
event's decoded attributes (what the JSON transcoder with the KAM transcodings gives back), so
values are already UUIDs, dates, Decimals, enums and value dataclasses.

Rules every summary keeps:

* one line of at most ``MAX_LENGTH`` characters, starting with a capital, no trailing period;
* the important values (tier, stage, amounts, due dates in ISO form, statuses, scores), and
  ``meta.reason`` as " — reason: ..." when the event carries one;
* never personal data: a stakeholder's ``PersonalData`` (name, email, phone, personal notes)
  is not read at all; free text (interaction summaries, answers, outcomes) is truncated;
* never an exception: an unknown event, or data that does not fit, falls back to a readable
  split of the event name ("Some event recorded").

Some events refer to an action, objective, opportunity, risk or commitment only by id. A caller
that walks a history in order can name them: collect ``introduced_label`` of each event into a
dict and pass it as ``labels``, and "Action rescheduled ..." becomes "Action 'Run the QBR'
rescheduled ...".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from uuid import UUID

from kam_domain.research import QUESTION_BANK

__all__ = ["EVENT_NAMES", "MAX_LENGTH", "introduced_label", "summarize"]

#: The longest summary, in characters.
MAX_LENGTH = 160

#: How much free text (interaction summaries, answers, outcomes, ...) a summary keeps.
TEXT_LIMIT = 60
#: How much of a label (an action's "what", a risk's title, ...) a summary keeps.
LABEL_LIMIT = 50
#: How much of ``meta.reason`` a summary keeps (less when the rest is long).
REASON_LIMIT = 70

_REASON_SEPARATOR = " — reason: "
_ELLIPSIS = "…"

_Data = Mapping[str, Any]
_Labels = Mapping[UUID, str]


# --- Formatting helpers -------------------------------------------------------------------


def _one_line(text: object) -> str:
    """The text with every run of whitespace (newlines included) turned into one space."""
    return " ".join(str(text).split())


def _clip(text: object, limit: int) -> str:
    """The text on one line, cut to ``limit`` characters with "…" (at a word when possible)."""
    line = _one_line(text)
    if len(line) <= limit:
        return line
    if limit <= 1:
        return _ELLIPSIS[:limit]
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-—") + _ELLIPSIS


def _word(value: object) -> str:
    """An enum or code as lower-case words: ``Stage.ACTION_PLAN`` -> "action plan"."""
    if isinstance(value, Enum):
        value = value.value
    return str(value).replace("_", " ").strip()


def _day(value: object) -> str:
    """A date in ISO form (a datetime gives its date)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _num(value: object) -> str:
    """A number with thousands separators; whole numbers without decimals: "1,200,000.50"."""
    number = _decimal(value)
    if number is None or not number.is_finite():
        return str(value)
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,f}"


def _money(value: object, currency: object) -> str:
    return f"{_num(value)} {currency}"


def _percent_of_ratio(value: object) -> str:
    """A ratio as a percentage: 0.31 -> "31%", 0.315 -> "31.5%"."""
    number = _decimal(value)
    if number is None or not number.is_finite():
        return f"{value}"
    try:
        percent = (number * 100).quantize(Decimal("0.1"))
    except InvalidOperation:
        return f"{_num(number * 100)}%"
    return f"{_num(percent)}%"


def _signed(value: object) -> str:
    """A sentiment as "+2", "-1" or "0"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:+d}" if value else "0"
    return str(value)


def _reason(data: _Data) -> str | None:
    """``meta.reason`` (from an ``Envelope`` or a plain mapping), if it says anything."""
    meta = data.get("meta")
    reason = meta.get("reason") if isinstance(meta, Mapping) else getattr(meta, "reason", None)
    if reason is None:
        return None
    text = _one_line(reason)
    return text or None


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _finish(main: str, reason: str | None) -> str:
    """The summary: main text, then " — reason: ..." if any, within ``MAX_LENGTH``."""
    text = _one_line(main).rstrip(" .")
    because = _clip(reason, REASON_LIMIT).rstrip(" .") if reason else ""
    if because:
        room = MAX_LENGTH - len(_REASON_SEPARATOR) - len(because)
        if len(text) > room:
            text = _clip(text, room)
        text = f"{text}{_REASON_SEPARATOR}{because}"
    text = _clip(text, MAX_LENGTH).rstrip(" .")
    return _capital(text) if text else "Event recorded"


def _label(labels: _Labels, value: object) -> str:
    """The label of an id, as " 'Run the QBR'", if the caller has one; else ""."""
    label = labels.get(value) if isinstance(value, UUID) else None
    return f" '{_clip(label, LABEL_LIMIT)}'" if label else ""


def _quoted(text: object) -> str:
    return f"'{_clip(text, LABEL_LIMIT)}'"


def _changed(what: str, previous: object, current: str) -> str:
    """E.g. "Manager assigned: eve" or "Manager changed from ann to eve"."""
    if previous is None or previous == "":
        return f"{what} assigned: {current}"
    return f"{what} changed from {_clip(previous, 40)} to {current}"


# --- KeyAccount ---------------------------------------------------------------------------


def _registered(d: _Data, labels: _Labels) -> str:
    return (
        f"Registered as a key account: {_clip(d['name'], 50)} ({_clip(d['industry'], 30)}, "
        f"{_clip(d['region'], 30)}), {_word(d['service_profile'])} service profile"
    )


def _classified(d: _Data, labels: _Labels) -> str:
    details = [f"{_word(d['kind'])} account"]
    previous = d.get("previous_tier")
    if previous is not None and previous != d["tier"]:
        details.append(f"was {_word(previous)}")
    if d.get("override_reason"):
        details.append("over the tier cap")
    return f"Classified as {_word(d['tier'])} ({', '.join(details)})"


def _criteria_scored(d: _Data, labels: _Labels) -> str:
    return f"Selection criteria scored: attractiveness {d['attractiveness']}/100"


def _manager_assigned(d: _Data, labels: _Labels) -> str:
    return _changed("Manager", d.get("previous_manager"), _clip(d["manager"], 40))


def _handed_over(d: _Data, labels: _Labels) -> str:
    return (
        f"Handed over from {_clip(d['from_manager'], 40)} to {_clip(d['to_manager'], 40)}, "
        f"effective {_day(d['effective_on'])}"
    )


def _handover_acknowledged(d: _Data, labels: _Labels) -> str:
    return f"Handover acknowledged by {_clip(d['manager'], 40)}"


def _team_member_added(d: _Data, labels: _Labels) -> str:
    roles = ", ".join(_word(role) for role in d["roles"])
    return f"Team member added: {_clip(d['member'], 40)} ({roles})"


def _team_member_removed(d: _Data, labels: _Labels) -> str:
    return f"Team member removed: {_clip(d['member'], 40)}"


def _focus_set(d: _Data, labels: _Labels) -> str:
    focus = d["focus"]
    if isinstance(focus, Mapping):
        parts = (focus["penetration"], focus["expansion"], focus["protection"])
    else:
        parts = (focus.penetration, focus.expansion, focus.protection)
    return "Focus set: penetration {}%, expansion {}%, protection {}%".format(*parts)


def _stage_advanced(d: _Data, labels: _Labels) -> str:
    return f"Stage advanced from {_word(d['from_stage'])} to {_word(d['to_stage'])}"


def _financials_recorded(d: _Data, labels: _Labels) -> str:
    currency = d["currency"]
    extras = []
    if d.get("revenue_target") is not None:
        extras.append(f"target {_money(d['revenue_target'], currency)}")
    if d.get("gross_margin") is not None:
        extras.append(f"margin {_percent_of_ratio(d['gross_margin'])}")
    text = f"Revenue for {_clip(d['period'], 20)}: {_money(d['revenue'], currency)}"
    return f"{text} ({', '.join(extras)})" if extras else text


def _feedback_recorded(d: _Data, labels: _Labels) -> str:
    scores = []
    if d.get("nps") is not None:
        scores.append(f"NPS {d['nps']}")
    if d.get("csat") is not None:
        scores.append(f"CSAT {d['csat']}")
    return f"{', '.join(scores)} recorded" if scores else "Customer feedback recorded"


def _relationship_assessed(d: _Data, labels: _Labels) -> str:
    return (
        f"Relationship assessed: {_word(d['engagement'])}, trust {d['trust']}/5, "
        f"satisfaction {d['satisfaction']}/5, partner rating {d['partner_rating']}/10"
    )


def _competitor_noted(d: _Data, labels: _Labels) -> str:
    return f"Competitor noted: {_clip(d['name'], 50)} ({_word(d['threat'])} threat)"


def _risk_raised(d: _Data, labels: _Labels) -> str:
    details = [f"{_word(d['severity'])} severity"]
    if d.get("revenue_at_risk") is not None:
        details.append(f"revenue at risk {_num(d['revenue_at_risk'])}")
    return f"Risk raised: {_quoted(d['title'])} ({', '.join(details)})"


def _risk_mitigated(d: _Data, labels: _Labels) -> str:
    return f"Risk{_label(labels, d['risk_id'])} mitigated: {_clip(d['mitigation'], TEXT_LIMIT)}"


def _reevaluated(d: _Data, labels: _Labels) -> str:
    return f"Re-evaluated: {_word(d['decision'])} ({_clip(d['rationale'], TEXT_LIMIT)})"


def _exited(d: _Data, labels: _Labels) -> str:
    return "Exited the key account programme"


# --- AccountPlan --------------------------------------------------------------------------


def _drafted(d: _Data, labels: _Labels) -> str:
    text = f"Plan for {_clip(d['period'], 20)} drafted"
    return f"{text}: {_quoted(d['title'])}" if d.get("title") else text


def _direction_stated(d: _Data, labels: _Labels) -> str:
    count = len(d.get("priorities") or [])
    priorities = "1 priority" if count == 1 else f"{count} priorities"
    return f"Direction stated with {priorities}: {_clip(d['direction'], TEXT_LIMIT)}"


def _shared_with_customer(d: _Data, labels: _Labels) -> str:
    agreed = "agreed" if d["agreed"] else "not agreed"
    return f"Plan shared with the customer, {agreed}"


def _research_question_answered(d: _Data, labels: _Labels) -> str:
    question_id = d["question_id"]
    question = QUESTION_BANK.get(question_id) if isinstance(question_id, str) else None
    category = question.category if question is not None else d.get("category")
    topic = _word(category) if category is not None else "research"
    return (
        f"Research answer on {topic} ({_clip(question_id, 20)}): {_clip(d['answer'], TEXT_LIMIT)}"
    )


def _reviewed(d: _Data, labels: _Labels) -> str:
    return f"Plan reviewed, KPIs {_word(d['kpi_status'])}: {_clip(d['notes'], TEXT_LIMIT)}"


def _plan_closed(d: _Data, labels: _Labels) -> str:
    return "Plan closed"


def _objective_set(d: _Data, labels: _Labels) -> str:
    return (
        f"Objective set: {_quoted(d['statement'])} ({_clip(d['metric'], 30)} "
        f"from {_num(d['baseline'])} to {_num(d['target'])} by {_day(d['due_on'])})"
    )


def _objective_progress_recorded(d: _Data, labels: _Labels) -> str:
    text = f"Objective{_label(labels, d['objective_id'])} progress: {_num(d['value'])}"
    return f"{text} ({_clip(d['note'], 40)})" if d.get("note") else text


def _objective_achieved(d: _Data, labels: _Labels) -> str:
    return f"Objective{_label(labels, d['objective_id'])} achieved"


def _objective_missed(d: _Data, labels: _Labels) -> str:
    return f"Objective{_label(labels, d['objective_id'])} missed"


def _opportunity_identified(d: _Data, labels: _Labels) -> str:
    return (
        f"Opportunity identified: {_quoted(d['title'])} ({_word(d['kind'])}, "
        f"value {_num(d['value'])}, probability {d['probability']}%)"
    )


def _opportunity_advanced(d: _Data, labels: _Labels) -> str:
    label = _label(labels, d["opportunity_id"])
    return f"Opportunity{label} probability now {d['probability']}%"


def _opportunity_won(d: _Data, labels: _Labels) -> str:
    return f"Opportunity{_label(labels, d['opportunity_id'])} won at {_num(d['value'])}"


def _opportunity_lost(d: _Data, labels: _Labels) -> str:
    return f"Opportunity{_label(labels, d['opportunity_id'])} lost"


def _action_added(d: _Data, labels: _Labels) -> str:
    return f"Action {_quoted(d['what'])} added for {_clip(d['owner'], 40)}, due {_day(d['due_on'])}"


def _action(d: _Data, labels: _Labels, rest: str) -> str:
    return f"Action{_label(labels, d['action_id'])} {rest}"


def _action_started(d: _Data, labels: _Labels) -> str:
    return _action(d, labels, "started")


def _action_completed(d: _Data, labels: _Labels) -> str:
    return _action(d, labels, f"completed: {_clip(d['outcome'], TEXT_LIMIT)}")


def _action_blocked(d: _Data, labels: _Labels) -> str:
    return _action(d, labels, f"blocked (was {_word(d['blocked_from'])})")


def _action_unblocked(d: _Data, labels: _Labels) -> str:
    return _action(d, labels, f"unblocked, back to {_word(d['status'])}")


def _action_rescheduled(d: _Data, labels: _Labels) -> str:
    dates = f"from {_day(d['previous_due_on'])} to {_day(d['due_on'])}"
    return _action(d, labels, f"rescheduled {dates}")


def _action_reassigned(d: _Data, labels: _Labels) -> str:
    owners = f"from {_clip(d['previous_owner'], 40)} to {_clip(d['owner'], 40)}"
    return _action(d, labels, f"reassigned {owners}")


def _action_cancelled(d: _Data, labels: _Labels) -> str:
    return _action(d, labels, "cancelled")


# --- Relationship (never reads ``personal``) ----------------------------------------------


_INTERACTION_KINDS = {
    "meeting": "Meeting",
    "call": "Call",
    "email": "Email",
    "qbr": "QBR",
    "event": "Event",
    "other": "Interaction",
}


def _identified(d: _Data, labels: _Labels) -> str:
    parts = [_clip(d["title"], 40)] if d.get("title") else []
    parts += [_word(d["buying_role"]), f"influence {d['influence']}/5"]
    return f"Stakeholder identified: {', '.join(parts)}"


def _disposition_changed(d: _Data, labels: _Labels) -> str:
    return f"Disposition changed from {_word(d['previous'])} to {_word(d['disposition'])}"


def _role_changed(d: _Data, labels: _Labels) -> str:
    old_role, new_role = _word(d["previous_role"]), _word(d["buying_role"])
    old_influence, new_influence = d["previous_influence"], d["influence"]
    if old_role == new_role:
        return f"Influence changed from {old_influence}/5 to {new_influence}/5 ({new_role})"
    if old_influence == new_influence:
        return f"Buying role changed from {old_role} to {new_role} (influence {new_influence}/5)"
    return (
        f"Buying role changed from {old_role} (influence {old_influence}/5) "
        f"to {new_role} (influence {new_influence}/5)"
    )


def _owner_assigned(d: _Data, labels: _Labels) -> str:
    return _changed("Relationship owner", d.get("previous_owner"), _clip(d["owner"], 40))


def _interaction_logged(d: _Data, labels: _Labels) -> str:
    kind = _word(d["kind"])
    label = _INTERACTION_KINDS.get(kind, "Interaction")
    return (
        f"{label} logged for {_day(d['on'])}, sentiment {_signed(d['sentiment'])}: "
        f"{_clip(d['summary'], TEXT_LIMIT)}"
    )


def _commitment_made(d: _Data, labels: _Labels) -> str:
    text = f"Commitment made: {_quoted(d['description'])}"
    return f"{text}, due {_day(d['due_on'])}" if d.get("due_on") is not None else text


def _commitment_fulfilled(d: _Data, labels: _Labels) -> str:
    text = f"Commitment{_label(labels, d['commitment_id'])} fulfilled"
    return f"{text}: {_clip(d['note'], TEXT_LIMIT)}" if d.get("note") else text


def _left_company(d: _Data, labels: _Labels) -> str:
    successor = "successor named" if d.get("successor_id") else "no successor named"
    return f"Stakeholder left the company on {_day(d['left_on'])}, {successor}"


def _personal_data_erased(d: _Data, labels: _Labels) -> str:
    return "Stakeholder's personal data erased"


# --- Dispatch -----------------------------------------------------------------------------

_Summariser = Callable[[_Data, _Labels], str]

_SUMMARISERS: dict[str, _Summariser] = {
    "KeyAccount.Registered": _registered,
    "KeyAccount.Classified": _classified,
    "KeyAccount.CriteriaScored": _criteria_scored,
    "KeyAccount.ManagerAssigned": _manager_assigned,
    "KeyAccount.HandedOver": _handed_over,
    "KeyAccount.HandoverAcknowledged": _handover_acknowledged,
    "KeyAccount.TeamMemberAdded": _team_member_added,
    "KeyAccount.TeamMemberRemoved": _team_member_removed,
    "KeyAccount.FocusSet": _focus_set,
    "KeyAccount.StageAdvanced": _stage_advanced,
    "KeyAccount.FinancialsRecorded": _financials_recorded,
    "KeyAccount.FeedbackRecorded": _feedback_recorded,
    "KeyAccount.RelationshipAssessed": _relationship_assessed,
    "KeyAccount.CompetitorNoted": _competitor_noted,
    "KeyAccount.RiskRaised": _risk_raised,
    "KeyAccount.RiskMitigated": _risk_mitigated,
    "KeyAccount.Reevaluated": _reevaluated,
    "KeyAccount.Exited": _exited,
    "AccountPlan.Drafted": _drafted,
    "AccountPlan.DirectionStated": _direction_stated,
    "AccountPlan.SharedWithCustomer": _shared_with_customer,
    "AccountPlan.ResearchQuestionAnswered": _research_question_answered,
    "AccountPlan.Reviewed": _reviewed,
    "AccountPlan.Closed": _plan_closed,
    "AccountPlan.ObjectiveSet": _objective_set,
    "AccountPlan.ObjectiveProgressRecorded": _objective_progress_recorded,
    "AccountPlan.ObjectiveAchieved": _objective_achieved,
    "AccountPlan.ObjectiveMissed": _objective_missed,
    "AccountPlan.OpportunityIdentified": _opportunity_identified,
    "AccountPlan.OpportunityAdvanced": _opportunity_advanced,
    "AccountPlan.OpportunityWon": _opportunity_won,
    "AccountPlan.OpportunityLost": _opportunity_lost,
    "AccountPlan.ActionAdded": _action_added,
    "AccountPlan.ActionStarted": _action_started,
    "AccountPlan.ActionCompleted": _action_completed,
    "AccountPlan.ActionBlocked": _action_blocked,
    "AccountPlan.ActionUnblocked": _action_unblocked,
    "AccountPlan.ActionRescheduled": _action_rescheduled,
    "AccountPlan.ActionReassigned": _action_reassigned,
    "AccountPlan.ActionCancelled": _action_cancelled,
    "Relationship.Identified": _identified,
    "Relationship.DispositionChanged": _disposition_changed,
    "Relationship.RoleChanged": _role_changed,
    "Relationship.OwnerAssigned": _owner_assigned,
    "Relationship.InteractionLogged": _interaction_logged,
    "Relationship.CommitmentMade": _commitment_made,
    "Relationship.CommitmentFulfilled": _commitment_fulfilled,
    "Relationship.LeftCompany": _left_company,
    "Relationship.PersonalDataErased": _personal_data_erased,
}

#: Every event of KeyAccount, AccountPlan and Relationship, as "Aggregate.Event".
EVENT_NAMES: frozenset[str] = frozenset(_SUMMARISERS)

#: Events that introduce a thing later events refer to by id: (id field, label field).
_LABELLED: dict[str, tuple[str, str]] = {
    "AccountPlan.ActionAdded": ("action_id", "what"),
    "AccountPlan.ObjectiveSet": ("objective_id", "statement"),
    "AccountPlan.OpportunityIdentified": ("opportunity_id", "title"),
    "KeyAccount.RiskRaised": ("risk_id", "title"),
    "Relationship.CommitmentMade": ("commitment_id", "description"),
}

_PAST_PARTICIPLES = frozenset(
    {"set", "won", "lost", "left", "made", "held", "sent", "paid", "done", "met", "kept", "taken"}
)


def _short_name(event_name: object) -> str:
    """The "Aggregate.Event" part of itself or of a whole topic "module:Aggregate.Event"."""
    return str(event_name).rpartition(":")[2].strip()


def _readable(event_name: str) -> str:
    """The event's name in words: "X.SomeEventRecorded" or "X.SomeEvent" -> "Some event
    recorded"."""
    last = event_name.rpartition(".")[2] or event_name
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+", last)
    if not words:
        return "Event recorded"
    words = [w if len(w) > 1 and w.isupper() else w.lower() for w in words]
    if not (words[-1].endswith("ed") or words[-1] in _PAST_PARTICIPLES):
        words.append("recorded")
    return _capital(" ".join(words))


def introduced_label(event_name: str, data: Mapping[str, Any]) -> tuple[UUID, str] | None:
    """The id and label of the action, objective, opportunity, risk or commitment an event
    introduces (e.g. an ``ActionAdded``'s ``action_id`` and ``what``), else None.

    Collect these over a history, in order, and pass them to ``summarize(labels=...)``.
    """
    try:
        fields = _LABELLED.get(_short_name(event_name))
        if fields is None:
            return None
        key, label = data.get(fields[0]), data.get(fields[1])
        if isinstance(key, UUID) and label:
            return key, _one_line(label)
    except Exception:
        return None
    return None


def summarize(
    event_name: str, data: Mapping[str, Any], *, labels: Mapping[UUID, str] | None = None
) -> str:
    """A one-line, human summary of one stored event; never raises.

    ``event_name`` is "Aggregate.Event" (the end of the stored topic; a whole topic works too)
    and ``data`` the event's decoded attributes. ``labels`` optionally names the things events
    refer to by id (see ``introduced_label``).
    """
    name = _short_name(event_name)
    try:
        reason = _reason(data)
    except Exception:
        reason = None
    summariser = _SUMMARISERS.get(name)
    if summariser is not None:
        try:
            return _finish(summariser(data, labels or {}), reason)
        except Exception:
            pass  # data that does not fit the event: fall back to its name
    try:
        return _finish(_readable(name), reason)
    except Exception:
        return "Event recorded"
