"""The global event log as integrations see it: what ``GET /events`` answers and what webhooks
deliver, in one shape (``EventPublic``), erased people's data redacted."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import Notification

from kam_api.schemas.audit import EventPublic, event_data
from kam_domain.application import KamApplication
from kam_projections.db import ViewDatabase
from kam_projections.erasure import as_erased
from kam_projections.owners import owners_of
from kam_projections.projector import decode
from kam_projections.tables import Event


def _owners(views: ViewDatabase, events: Sequence[Event]) -> dict[UUID, UUID]:
    """The account of each plan and stakeholder among the events (rm_owners, or the event
    that created it when the read models have not caught up with it yet)."""
    owners: dict[UUID, UUID] = {}
    wanted: set[UUID] = set()
    for event in events:
        if event.aggregate_type not in ("AccountPlan", "Relationship"):
            continue
        if event.version == 1 and isinstance(event.data.get("account_id"), UUID):
            owners[event.aggregate_id] = event.data["account_id"]
        else:
            wanted.add(event.aggregate_id)
    owners.update(owners_of(views, wanted - owners.keys()))
    return owners


def _account_of(event: Event, owners: dict[UUID, UUID]) -> UUID | None:
    if event.aggregate_type == "KeyAccount":
        return event.aggregate_id
    return owners.get(event.aggregate_id)


def public_events(
    kam: KamApplication, views: ViewDatabase, notifications: Sequence[Notification]
) -> list[EventPublic]:
    """Stored events as the public log shows them: decoded by the store (an erased person's
    data reads as placeholders) and redacted again for anyone the read models know erased."""
    kam.store_features.prepare(list(notifications))
    events = as_erased(views, [decode(kam, n) for n in notifications])
    owners = _owners(views, events)
    return [
        EventPublic(
            position=e.position,
            aggregate_type=e.aggregate_type,
            aggregate_id=e.aggregate_id,
            aggregate_version=e.version,
            account_id=_account_of(e, owners),
            type=e.event_type,
            actor=e.actor,
            recorded_at=e.recorded_at,
            occurred_at=e.occurred_at,
            reason=e.meta.reason if e.meta else None,
            correlation_id=e.meta.correlation_id if e.meta else None,
            data=event_data(e.data),
        )
        for e in events
    ]


def events_after(
    kam: KamApplication, views: ViewDatabase, after: int, limit: int
) -> list[EventPublic]:
    """Up to ``limit`` events of the log after position ``after``, in order."""
    return public_events(kam, views, kam.recorder.select_notifications(after + 1, limit))
