"""The answer to a subject-access request: everything held about one person (a stakeholder)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from kam_domain.values import BuyingRole, Disposition


class PersonalFields(BaseModel):
    """The person's own data; "(erased)" in every field that was set, once erased."""

    name: str
    title: str | None
    email: str | None
    phone: str | None
    personal_notes: str | None


class ErasurePublic(BaseModel):
    """When and by whom the person's personal data was erased."""

    recorded_at: datetime = Field(description="When the erasure was recorded")
    occurred_at: datetime = Field(
        description="When it happened: its own date (an interaction's `on`, a departure's "
        "`left_on`), else `occurred_on`, else when recorded"
    )
    actor: str = Field(description="Who erased it")
    reason: str | None = Field(description='The reason given; "(erased)" like all free text')
    position: int | None = Field(description="Its position in the log, once the read models saw it")


class PersonEventPublic(BaseModel):
    """One event of the relationship with the person, with its free text."""

    version: int = Field(description="The event's version within the relationship")
    position: int | None = Field(description="Its position in the log, once the read models saw it")
    type: str = Field(description="The event class, e.g. InteractionLogged")
    recorded_at: datetime
    occurred_at: datetime
    actor: str
    reason: str | None
    summary: str | None = Field(description="The timeline's one-line summary, once projected")
    text: dict[str, str] = Field(
        description="The free text the event recorded about the person: title, interaction "
        "summary, commitment description, fulfilment note (placeholders once erased)"
    )
    data: dict[str, Any] = Field(description="Every attribute of the event, as the log holds it")


class ReferencePublic(BaseModel):
    """Where another record refers to the person."""

    kind: str = Field(
        description="action_stakeholder, feedback_respondent, successor_of, succeeded_by, "
        "reports_to or reported_to_by"
    )
    aggregate_type: str = Field(description="KeyAccount, AccountPlan or Relationship")
    aggregate_id: UUID
    entity_id: UUID | None = Field(description="The action or feedback response, if any")
    description: str = Field(description="What refers to them, in a few words")
    text: str | None = Field(
        None,
        description="Free text the record holds from or about them (a feedback comment); "
        "records of the account and its plans are not erased with the person",
    )


class ReadModelRowPublic(BaseModel):
    """A row of a read model about the person."""

    table: str
    row: dict[str, Any]


class PersonalDataReport(BaseModel):
    """Everything held about one stakeholder: their personal data, every event of the
    relationship with its free text, where other records name them, and the read-model rows
    about them. Once erased: ``erased`` true, the erasure, and placeholders."""

    stakeholder_id: UUID
    account_id: UUID
    erased: bool
    erasure: ErasurePublic | None
    personal: PersonalFields
    buying_role: BuyingRole
    influence: int
    disposition: Disposition
    relationship_owner: str | None
    left_on: date | None
    events: list[PersonEventPublic] = Field(
        description="Every event of the relationship, oldest first"
    )
    references: list[ReferencePublic]
    read_model_rows: list[ReadModelRowPublic] = Field(
        description="Rows of the read models (timeline, health, sources, ...) about the person"
    )
