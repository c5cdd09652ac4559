"""A subject-access request answered: everything held about one stakeholder.

From the event store: the relationship's state and every event of it (redacted like the read
models once the person is erased, whether or not the store already decodes them so); where
the account, its plans and its other stakeholders refer to the person. From the read models:
each event's position and summary, and every row about the person.
"""

from __future__ import annotations

import dataclasses
from uuid import UUID

from kam_api.schemas.audit import event_data, json_safe
from kam_api.schemas.personal_data import (
    ErasurePublic,
    PersonalDataReport,
    PersonalFields,
    PersonEventPublic,
    ReadModelRowPublic,
    ReferencePublic,
)
from kam_domain.application import KamApplication
from kam_domain.personal import ERASED
from kam_domain.relationships import Relationship
from kam_domain.values import PersonalData
from kam_projections.db import Row, ViewDatabase
from kam_projections.erasure import ERASED_TEXT, redact, redacted_personal
from kam_projections.owners import owned_by
from kam_projections.projector import decode_stored
from kam_projections.subject_access import rows_about_person
from kam_projections.tables import Event

_FEEDBACK_TOPIC = "KeyAccount.FeedbackRecorded"


def personal_data_report(
    kam: KamApplication, views: ViewDatabase, stakeholder_id: UUID
) -> PersonalDataReport:
    """Everything held about the stakeholder (the stakeholder's not-found error if unknown)."""
    person = kam.get_stakeholder(stakeholder_id)
    events = [decode_stored(kam, s, 0) for s in kam.recorder.select_events(stakeholder_id)]
    if person.erased:
        events = [redact(e) for e in events]
    commitments = [e.data["commitment_id"] for e in events if e.event_type == "CommitmentMade"]
    rows = rows_about_person(views, person.account_id, stakeholder_id, commitments)
    timeline = {r["aggregate_version"]: r for table, r in rows if table == "rm_timeline"}
    published = [_event_public(e, timeline.get(e.version)) for e in events]
    erasure = next((e for e in published if e.type == "PersonalDataErased"), None)
    return PersonalDataReport(
        stakeholder_id=person.id,
        account_id=person.account_id,
        erased=person.erased,
        erasure=ErasurePublic(
            recorded_at=erasure.recorded_at,
            occurred_at=erasure.occurred_at,
            actor=erasure.actor,
            reason=erasure.reason,
            position=erasure.position,
        )
        if erasure is not None
        else None,
        personal=_personal_fields(person, events),
        buying_role=person.buying_role,
        influence=person.influence,
        disposition=person.disposition,
        relationship_owner=person.owner,
        left_on=person.left_on,
        events=published,
        references=_references(kam, views, person),
        read_model_rows=[ReadModelRowPublic(table=t, row=json_safe(r)) for t, r in rows],
    )


def _personal_fields(person: Relationship, events: list[Event]) -> PersonalFields:
    if not person.erased and person.personal is not None:
        personal, title = person.personal, person.title
    else:  # the placeholders where the person had data, as the (redacted) history reads
        personal, title = _placeholders(events)
    return PersonalFields(
        name=personal.name,
        title=title,
        email=personal.email,
        phone=personal.phone,
        personal_notes=personal.notes,
    )


def _placeholders(events: list[Event]) -> tuple[PersonalData, str | None]:
    """The erased person's data and title as placeholders: where the last of the events that
    set each one (identification or correction) gave a value."""

    def gone(value: object) -> str | None:
        return None if value is None else ERASED

    personal, title = PersonalData(name=ERASED), None
    for event in events:
        data = event.data
        if event.event_type == "Identified":
            found = redacted_personal(data.get("personal"))
            personal = found if isinstance(found, PersonalData) else personal
            title = gone(data.get("title"))
        elif event.event_type == "TitleCorrected":
            title = gone(data.get("title"))
        elif event.event_type == "ContactDetailsCorrected":
            personal = dataclasses.replace(
                personal, email=gone(data.get("email")), phone=gone(data.get("phone"))
            )
    return personal, title


def _event_public(event: Event, row: Row | None) -> PersonEventPublic:
    text: dict[str, str] = {}
    personal = event.data.get("personal")
    if isinstance(personal, PersonalData):
        fields = {"name": personal.name, "email": personal.email, "phone": personal.phone}
        text.update({k: v for k, v in fields.items() if v is not None})
        if personal.notes is not None:
            text["personal_notes"] = personal.notes
    for key in ERASED_TEXT.get(event.event_type, ()):
        value = event.data.get(key)
        if isinstance(value, str):
            text[key] = value
    return PersonEventPublic(
        version=event.version,
        position=row["position"] if row else None,
        type=event.event_type,
        recorded_at=event.recorded_at,
        occurred_at=event.occurred_at,
        actor=event.actor,
        reason=event.meta.reason if event.meta else None,
        summary=row["summary"] if row else None,
        text=text,
        data=event_data(event.data),
    )


def _references(
    kam: KamApplication, views: ViewDatabase, person: Relationship
) -> list[ReferencePublic]:
    """Where the account's plans, feedback and other stakeholders refer to the person."""
    me, account_id = person.id, person.account_id
    found: list[ReferencePublic] = []
    for plan_id in owned_by(views, account_id, "AccountPlan"):
        plan = kam.get_plan(plan_id)
        for action in plan.actions.values():
            if me in action.stakeholder_ids:
                found.append(
                    ReferencePublic(
                        kind="action_stakeholder",
                        aggregate_type="AccountPlan",
                        aggregate_id=plan.id,
                        entity_id=action.id,
                        description=f"Involved in action '{action.what}' of plan {plan.period}",
                    )
                )
    for stored in kam.recorder.select_events(account_id):
        if not stored.topic.endswith(_FEEDBACK_TOPIC):
            continue
        data = decode_stored(kam, stored, 0).data
        if data.get("respondent_id") == me:
            scores = [f"{k.upper()} {data[k]}" for k in ("nps", "csat") if data.get(k) is not None]
            found.append(
                ReferencePublic(
                    kind="feedback_respondent",
                    aggregate_type="KeyAccount",
                    aggregate_id=account_id,
                    entity_id=data["feedback_id"],
                    description=f"Respondent of customer feedback ({', '.join(scores)})",
                    text=data.get("comment"),
                )
            )
    links = [("succeeded_by", person.successor_id), ("reports_to", person.reports_to)]
    for kind, linked in links:
        if linked is not None:
            found.append(_person_link(kind, linked))
    for other_id in owned_by(views, account_id, "Relationship"):
        if other_id == me:
            continue
        other = kam.get_stakeholder(other_id)
        if other.successor_id == me:
            found.append(_person_link("successor_of", other_id))
        if other.reports_to == me:
            found.append(_person_link("reported_to_by", other_id))
    return found


def _person_link(kind: str, other: UUID) -> ReferencePublic:
    words = {
        "succeeded_by": "Succeeded by stakeholder",
        "successor_of": "Named as the successor of stakeholder",
        "reports_to": "Reports to stakeholder",
        "reported_to_by": "Reported to by stakeholder",
    }
    return ReferencePublic(
        kind=kind,
        aggregate_type="Relationship",
        aggregate_id=other,
        entity_id=None,
        description=f"{words[kind]} {other}",
    )
