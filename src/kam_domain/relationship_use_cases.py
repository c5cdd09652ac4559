"""Use cases of stakeholder relationships: roles, dispositions, interactions, commitments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

from kam_domain.app_core import CommandResult, KamApplicationBase
from kam_domain.errors import InvalidValueError
from kam_domain.relationships import Relationship
from kam_domain.values import BuyingRole, Disposition, Envelope, InteractionKind, PersonalData


class RelationshipUseCases(KamApplicationBase):
    """One method per stakeholder-relationship use case."""

    def identify_stakeholder(
        self,
        account_id: UUID,
        *,
        personal: PersonalData,
        title: str | None,
        buying_role: BuyingRole,
        influence: int,
        reports_to: UUID | None,
        meta: Envelope,
    ) -> CommandResult:
        """Identifies a person at the customer we have (or want) a relationship with."""
        self.ensure_live(account_id)
        if reports_to is not None and self.get_stakeholder(reports_to).account_id != account_id:
            raise InvalidValueError("reports_to", "is a stakeholder of another account")
        relationship = Relationship.identify(
            account_id=account_id,
            personal=personal,
            title=title,
            buying_role=buying_role,
            influence=influence,
            reports_to=reports_to,
            meta=meta,
        )
        return self._save(relationship)

    def get_stakeholder(self, stakeholder_id: UUID) -> Relationship:
        """The stakeholder relationship as stored now."""
        return self.get(Relationship, stakeholder_id)

    def change_relationship(
        self,
        stakeholder_id: UUID,
        command: Callable[[Relationship], UUID | None],
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Applies one relationship command and saves it."""
        return self.change(
            Relationship,
            stakeholder_id,
            expected_version,
            command,
            guard=lambda relationship: self.ensure_live(relationship.account_id),
        )

    def change_disposition(
        self,
        stakeholder_id: UUID,
        *,
        disposition: Disposition,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records that the stakeholder became a supporter, neutral or a detractor (with why)."""
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.change_disposition(disposition=disposition, meta=meta),
            expected_version=expected_version,
        )

    def change_role(
        self,
        stakeholder_id: UUID,
        *,
        buying_role: BuyingRole,
        influence: int,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Changes the stakeholder's buying role and influence."""
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.change_role(buying_role=buying_role, influence=influence, meta=meta),
            expected_version=expected_version,
        )

    def assign_relationship_owner(
        self,
        stakeholder_id: UUID,
        *,
        owner: str,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Names who on our side owns the relationship with this person."""
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.assign_owner(owner=owner, meta=meta),
            expected_version=expected_version,
        )

    def log_interaction(
        self,
        stakeholder_id: UUID,
        *,
        kind: InteractionKind,
        on: date,
        summary: str,
        sentiment: int,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Logs a meeting, call, email, QBR or event; ``entity_id`` is the interaction id."""
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.log_interaction(
                kind=kind, on=on, summary=summary, sentiment=sentiment, meta=meta
            ),
            expected_version=expected_version,
        )

    def make_commitment(
        self,
        stakeholder_id: UUID,
        *,
        description: str,
        due_on: date | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records a promise made to the stakeholder; ``entity_id`` is the commitment id."""
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.make_commitment(description=description, due_on=due_on, meta=meta),
            expected_version=expected_version,
        )

    def fulfil_commitment(
        self,
        stakeholder_id: UUID,
        *,
        commitment_id: UUID,
        note: str | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks a commitment to the stakeholder as fulfilled."""
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.fulfil_commitment(commitment_id=commitment_id, note=note, meta=meta),
            expected_version=expected_version,
        )

    def record_departure(
        self,
        stakeholder_id: UUID,
        *,
        left_on: date,
        successor_id: UUID | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records that the stakeholder left the customer, with their successor if known."""
        relationship = self.get_stakeholder(stakeholder_id)
        if successor_id is not None:
            successor = self.get_stakeholder(successor_id)
            if successor.account_id != relationship.account_id:
                raise InvalidValueError("successor_id", "is a stakeholder of another account")
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.record_departure(left_on=left_on, successor_id=successor_id, meta=meta),
            expected_version=expected_version,
        )

    def erase_personal_data(
        self, stakeholder_id: UUID, *, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Erases the stakeholder's personal data (right to erasure); history keeps its shape."""
        # Erasure is allowed even after the account exited: it is a legal duty, not account work.
        return self.change(
            Relationship,
            stakeholder_id,
            expected_version,
            lambda r: r.erase_personal_data(meta=meta),
        )
