"""Decoding like the crypto-shredding store will, once a person's key is destroyed.

Every Relationship event of an erased person decodes with ``ERASED`` in place of their data:
``Identified.personal`` (name, and email, phone, notes where set), ``title`` (where set),
``InteractionLogged.summary``, ``CommitmentMade.description``, ``CommitmentFulfilled.note``
(where set) and ``meta.reason`` (where set). Snapshots of the person read the same way.

Written apart from the production code's own rule (``kam_projections.erasure``), so tests
compare the read models with what the store's decoding gives, not with themselves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot

from kam_domain.app_core import KamApplicationBase
from kam_domain.personal import ERASED
from kam_domain.values import Envelope, PersonalData

_TEXT = {
    "Identified": ("title",),
    "TitleCorrected": ("title",),
    "ContactDetailsCorrected": ("email", "phone"),
    "InteractionLogged": ("summary",),
    "CommitmentMade": ("description",),
    "CommitmentFulfilled": ("note",),
}


def _gone(value: Any) -> Any:
    return ERASED if value is not None else None


def _personal(value: Any) -> Any:
    if isinstance(value, PersonalData):
        return PersonalData(ERASED, _gone(value.email), _gone(value.phone), _gone(value.notes))
    return value


def _snapshot_state(state: dict[str, Any]) -> dict[str, Any]:
    state = dict(state)
    state["personal"] = _personal(state.get("personal"))
    state["title"] = _gone(state.get("title"))
    if state.get("last_interaction") is not None:
        state["last_interaction"] = dataclasses.replace(state["last_interaction"], summary=ERASED)
    state["commitments"] = {
        key: dataclasses.replace(c, description=ERASED, fulfilment_note=_gone(c.fulfilment_note))
        for key, c in (state.get("commitments") or {}).items()
    }
    return state


def redacted(domain_event: Any) -> Any:
    """A decoded Relationship event (or snapshot) as the store decodes it once erased."""
    if isinstance(domain_event, Snapshot):
        return dataclasses.replace(domain_event, state=_snapshot_state(domain_event.state))
    changes: dict[str, Any] = {}
    name = type(domain_event).__qualname__.rpartition(".")[2]
    if hasattr(domain_event, "personal"):
        changes["personal"] = _personal(domain_event.personal)
    for field in _TEXT.get(name, ()):
        changes[field] = _gone(getattr(domain_event, field))
    meta = getattr(domain_event, "meta", None)
    if isinstance(meta, Envelope):
        changes["meta"] = dataclasses.replace(meta, reason=_gone(meta.reason))
    return dataclasses.replace(domain_event, **changes)


def erased_people(app: KamApplicationBase) -> set[UUID]:
    """The stakeholders whose personal data the log says was erased."""
    topic = ":Relationship.PersonalDataErased"
    found: set[UUID] = set()
    position = 0
    while notifications := app.recorder.select_notifications(position + 1, limit=1000):
        found |= {n.originator_id for n in notifications if n.topic.endswith(topic)}  # type: ignore[misc]
        position = notifications[-1].id
    return found


@contextmanager
def shredded(app: KamApplicationBase) -> Iterator[set[UUID]]:
    """Within: ``app`` decodes the events and snapshots of every person erased in its log
    (looked up on entry) with the placeholders, as the crypto-shredding store will; they leave
    the aggregate cache on entry and exit."""
    people = erased_people(app)
    mapper = app.mapper
    original = mapper.to_domain_event

    def to_domain_event(stored: Any) -> Any:
        event = original(stored)
        if stored.originator_id in people and (
            stored.topic.rpartition(":")[2].startswith("Relationship.")
            or isinstance(event, Snapshot)
        ):
            return redacted(event)
        return event

    mapper.to_domain_event = to_domain_event  # type: ignore[method-assign]
    _evict(app, people)
    try:
        yield people
    finally:
        mapper.to_domain_event = original  # type: ignore[method-assign]
        _evict(app, people)


def _evict(app: KamApplicationBase, people: set[UUID]) -> None:
    for person in people:
        app._evict(person)


__all__ = ["erased_people", "redacted", "shredded"]
