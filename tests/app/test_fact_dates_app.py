"""Facts sent without a date are dated when they were recorded, through the store and back,
and a snapshot written before that rule (a date left None) is rebuilt from the events
(both backends)."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot

from kam_domain.application import KamApplication
from kam_domain.commands import AssessRelationship, AssignManager, RegisterAccount
from kam_domain.key_accounts import KeyAccount, ManagerTenure
from kam_domain.values import EngagementLevel, Envelope, ServiceProfile

ANN = Envelope(actor="ann")


def undated_account(app: KamApplication) -> UUID:
    """Given: an account registered, given its first manager and assessed, with no date."""
    account_id = app.handle(
        RegisterAccount(
            name="Acme", industry="Retail", region="EMEA", service_profile=ServiceProfile.STANDARD
        ),
        meta=ANN,
    ).id
    app.handle(AssignManager(account_id=account_id, manager="mia"), meta=ANN)
    app.handle(
        AssessRelationship(
            account_id=account_id,
            engagement=EngagementLevel.ENGAGED,
            trust=4,
            satisfaction=4,
            partner_rating=8,
            notes=None,
        ),
        meta=ANN,
    )
    return account_id


def recorded(app: KamApplication, account_id: UUID) -> dict[str, Any]:
    """Each event type's recorded time, as stored."""
    return {type(e).__name__: e.timestamp for e in app.events.get(account_id)}


def test_the_first_manager_and_the_assessment_are_dated_when_recorded(
    app: KamApplication,
) -> None:
    account_id = undated_account(app)

    account = app.get_account(account_id)

    stamp = recorded(app, account_id)
    assert account.manager_history[0].since == stamp["ManagerAssigned"].date()
    assert account.latest_assessment is not None
    assert account.latest_assessment.occurred_on == stamp["RelationshipAssessed"]
    assert account.registered_on == stamp["Registered"].date()


def test_a_snapshot_that_left_a_date_none_is_rebuilt_from_the_events(
    app: KamApplication,
) -> None:
    # Given a version 4 snapshot, as stored before facts were dated: no since, no assessment day
    account_id = undated_account(app)
    current = app.get_account(account_id)
    state = dict(Snapshot.take(current).state)
    state["class_version"] = 4
    state["manager_history"] = [ManagerTenure("mia", None, None)]  # type: ignore[arg-type]
    state["latest_assessment"] = dataclasses.replace(
        current.latest_assessment,
        occurred_on=None,  # type: ignore[arg-type]
    )
    app.snapshots.put(  # type: ignore[union-attr]
        [
            Snapshot(  # type: ignore[call-arg]
                originator_id=account_id,
                originator_version=current.version,
                timestamp=current.modified_on,
                topic=Snapshot.take(current).topic,
                state=state,
            )
        ]
    )

    # When the account is loaded (now, and as of now)
    loaded = app.get_account(account_id)
    as_of = app.get_as_of(KeyAccount, account_id, current.modified_on)

    # Then the dates are the events' recorded times, as a replay gives them
    stamp = recorded(app, account_id)
    for account in (loaded, as_of):
        assert account.manager_history[0].since == stamp["ManagerAssigned"].date()
        assert account.latest_assessment is not None
        assert account.latest_assessment.occurred_on == stamp["RelationshipAssessed"]
        assert account == current
