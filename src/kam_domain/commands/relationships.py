"""Commands on stakeholder relationships: roles, dispositions, interactions, commitments.

The person's name, email, phone and personal notes are personal data: they become the
relationship's ``PersonalData`` and disappear from every answer once erased.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StrictInt

from kam_domain.commands.accounts import NAME_RULE
from kam_domain.commands.base import AccountCommand, StakeholderCommand
from kam_domain.names import normal_name
from kam_domain.values import BuyingRole, Disposition, InteractionKind, PersonalData

# No control characters (in free text, tabs and line breaks only): a NUL cannot be stored
# in the read models' PostgreSQL text columns, and would stop the projector.
LINE = r"^[^\x00-\x1f\x7f]*$"
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
EMAIL = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"
Name = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=LINE, description=NAME_RULE),
    AfterValidator(normal_name),
]
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


class CommitmentCommand(StakeholderCommand):
    """A command on one commitment made to a stakeholder."""

    path: ClassVar[tuple[str, ...]] = ("stakeholder_id", "commitment_id")
    commitment_id: UUID


class IdentifyStakeholder(AccountCommand):
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

    @classmethod
    def of(
        cls, account_id: UUID, personal: PersonalData, **relationship: Any
    ) -> IdentifyStakeholder:
        """The command that identifies this person (``relationship``: the other fields)."""
        return cls(
            account_id=account_id,
            name=personal.name,
            email=personal.email,
            phone=personal.phone,
            personal_notes=personal.notes,
            **relationship,
        )

    @property
    def personal(self) -> PersonalData:
        """The person's personal data (what erasure removes)."""
        return PersonalData(
            name=self.name, email=self.email, phone=self.phone, notes=self.personal_notes
        )


class ChangeDisposition(StakeholderCommand):
    """Records that the stakeholder became a supporter, neutral or a detractor (``reason``
    required)."""

    disposition: Disposition

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"disposition": "supporter", "reason": "Backed our renewal proposal"}]
        }
    )


class ChangeRole(StakeholderCommand):
    """Changes the stakeholder's buying role and influence."""

    buying_role: BuyingRole
    influence: Influence

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"buying_role": "decision_maker", "influence": 5}]}
    )


class AssignRelationshipOwner(StakeholderCommand):
    """Names who on our side owns the relationship with this person."""

    owner: Annotated[
        str,
        Field(
            min_length=1, max_length=200, pattern=LINE, description="An active user of the service"
        ),
        AfterValidator(normal_name),
    ]

    model_config = ConfigDict(json_schema_extra={"examples": [{"owner": "mia"}]})


class CorrectTitle(StakeholderCommand):
    """Corrects the stakeholder's title (``null`` or "": none); personal data, erasable;
    ``reason`` required."""

    title: Annotated[str | None, Field(max_length=200, pattern=LINE)]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"title": "Chief Financial Officer", "reason": "Misspelt at first"}]
        }
    )


class CorrectContactDetails(StakeholderCommand):
    """Corrects the stakeholder's email and phone, both replaced (``null`` or "": none);
    personal data, erasable; ``reason`` required."""

    email: Annotated[str | None, Field(max_length=320, pattern=EMAIL)] = None
    phone: Annotated[str | None, Field(max_length=50, pattern=LINE)] = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "grace.hopper@acme.example",
                    "phone": "+44 20 7946 0001",
                    "reason": "New address after the merger",
                }
            ]
        }
    )


class CorrectReportsTo(StakeholderCommand):
    """Corrects whom the stakeholder reports to (``null``: nobody known); ``reason``
    required."""

    reports_to: UUID | None = Field(
        description="A stakeholder of the same account, not one who (in)directly reports to "
        "this one"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reports_to": "6f1c1d1e-3b7a-4c1e-9a57-2d1f0c9e8b11",
                    "reason": "Reorganisation of the finance team",
                }
            ]
        }
    )


class LogInteraction(StakeholderCommand):
    """Logs a contact with the stakeholder: kind, day, summary and sentiment (-2..+2)."""

    kind: InteractionKind
    on: Annotated[
        Day,
        Field(
            description="The day of the contact: not before 1990-01-01, not after today plus "
            "KAM_FUTURE_TOLERANCE_DAYS (default 1)"
        ),
    ]
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


class MakeCommitment(StakeholderCommand):
    """Records a promise made to the stakeholder, with its due date if any."""

    description: Text
    due_on: Annotated[
        Day | None,
        Field(description="Not before 1990-01-01, at most 10 years after today"),
    ] = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"description": "Send the pilot proposal", "due_on": "2026-03-16"}]
        }
    )


class FulfilCommitment(CommitmentCommand):
    """Marks a commitment to the stakeholder as kept."""

    note: OptionalText = None


class RecordDeparture(StakeholderCommand):
    """Records that the stakeholder left the customer, and their successor if known."""

    left_on: Annotated[
        Day,
        Field(
            description="The day they left (or will leave): not before 1990-01-01, at most "
            "10 years after today"
        ),
    ]
    successor_id: UUID | None = Field(None, description="A stakeholder of the same account")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"left_on": "2026-06-30", "successor_id": None}]}
    )


class ErasePersonalData(StakeholderCommand):
    """Erases the stakeholder's personal data (``reason`` required); the history keeps its
    shape."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Erasure request of 2026-04-01"}]}
    )
