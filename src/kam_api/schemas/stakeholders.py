"""Stakeholder-relationship commands and a relationship's current state.

The person's name, email, phone and personal notes are personal data: they become the
relationship's ``PersonalData`` and disappear from every answer once erased.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

from kam_api.schemas.common import Command
from kam_domain.values import BuyingRole, Disposition, InteractionKind

# No control characters (in free text, tabs and line breaks only): a NUL cannot be stored
# in the read models' PostgreSQL text columns, and would stop the projector.
LINE = r"^[^\x00-\x1f\x7f]*$"
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
EMAIL = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=LINE)]
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=TEXT)]
OptionalText = Annotated[str | None, Field(max_length=2000, pattern=TEXT)]
Influence = Annotated[StrictInt, Field(ge=1, le=5, description="1 (little) to 5 (decisive)")]
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    # Lax pydantic would read a number as a Unix time and accept a midnight datetime.
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("must be a date as YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_iso_day)]


class IdentifyStakeholder(Command):
    """Identifies a person at the customer; name, email, phone and personal notes are personal
    data (erasable), the rest describes the relationship."""

    name: Name
    email: Annotated[str | None, Field(max_length=320, pattern=EMAIL)] = None
    phone: Annotated[str | None, Field(max_length=50, pattern=LINE)] = None
    personal_notes: OptionalText = None
    title: Annotated[str | None, Field(max_length=200, pattern=LINE)] = None
    buying_role: BuyingRole
    influence: Influence
    reports_to: UUID | None = Field(None, description="A stakeholder of the same account")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Grace Hopper",
                    "email": "grace@acme.example",
                    "phone": "+44 20 7946 0000",
                    "personal_notes": "Prefers early meetings",
                    "title": "Chief Procurement Officer",
                    "buying_role": "economic_buyer",
                    "influence": 5,
                }
            ]
        }
    )


class ChangeDisposition(Command):
    """Records that the stakeholder became a supporter, neutral or a detractor (``reason``
    required)."""

    disposition: Disposition

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"disposition": "supporter", "reason": "Backed our renewal proposal"}]
        }
    )


class ChangeRole(Command):
    """Changes the stakeholder's buying role and influence."""

    buying_role: BuyingRole
    influence: Influence

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"buying_role": "decision_maker", "influence": 5}]}
    )


class AssignRelationshipOwner(Command):
    """Names who on our side owns the relationship with this person."""

    owner: Annotated[
        str, Field(min_length=1, max_length=200, pattern=LINE, description="A user name")
    ]

    model_config = ConfigDict(json_schema_extra={"examples": [{"owner": "mia"}]})


class LogInteraction(Command):
    """Logs a contact with the stakeholder: kind, day, summary and sentiment (-2..+2)."""

    kind: InteractionKind
    on: Day
    summary: Text
    sentiment: Annotated[StrictInt, Field(ge=-2, le=2, description="-2 (hostile) to +2 (warm)")]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "meeting",
                    "on": "2026-03-02",
                    "summary": "Walked through the renewal terms; asked for a pilot",
                    "sentiment": 1,
                }
            ]
        }
    )


class MakeCommitment(Command):
    """Records a promise made to the stakeholder, with its due date if any."""

    description: Text
    due_on: Day | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"description": "Send the pilot proposal", "due_on": "2026-03-16"}]
        }
    )


class FulfilCommitment(Command):
    """Marks a commitment to the stakeholder as kept."""

    note: OptionalText = None


class RecordDeparture(Command):
    """Records that the stakeholder left the customer, and their successor if known."""

    left_on: Day
    successor_id: UUID | None = Field(None, description="A stakeholder of the same account")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"left_on": "2026-06-30", "successor_id": None}]}
    )


class ErasePersonalData(Command):
    """Erases the stakeholder's personal data (``reason`` required); the history keeps its
    shape."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Erasure request of 2026-04-01"}]}
    )


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
