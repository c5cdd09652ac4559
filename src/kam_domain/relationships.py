"""Relationship: our relationship with one person at the customer (a stakeholder).

The person's name, contact details and personal notes live only in ``PersonalData``
(the ``personal`` field of ``Identified`` and the ``personal`` attribute). Those, the title and
the free text recorded on the relationship are the person's data (``kam_domain.personal`` draws
the boundary): the store encrypts them with a key of that person and erasure destroys the key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import event

from kam_domain.base import KamAggregate, require_name, require_range, require_text
from kam_domain.errors import (
    CommitmentAlreadyFulfilledError,
    CommitmentNotFoundError,
    CorrectionUnchangedError,
    DispositionUnchangedError,
    InvalidValueError,
    OwnerAlreadyAssignedError,
    PersonalDataErasedError,
    RoleUnchangedError,
    StakeholderLeftError,
)
from kam_domain.personal import ERASED, redact_commitment, redact_interaction
from kam_domain.values import (
    BuyingRole,
    Disposition,
    Envelope,
    InteractionKind,
    PersonalData,
    transcodable,
)

NAME_MAX = 200
TITLE_MAX = 200
EMAIL_MAX = 320
PHONE_MAX = 50
OWNER_MAX = 200
TEXT_MAX = 2000


@transcodable
@dataclass(frozen=True)
class Interaction:
    """One contact with the stakeholder: a meeting, call, email, QBR, event or other."""

    interaction_id: UUID
    kind: InteractionKind
    on: date
    summary: str
    sentiment: int


@transcodable
@dataclass(frozen=True)
class StakeholderCommitment:
    """A promise we made to the stakeholder, and whether we kept it."""

    commitment_id: UUID
    description: str
    due_on: date | None
    fulfilled: bool = False
    fulfilment_note: str | None = None


def _optional_text(field: str, value: str | None, max_length: int) -> str | None:
    # Forms send "" for "not given"; store that as None rather than refusing it.
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return require_text(field, value, max_length=max_length)


def _require_date(field: str, value: object) -> date:
    # A datetime is a date subclass, but would change the stored type and compare oddly.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidValueError(field, "must be a date")
    return value


def _require_uuid(field: str, value: object) -> UUID:
    if not isinstance(value, UUID):
        raise InvalidValueError(field, "must be a UUID")
    return value


def _checked_personal(personal: object) -> PersonalData:
    if not isinstance(personal, PersonalData):
        raise InvalidValueError("personal", "must be PersonalData")
    return PersonalData(
        name=require_name("name", personal.name, max_length=NAME_MAX),
        email=_optional_text("email", personal.email, EMAIL_MAX),
        phone=_optional_text("phone", personal.phone, PHONE_MAX),
        notes=_optional_text("notes", personal.notes, TEXT_MAX),
    )


def _checked_role(buying_role: object, influence: object) -> tuple[BuyingRole, int]:
    if not isinstance(buying_role, BuyingRole):
        raise InvalidValueError("buying_role", "must be a BuyingRole")
    return buying_role, require_range("influence", influence, 1, 5)


class Relationship(KamAggregate):
    """Our relationship with one stakeholder at a key account.

    The state keeps the latest interaction and a count, not every interaction: the history
    lives in the event log and the read models.
    """

    #: Version 2 keeps the latest interaction and a count, not the ``interactions`` list.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Turns a version 1 snapshot's ``interactions`` list into the latest interaction
        (greatest ``on``; on a tie the one logged later) and a count."""
        interactions = state.pop("interactions", [])
        latest = None
        for interaction in interactions:
            if latest is None or interaction.on >= latest.on:
                latest = interaction
        state["last_interaction"] = latest
        state["interaction_count"] = len(interactions)

    # --- Creation ----------------------------------------------------------------------

    @classmethod
    def identify_stakeholder(
        cls,
        *,
        account_id: UUID,
        personal: PersonalData,
        title: str | None,
        buying_role: BuyingRole,
        influence: int,
        reports_to: UUID | None,
        meta: Envelope,
    ) -> Relationship:
        """Identifies a stakeholder at the account; the disposition starts neutral."""
        account_id = _require_uuid("account_id", account_id)
        personal = _checked_personal(personal)
        title = _optional_text("title", title, TITLE_MAX)
        buying_role, influence = _checked_role(buying_role, influence)
        if reports_to is not None:
            reports_to = _require_uuid("reports_to", reports_to)
        return cls(
            account_id=account_id,
            personal=personal,
            title=title,
            buying_role=buying_role,
            influence=influence,
            reports_to=reports_to,
            meta=meta,
        )

    @event("Identified")
    def __init__(
        self,
        *,
        account_id: UUID,
        personal: PersonalData,
        title: str | None,
        buying_role: BuyingRole,
        influence: int,
        reports_to: UUID | None,
        meta: Envelope,
    ) -> None:
        self.account_id = account_id
        self.personal: PersonalData | None = personal
        self.title = title
        self.buying_role = buying_role
        self.influence = influence
        self.reports_to = reports_to
        self.disposition = Disposition.NEUTRAL
        self.owner: str | None = None
        self.last_interaction: Interaction | None = None
        self.last_interaction_on: date | None = None
        self.interaction_count = 0
        self.commitments: dict[str, StakeholderCommitment] = {}
        self.left_on: date | None = None
        self.successor_id: UUID | None = None
        self.erased = False

    # --- Read-only views ---------------------------------------------------------------

    @property
    def has_left(self) -> bool:
        """Whether the stakeholder has left the company."""
        return self.left_on is not None

    @property
    def display_name(self) -> str:
        """The stakeholder's name, or "(erased)" once the personal data is erased."""
        return ERASED if self.personal is None else self.personal.name

    def is_engaged(self, today: date, within_days: int = 90) -> bool:
        """Whether the latest interaction with the (still present) stakeholder falls within
        the ``within_days`` days up to and including ``today``.

        Only the latest interaction is known here: one dated after ``today`` means not
        engaged, even if an earlier interaction falls within the window.
        """
        if self.has_left or self.last_interaction_on is None:
            return False
        since = today - timedelta(days=within_days)
        return since <= self.last_interaction_on <= today

    def open_commitments(self) -> list[StakeholderCommitment]:
        """Commitments not yet fulfilled, in the order they were made."""
        return [c for c in self.commitments.values() if not c.fulfilled]

    def _require_present(self, what: str) -> None:
        if self.has_left:
            raise StakeholderLeftError(f"cannot {what}: the stakeholder has left the company")

    # --- Disposition, role, owner ------------------------------------------------------

    def change_disposition(self, *, disposition: Disposition, meta: Envelope) -> None:
        """Records that the stakeholder now supports us, is neutral, or works against us."""
        self._require_present("change the disposition")
        if not isinstance(disposition, Disposition):
            raise InvalidValueError("disposition", "must be a Disposition")
        if disposition is self.disposition:
            raise DispositionUnchangedError(f"the stakeholder is already {disposition.value}")
        self.require_reason(meta, "a change of disposition")
        self._disposition_changed(previous=self.disposition, disposition=disposition, meta=meta)

    @event("DispositionChanged")
    def _disposition_changed(
        self, *, previous: Disposition, disposition: Disposition, meta: Envelope
    ) -> None:
        self.disposition = disposition

    def change_role(self, *, buying_role: BuyingRole, influence: int, meta: Envelope) -> None:
        """Records a new buying role and/or influence (1-5) for the stakeholder."""
        self._require_present("change the role")
        buying_role, influence = _checked_role(buying_role, influence)
        if buying_role is self.buying_role and influence == self.influence:
            raise RoleUnchangedError("the buying role and influence are unchanged")
        self._role_changed(
            previous_role=self.buying_role,
            buying_role=buying_role,
            previous_influence=self.influence,
            influence=influence,
            meta=meta,
        )

    @event("RoleChanged")
    def _role_changed(
        self,
        *,
        previous_role: BuyingRole,
        buying_role: BuyingRole,
        previous_influence: int,
        influence: int,
        meta: Envelope,
    ) -> None:
        self.buying_role = buying_role
        self.influence = influence

    def assign_relationship_owner(self, *, owner: str, meta: Envelope) -> None:
        """Makes someone on our side responsible for this relationship."""
        owner = require_name("owner", owner, max_length=OWNER_MAX)
        if owner == self.owner:
            raise OwnerAlreadyAssignedError(f"{owner} already owns this relationship")
        self._owner_assigned(previous_owner=self.owner, owner=owner, meta=meta)

    @event("OwnerAssigned")
    def _owner_assigned(self, *, previous_owner: str | None, owner: str, meta: Envelope) -> None:
        self.owner = owner

    # --- Corrections (each needs a reason) --------------------------------------------

    def _require_not_erased(self, what: str) -> None:
        if self.erased:
            raise PersonalDataErasedError(f"cannot {what}: the personal data is erased")

    def correct_title(self, *, title: str | None, meta: Envelope) -> None:
        """Corrects the stakeholder's title (None or "": no title); needs a reason."""
        self._require_not_erased("correct the title")
        title = _optional_text("title", title, TITLE_MAX)
        if title == self.title:
            raise CorrectionUnchangedError("the title is already so")
        self.require_reason(meta, "a correction of the title")
        self._title_corrected(title=title, meta=meta)

    @event("TitleCorrected")
    def _title_corrected(self, *, title: str | None, meta: Envelope) -> None:
        self.title = title

    def correct_contact_details(
        self, *, email: str | None, phone: str | None, meta: Envelope
    ) -> None:
        """Corrects the stakeholder's email and phone (both replaced; None or "": none); needs
        a reason."""
        self._require_not_erased("correct the contact details")
        email = _optional_text("email", email, EMAIL_MAX)
        phone = _optional_text("phone", phone, PHONE_MAX)
        personal = self.personal
        if personal is not None and (email, phone) == (personal.email, personal.phone):
            raise CorrectionUnchangedError("the email and phone are already so")
        self.require_reason(meta, "a correction of the contact details")
        self._contact_details_corrected(email=email, phone=phone, meta=meta)

    @event("ContactDetailsCorrected")
    def _contact_details_corrected(
        self, *, email: str | None, phone: str | None, meta: Envelope
    ) -> None:
        if self.personal is not None:
            self.personal = dataclasses.replace(self.personal, email=email, phone=phone)

    def correct_reports_to(self, *, reports_to: UUID | None, meta: Envelope) -> None:
        """Corrects whom the stakeholder reports to (None: nobody known); needs a reason.

        That the manager is a stakeholder of the same account, and that no reporting cycle
        results, is checked by the handler (it reads other relationships)."""
        if reports_to is not None:
            reports_to = _require_uuid("reports_to", reports_to)
            if reports_to == self.id:
                raise InvalidValueError("reports_to", "a stakeholder cannot report to themselves")
        if reports_to == self.reports_to:
            raise CorrectionUnchangedError("the stakeholder already reports there")
        self.require_reason(meta, "a correction of the reporting line")
        self._reports_to_corrected(previous=self.reports_to, reports_to=reports_to, meta=meta)

    @event("ReportsToCorrected")
    def _reports_to_corrected(
        self, *, previous: UUID | None, reports_to: UUID | None, meta: Envelope
    ) -> None:
        self.reports_to = reports_to

    # --- Interactions and commitments --------------------------------------------------

    def log_interaction(
        self,
        *,
        kind: InteractionKind,
        on: date,
        summary: str,
        sentiment: int,
        meta: Envelope,
    ) -> UUID:
        """Logs a contact with the stakeholder (sentiment -2..+2); returns its id.

        The state keeps only the latest interaction (by date) and how many were logged.
        """
        self._require_present("log an interaction")
        if not isinstance(kind, InteractionKind):
            raise InvalidValueError("kind", "must be an InteractionKind")
        on = _require_date("on", on)
        summary = require_text("summary", summary, max_length=TEXT_MAX)
        sentiment = require_range("sentiment", sentiment, -2, 2)
        interaction_id = uuid4()
        self._interaction_logged(
            interaction_id=interaction_id,
            kind=kind,
            on=on,
            summary=summary,
            sentiment=sentiment,
            meta=meta,
        )
        return interaction_id

    @event("InteractionLogged")
    def _interaction_logged(
        self,
        *,
        interaction_id: UUID,
        kind: InteractionKind,
        on: date,
        summary: str,
        sentiment: int,
        meta: Envelope,
    ) -> None:
        # Meetings are often logged late and out of order, so keep the latest date, not the
        # last logged; on a tie the one logged later wins.
        if self.last_interaction_on is None or on >= self.last_interaction_on:
            self.last_interaction = Interaction(interaction_id, kind, on, summary, sentiment)
            self.last_interaction_on = on
        self.interaction_count += 1

    def make_commitment(self, *, description: str, due_on: date | None, meta: Envelope) -> UUID:
        """Records a promise made to the stakeholder; returns its id."""
        self._require_present("make a commitment")
        description = require_text("description", description, max_length=TEXT_MAX)
        if due_on is not None:
            due_on = _require_date("due_on", due_on)
        commitment_id = uuid4()
        self._commitment_made(
            commitment_id=commitment_id, description=description, due_on=due_on, meta=meta
        )
        return commitment_id

    @event("CommitmentMade")
    def _commitment_made(
        self, *, commitment_id: UUID, description: str, due_on: date | None, meta: Envelope
    ) -> None:
        self.commitments[str(commitment_id)] = StakeholderCommitment(
            commitment_id, description, due_on
        )

    def fulfil_commitment(self, *, commitment_id: UUID, note: str | None, meta: Envelope) -> None:
        """Records that we kept a promise (allowed after the stakeholder has left)."""
        commitment = self.commitments.get(str(commitment_id))
        if commitment is None:
            raise CommitmentNotFoundError(f"no commitment {commitment_id}")
        if commitment.fulfilled:
            raise CommitmentAlreadyFulfilledError(f"commitment {commitment_id} is fulfilled")
        note = _optional_text("note", note, TEXT_MAX)
        self._commitment_fulfilled(commitment_id=commitment.commitment_id, note=note, meta=meta)

    @event("CommitmentFulfilled")
    def _commitment_fulfilled(
        self, *, commitment_id: UUID, note: str | None, meta: Envelope
    ) -> None:
        key = str(commitment_id)
        self.commitments[key] = dataclasses.replace(
            self.commitments[key], fulfilled=True, fulfilment_note=note
        )

    # --- Departure and erasure ---------------------------------------------------------

    def record_departure(self, *, left_on: date, successor_id: UUID | None, meta: Envelope) -> None:
        """Records that the stakeholder left the company, and who took over if known."""
        self._require_present("record a departure")
        left_on = _require_date("left_on", left_on)
        if successor_id is not None:
            successor_id = _require_uuid("successor_id", successor_id)
            if successor_id == self.id:
                raise InvalidValueError("successor_id", "a stakeholder cannot succeed themselves")
        self._left_company(left_on=left_on, successor_id=successor_id, meta=meta)

    @event("LeftCompany")
    def _left_company(self, *, left_on: date, successor_id: UUID | None, meta: Envelope) -> None:
        self.left_on = left_on
        self.successor_id = successor_id

    def erase_personal_data(self, *, meta: Envelope) -> None:
        """Erases the stakeholder's personal data (right to erasure); needs a reason.

        The relationship keeps its shape: role, latest interaction and commitments remain,
        their free text replaced by the ``ERASED`` placeholder. The stored events of this
        person become unreadable at the same time: storing this event destroys the person's
        key (crypto-shredding, see ``kam_store.crypto``).
        """
        if self.erased:
            raise PersonalDataErasedError("the personal data is already erased")
        self.require_reason(meta, "erasing personal data")
        self._personal_data_erased(meta=meta)

    @event("PersonalDataErased")
    def _personal_data_erased(self, *, meta: Envelope) -> None:
        self.personal = None
        self.title = None
        # What a reload after the erasure shows: the text of earlier events is unreadable.
        self.last_interaction = redact_interaction(self.last_interaction)
        self.commitments = {k: redact_commitment(c) for k, c in self.commitments.items()}
        self.erased = True
