"""Summaries of ``AccountPlan`` events."""

from __future__ import annotations

from kam_domain.research import QUESTION_BANK
from kam_projections.events import AccountPlan, EventClass
from kam_projections.summaries.text import (
    TEXT_LIMIT,
    Data,
    Labels,
    Summariser,
    clip,
    day,
    label_of,
    num,
    quoted,
    word,
)


def _drafted(d: Data, labels: Labels) -> str:
    text = f"Plan for {clip(d['period'], 20)} drafted"
    return f"{text}: {quoted(d['title'])}" if d.get("title") else text


def _direction_stated(d: Data, labels: Labels) -> str:
    count = len(d.get("priorities") or [])
    priorities = "1 priority" if count == 1 else f"{count} priorities"
    return f"Direction stated with {priorities}: {clip(d['direction'], TEXT_LIMIT)}"


def _shared_with_customer(d: Data, labels: Labels) -> str:
    agreed = "agreed" if d["agreed"] else "not agreed"
    return f"Plan shared with the customer, {agreed}"


def _research_question_answered(d: Data, labels: Labels) -> str:
    question_id = d["question_id"]
    question = QUESTION_BANK.get(question_id) if isinstance(question_id, str) else None
    category = question.category if question is not None else d.get("category")
    topic = word(category) if category is not None else "research"
    return f"Research answer on {topic} ({clip(question_id, 20)}): {clip(d['answer'], TEXT_LIMIT)}"


def _reviewed(d: Data, labels: Labels) -> str:
    return f"Plan reviewed, KPIs {word(d['kpi_status'])}: {clip(d['notes'], TEXT_LIMIT)}"


def _plan_closed(d: Data, labels: Labels) -> str:
    return "Plan closed"


def _objective_set(d: Data, labels: Labels) -> str:
    return (
        f"Objective set: {quoted(d['statement'])} ({clip(d['metric'], 30)} "
        f"from {num(d['baseline'])} to {num(d['target'])} by {day(d['due_on'])})"
    )


def _objective_progress_recorded(d: Data, labels: Labels) -> str:
    text = f"Objective{label_of(labels, d['objective_id'])} progress: {num(d['value'])}"
    return f"{text} ({clip(d['note'], 40)})" if d.get("note") else text


def _objective_achieved(d: Data, labels: Labels) -> str:
    return f"Objective{label_of(labels, d['objective_id'])} achieved"


def _objective_missed(d: Data, labels: Labels) -> str:
    return f"Objective{label_of(labels, d['objective_id'])} missed"


def _opportunity_identified(d: Data, labels: Labels) -> str:
    return (
        f"Opportunity identified: {quoted(d['title'])} ({word(d['kind'])}, "
        f"value {num(d['value'])}, probability {d['probability']}%)"
    )


def _opportunity_advanced(d: Data, labels: Labels) -> str:
    label = label_of(labels, d["opportunity_id"])
    return f"Opportunity{label} probability now {d['probability']}%"


def _opportunity_won(d: Data, labels: Labels) -> str:
    return f"Opportunity{label_of(labels, d['opportunity_id'])} won at {num(d['value'])}"


def _opportunity_lost(d: Data, labels: Labels) -> str:
    return f"Opportunity{label_of(labels, d['opportunity_id'])} lost"


def _action_added(d: Data, labels: Labels) -> str:
    return f"Action {quoted(d['what'])} added for {clip(d['owner'], 40)}, due {day(d['due_on'])}"


def _action(d: Data, labels: Labels, rest: str) -> str:
    return f"Action{label_of(labels, d['action_id'])} {rest}"


def _action_started(d: Data, labels: Labels) -> str:
    return _action(d, labels, "started")


def _action_completed(d: Data, labels: Labels) -> str:
    return _action(d, labels, f"completed: {clip(d['outcome'], TEXT_LIMIT)}")


def _action_blocked(d: Data, labels: Labels) -> str:
    return _action(d, labels, f"blocked (was {word(d['blocked_from'])})")


def _action_unblocked(d: Data, labels: Labels) -> str:
    return _action(d, labels, f"unblocked, back to {word(d['status'])}")


def _action_rescheduled(d: Data, labels: Labels) -> str:
    dates = f"from {day(d['previous_due_on'])} to {day(d['due_on'])}"
    return _action(d, labels, f"rescheduled {dates}")


def _action_reassigned(d: Data, labels: Labels) -> str:
    owners = f"from {clip(d['previous_owner'], 40)} to {clip(d['owner'], 40)}"
    return _action(d, labels, f"reassigned {owners}")


def _action_cancelled(d: Data, labels: Labels) -> str:
    return _action(d, labels, "cancelled")


#: How each AccountPlan event is summarised.
SUMMARIES: dict[EventClass, Summariser] = {
    AccountPlan.Drafted: _drafted,
    AccountPlan.DirectionStated: _direction_stated,
    AccountPlan.SharedWithCustomer: _shared_with_customer,
    AccountPlan.ResearchQuestionAnswered: _research_question_answered,
    AccountPlan.Reviewed: _reviewed,
    AccountPlan.Closed: _plan_closed,
    AccountPlan.ObjectiveSet: _objective_set,
    AccountPlan.ObjectiveProgressRecorded: _objective_progress_recorded,
    AccountPlan.ObjectiveAchieved: _objective_achieved,
    AccountPlan.ObjectiveMissed: _objective_missed,
    AccountPlan.OpportunityIdentified: _opportunity_identified,
    AccountPlan.OpportunityAdvanced: _opportunity_advanced,
    AccountPlan.OpportunityWon: _opportunity_won,
    AccountPlan.OpportunityLost: _opportunity_lost,
    AccountPlan.ActionAdded: _action_added,
    AccountPlan.ActionStarted: _action_started,
    AccountPlan.ActionCompleted: _action_completed,
    AccountPlan.ActionBlocked: _action_blocked,
    AccountPlan.ActionUnblocked: _action_unblocked,
    AccountPlan.ActionRescheduled: _action_rescheduled,
    AccountPlan.ActionReassigned: _action_reassigned,
    AccountPlan.ActionCancelled: _action_cancelled,
}
