"""A stakeholder relationship's current state, as the API answers it (the commands are in
``kam_domain.commands``; their request bodies are derived in ``schemas.commands``).

The person's name, email, phone and personal notes are personal data: they disappear from
every answer once erased.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kam_domain.values import BuyingRole, Disposition, InteractionKind

# --- State ------------------------------------------------------------------------------


class _State(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class InteractionPublic(_State):
    interaction_id: UUID
    kind: InteractionKind
    on: date
    summary: str
    sentiment: int


class CommitmentPublic(_State):
    commitment_id: UUID
    description: str
    due_on: date | None
    fulfilled: bool
    fulfilment_note: str | None


class StakeholderPublic(_State):
    """A stakeholder relationship as it stands now (``ETag`` header: its version)."""

    id: UUID
    version: int
    account_id: UUID
    name: str = Field(description='The person\'s name, or "(erased)" after erasure')
    email: str | None
    phone: str | None
    personal_notes: str | None
    title: str | None
    buying_role: BuyingRole
    influence: int
    reports_to: UUID | None
    disposition: Disposition
    owner: str | None
    last_interaction: InteractionPublic | None = Field(
        description="The latest interaction by date (the full list is in the history)"
    )
    last_interaction_on: date | None
    interaction_count: int
    commitments: list[CommitmentPublic]
    open_commitments: int
    left_on: date | None
    successor_id: UUID | None
    erased: bool
    created_on: datetime
    modified_on: datetime
