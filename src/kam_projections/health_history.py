"""An account's health facts as of any day, folded from its dated fact log.

The health read model logs every event the health model cares about as one row of
``rm_health_log``: the account, the day the fact happened (``kam_domain.dates.fact_time``: an
interaction's ``on``, a departure's ``left_on``, else the command's ``occurred_on``, else when it
was recorded), the log position, the event's type and the few values the model reads. The
health of an account as of day D is the model (``health_model.compute_health``) with D as
"today" over the facts folded from the rows dated up to D, in (day, position) order: exactly
what a fresh projection of only the events that happened up to D would hold. Before the
account's registration day there is no account, hence no health.

``fact_row`` (what an event logs) and ``HealthHistory`` (the fold) are pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any, NamedTuple

from kam_domain.values import BuyingRole, Disposition, EngagementLevel, ServiceProfile
from kam_projections.events import AccountPlan, EventClass, KeyAccount, Relationship
from kam_projections.health_model import (
    ActionFacts,
    AssessmentFacts,
    FeedbackFacts,
    HealthInputs,
    InteractionFacts,
    StakeholderFacts,
)
from kam_projections.tables import Event


class FactRow(NamedTuple):
    """One logged fact: the day it happened, its position, the event type, the aggregate or
    entity it is about, and the values the model reads."""

    on: date
    position: int
    kind: str
    subject: str
    data: Mapping[str, Any]


def _value(item: Any) -> Any:
    return getattr(item, "value", item)


def _day(item: Any) -> str | None:
    return item.isoformat() if isinstance(item, date) else None


#: What each event class logs: (subject, values) from the event.
_LOGGED: dict[EventClass, Callable[[Event], tuple[str, dict[str, Any]]]] = {
    KeyAccount.Registered: lambda e: (
        str(e.aggregate_id),
        {"service_profile": _value(e.data["service_profile"])},
    ),
    KeyAccount.ServiceProfileChanged: lambda e: (
        str(e.aggregate_id),
        {"service_profile": _value(e.data["service_profile"])},
    ),
    KeyAccount.FeedbackRecorded: lambda e: (
        str(e.data["feedback_id"]),
        {"nps": e.data.get("nps"), "csat": e.data.get("csat")},
    ),
    KeyAccount.RelationshipAssessed: lambda e: (
        str(e.aggregate_id),
        {
            "engagement": _value(e.data["engagement"]),
            "trust": e.data["trust"],
            "satisfaction": e.data["satisfaction"],
            "partner_rating": e.data["partner_rating"],
        },
    ),
    AccountPlan.Reviewed: lambda e: (str(e.aggregate_id), {}),
    AccountPlan.ActionAdded: lambda e: (
        str(e.data["action_id"]),
        {"due_on": _day(e.data["due_on"])},
    ),
    AccountPlan.ActionRescheduled: lambda e: (
        str(e.data["action_id"]),
        {"due_on": _day(e.data["due_on"])},
    ),
    AccountPlan.ActionCompleted: lambda e: (str(e.data["action_id"]), {}),
    AccountPlan.ActionCancelled: lambda e: (str(e.data["action_id"]), {}),
    Relationship.Identified: lambda e: (
        str(e.aggregate_id),
        {"buying_role": _value(e.data["buying_role"]), "influence": e.data["influence"]},
    ),
    Relationship.DispositionChanged: lambda e: (
        str(e.aggregate_id),
        {"disposition": _value(e.data["disposition"])},
    ),
    Relationship.RoleChanged: lambda e: (
        str(e.aggregate_id),
        {"buying_role": _value(e.data["buying_role"]), "influence": e.data["influence"]},
    ),
    Relationship.InteractionLogged: lambda e: (
        str(e.aggregate_id),
        {"sentiment": e.data["sentiment"]},
    ),
    Relationship.LeftCompany: lambda e: (
        str(e.aggregate_id),
        {
            "left_on": _day(e.data["left_on"]),
            "successor_id": str(e.data["successor_id"]) if e.data.get("successor_id") else None,
        },
    ),
}


def fact_row(event: Event) -> FactRow | None:
    """The row an event logs (dated by the fact-date rule), or None if health ignores it."""
    logged = _LOGGED.get(event.cls)
    if logged is None:
        return None
    subject, data = logged(event)
    return FactRow(event.day, event.position, event.event_type, subject, data)


def _profile(value: Any) -> ServiceProfile:
    try:
        return ServiceProfile(value)
    except ValueError:
        return ServiceProfile.STANDARD


class HealthHistory:
    """The model's inputs folded from fact rows applied in (day, position) order."""

    def __init__(self) -> None:
        self.registered_on: date | None = None
        self.service_profile = ServiceProfile.STANDARD
        self.last_review_on: date | None = None
        self.assessment: AssessmentFacts | None = None
        self.stakeholders: dict[str, StakeholderFacts] = {}
        self.interactions: list[InteractionFacts] = []
        self.feedback: list[FeedbackFacts] = []
        self.actions: dict[str, ActionFacts] = {}
        #: Dispositions dated before the person was identified: where they start from.
        self.early_dispositions: dict[str, Disposition] = {}

    def apply_all(self, rows: Iterable[FactRow]) -> HealthHistory:
        for row in rows:
            self.apply(row)
        return self

    def apply(self, row: FactRow) -> None:
        data, subject = row.data, row.subject
        match row.kind:
            case "Registered":
                self.registered_on = row.on
                self.service_profile = _profile(data.get("service_profile"))
            case "ServiceProfileChanged":
                self.service_profile = _profile(data.get("service_profile"))
            case "FeedbackRecorded":
                self.feedback.append(FeedbackFacts(row.on, data.get("nps"), data.get("csat")))
            case "RelationshipAssessed":
                self.last_review_on = row.on  # an assessment reviews the relationship too
                self.assessment = AssessmentFacts(
                    row.on,
                    EngagementLevel(data["engagement"]),
                    data["trust"],
                    data["satisfaction"],
                    data["partner_rating"],
                )
            case "Reviewed":
                self.last_review_on = row.on
            case "ActionAdded":
                self.actions[subject] = ActionFacts(date.fromisoformat(data["due_on"]), True)
            case "ActionRescheduled":
                self._action(subject, due_on=date.fromisoformat(data["due_on"]))
            case "ActionCompleted" | "ActionCancelled":
                self._action(subject, open=False)
            case "Identified":
                self.stakeholders[subject] = StakeholderFacts(
                    subject,
                    BuyingRole(data["buying_role"]),
                    data["influence"],
                    self.early_dispositions.pop(subject, Disposition.NEUTRAL),
                    None,
                    None,
                    None,
                )
            case "DispositionChanged":
                disposition = Disposition(data["disposition"])
                if subject not in self.stakeholders:
                    self.early_dispositions[subject] = disposition
                self._stakeholder(subject, disposition=disposition)
            case "RoleChanged":
                self._stakeholder(
                    subject,
                    buying_role=BuyingRole(data["buying_role"]),
                    influence=data["influence"],
                )
            case "InteractionLogged":
                self.interactions.append(InteractionFacts(subject, row.on, data["sentiment"]))
            case "LeftCompany":
                self._stakeholder(
                    subject,
                    left_on=date.fromisoformat(data["left_on"]),
                    successor_id=data.get("successor_id"),
                )

    def _action(self, action: str, **values: Any) -> None:
        if action in self.actions:
            self.actions[action] = replace(self.actions[action], **values)

    def _stakeholder(self, stakeholder: str, **values: Any) -> None:
        if stakeholder in self.stakeholders:
            self.stakeholders[stakeholder] = replace(self.stakeholders[stakeholder], **values)

    def inputs(self, interactions: tuple[InteractionFacts, ...] | None = None) -> HealthInputs:
        """The model's inputs for the facts applied so far (last contacts come from the
        interactions themselves); ``interactions``: these instead of those applied, e.g. all
        of them up to a later day, which the model ignores after its own day."""
        return HealthInputs(
            stakeholders=tuple(self.stakeholders.values()),
            interactions=tuple(self.interactions) if interactions is None else interactions,
            feedback=tuple(self.feedback),
            latest_assessment=self.assessment,
            actions=tuple(self.actions.values()),
            last_review_on=self.last_review_on,
            review_cadence_days=self.service_profile.review_cadence_days,
            registered_on=self.registered_on,
        )
