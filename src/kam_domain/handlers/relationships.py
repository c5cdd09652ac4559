"""Handlers of stakeholder-relationship commands: roles, dispositions, interactions,
commitments, departure and erasure. Every relationship command except erasure is refused once
the account has exited; erasure is a legal duty, not account work."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from kam_domain import commands as cmd
from kam_domain.commands.base import CommandResult
from kam_domain.errors import InvalidValueError
from kam_domain.handlers.table import handles, on_stakeholder
from kam_domain.relationships import Relationship
from kam_domain.values import Envelope

if TYPE_CHECKING:
    from kam_domain.app_core import KamApplicationBase


@handles(cmd.IdentifyStakeholder)
def identify_stakeholder(
    app: KamApplicationBase, command: cmd.IdentifyStakeholder, meta: Envelope, expected: int | None
) -> CommandResult:
    """Identifies a person at the customer we have (or want) a relationship with."""
    app.ensure_live(command.account_id)
    if (
        command.reports_to is not None
        and app.get(Relationship, command.reports_to).account_id != command.account_id
    ):
        raise InvalidValueError("reports_to", "is a stakeholder of another account")
    relationship = Relationship.identify_stakeholder(
        account_id=command.account_id,
        personal=command.personal,
        title=command.title,
        buying_role=command.buying_role,
        influence=command.influence,
        reports_to=command.reports_to,
        meta=meta,
    )
    return app.commit(relationship)


@on_stakeholder(cmd.ChangeDisposition)
def change_disposition(
    relationship: Relationship, command: cmd.ChangeDisposition, meta: Envelope
) -> None:
    relationship.change_disposition(disposition=command.disposition, meta=meta)


@on_stakeholder(cmd.ChangeRole)
def change_role(relationship: Relationship, command: cmd.ChangeRole, meta: Envelope) -> None:
    relationship.change_role(
        buying_role=command.buying_role, influence=command.influence, meta=meta
    )


@on_stakeholder(cmd.AssignRelationshipOwner)
def assign_relationship_owner(
    relationship: Relationship, command: cmd.AssignRelationshipOwner, meta: Envelope
) -> None:
    relationship.assign_relationship_owner(owner=command.owner, meta=meta)


@on_stakeholder(cmd.CorrectTitle)
def correct_title(relationship: Relationship, command: cmd.CorrectTitle, meta: Envelope) -> None:
    relationship.correct_title(title=command.title, meta=meta)


@on_stakeholder(cmd.CorrectContactDetails)
def correct_contact_details(
    relationship: Relationship, command: cmd.CorrectContactDetails, meta: Envelope
) -> None:
    relationship.correct_contact_details(email=command.email, phone=command.phone, meta=meta)


#: How far up a reporting line the cycle check walks (a line longer than this is refused).
REPORTING_LINE_MAX = 100


def _manager_of_the_same_account_and_no_cycle(
    app: KamApplicationBase, command: cmd.CorrectReportsTo
) -> None:
    if command.reports_to is None:
        return
    relationship = app.get(Relationship, command.stakeholder_id)
    manager = app.get(Relationship, command.reports_to)
    if manager.account_id != relationship.account_id:
        raise InvalidValueError("reports_to", "is a stakeholder of another account")
    for _ in range(REPORTING_LINE_MAX):
        if manager.reports_to is None:
            return
        if manager.reports_to == relationship.id:
            raise InvalidValueError(
                "reports_to", "reports (directly or not) to this stakeholder: a cycle"
            )
        manager = app.get(Relationship, manager.reports_to)
    raise InvalidValueError("reports_to", f"a reporting line longer than {REPORTING_LINE_MAX}")


@on_stakeholder(cmd.CorrectReportsTo, check=_manager_of_the_same_account_and_no_cycle)
def correct_reports_to(
    relationship: Relationship, command: cmd.CorrectReportsTo, meta: Envelope
) -> None:
    relationship.correct_reports_to(reports_to=command.reports_to, meta=meta)


@on_stakeholder(cmd.LogInteraction)
def log_interaction(
    relationship: Relationship, command: cmd.LogInteraction, meta: Envelope
) -> UUID:
    """``entity_id`` is the new interaction's id."""
    return relationship.log_interaction(
        kind=command.kind,
        on=command.on,
        summary=command.summary,
        sentiment=command.sentiment,
        meta=meta,
    )


@on_stakeholder(cmd.MakeCommitment)
def make_commitment(
    relationship: Relationship, command: cmd.MakeCommitment, meta: Envelope
) -> UUID:
    """``entity_id`` is the new commitment's id."""
    return relationship.make_commitment(
        description=command.description, due_on=command.due_on, meta=meta
    )


@on_stakeholder(cmd.FulfilCommitment)
def fulfil_commitment(
    relationship: Relationship, command: cmd.FulfilCommitment, meta: Envelope
) -> None:
    relationship.fulfil_commitment(
        commitment_id=command.commitment_id, note=command.note, meta=meta
    )


def _successor_of_the_same_account(app: KamApplicationBase, command: cmd.RecordDeparture) -> None:
    relationship = app.get(Relationship, command.stakeholder_id)
    if command.successor_id is not None:
        successor = app.get(Relationship, command.successor_id)
        if successor.account_id != relationship.account_id:
            raise InvalidValueError("successor_id", "is a stakeholder of another account")


@on_stakeholder(cmd.RecordDeparture, check=_successor_of_the_same_account)
def record_departure(
    relationship: Relationship, command: cmd.RecordDeparture, meta: Envelope
) -> None:
    relationship.record_departure(
        left_on=command.left_on, successor_id=command.successor_id, meta=meta
    )


@on_stakeholder(cmd.ErasePersonalData, while_account_live=False)
def erase_personal_data(
    relationship: Relationship, command: cmd.ErasePersonalData, meta: Envelope
) -> None:
    relationship.erase_personal_data(meta=meta)
