"""What the read models see of an erased person: their events with the placeholders.

Once a stakeholder's personal data is erased, the event store decodes every event of that
relationship with ``ERASED`` in place of the person's data and the free text recorded on the
relationship (crypto-shredding: the person's key is gone). ``redact`` applies the same rule to
an event the read models were given, so the projector can

* rewrite, when it projects ``Relationship.PersonalDataErased``, what the models hold about the
  person from their history read again and redacted (``ReadModel.erase``), and
* redact any later event of the person,

and the incremental state equals a rebuild from the store whether the store already decodes
the placeholders or not (``redact`` of a redacted event changes nothing).

Survey of the read models (which rows hold a person's data or their relationship's text):

* ``rm_timeline``: the summary of each of the person's events (title, interaction summary,
  commitment description, fulfilment note, reason) and its ``reason`` column;
  ``rm_timeline_labels``: the description of each of their commitments (named in the summary of
  its fulfilment). Both rewritten on erasure.
* ``rm_search``: each stakeholder's name and title (``search.py``); rewritten with the
  placeholders, matching nothing.
* portfolio, actions, health, sources: none. Summaries of other aggregates' events never read a
  stakeholder's name (actions and feedback name stakeholders by id only), health keeps roles,
  dispositions, dates and sentiment, sources keep ids and positions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from kam_domain import relationships
from kam_domain.personal import ERASED
from kam_domain.values import Envelope, PersonalData
from kam_projections.db import ViewDatabase
from kam_projections.events import Relationship
from kam_projections.tables import Event

#: The free-text fields of Relationship events that the store erases, by event name; each
#: becomes ``ERASED`` where it was set.
ERASED_TEXT: dict[str, tuple[str, ...]] = {
    "Identified": ("title",),
    "TitleCorrected": ("title",),
    "ContactDetailsCorrected": ("email", "phone"),
    "InteractionLogged": ("summary",),
    "CommitmentMade": ("description",),
    "CommitmentFulfilled": ("note",),
}


def _placeholder(value: Any) -> Any:
    return None if value is None else ERASED


def redacted_personal(personal: Any) -> Any:
    """The person's data as it reads once erased: the name and every field that was set."""
    if not isinstance(personal, PersonalData):
        return personal
    return PersonalData(
        name=ERASED,
        email=_placeholder(personal.email),
        phone=_placeholder(personal.phone),
        notes=_placeholder(personal.notes),
    )


def redact(event: Event) -> Event:
    """A Relationship event as it reads once the person's data is erased (others unchanged)."""
    if event.aggregate_type != "Relationship":
        return event
    data = dict(event.data)
    if "personal" in data:
        data["personal"] = redacted_personal(data["personal"])
    for key in ERASED_TEXT.get(event.event_type, ()):
        if key in data:
            data[key] = _placeholder(data[key])
    meta = data.get("meta")
    if isinstance(meta, Envelope) and meta.reason is not None:
        data["meta"] = dataclasses.replace(meta, reason=ERASED)
    if data == event.data:
        return event
    return Event(
        position=event.position,
        name=event.name,
        aggregate_id=event.aggregate_id,
        version=event.version,
        recorded_at=event.recorded_at,
        data=data,
        cls=event.cls,
    )


def shown(person: relationships.Relationship, text: str | None) -> str | None:
    """Free text of a person's relationship (title, commitment, note) as read paths show it:
    the placeholder once the person is erased, whatever state the aggregate was built from."""
    return ERASED if person.erased and text is not None else text


def erased_among(views: ViewDatabase, aggregate_ids: Iterable[UUID]) -> set[UUID]:
    """Those of these stakeholders the read models know to be erased."""
    ids = {f"a{i}": str(a) for i, a in enumerate(sorted(set(aggregate_ids), key=str))}
    if not ids:
        return set()
    rows = views.query(
        f"SELECT aggregate_id FROM rm_erased WHERE aggregate_id IN "
        f"({', '.join(':' + k for k in ids)})",
        ids,
    )
    return {UUID(r["aggregate_id"]) for r in rows}


def as_erased(views: ViewDatabase, events: list[Event]) -> list[Event]:
    """The events, those of erased stakeholders redacted (erased as the read models know, or
    by an erasure among the events)."""
    people = {e.aggregate_id for e in events if e.aggregate_type == "Relationship"}
    erased = erased_among(views, people)
    erased |= {e.aggregate_id for e in events if e.cls is Relationship.PersonalDataErased}
    return [redact(e) if e.aggregate_id in erased else e for e in events]
