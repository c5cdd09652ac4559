"""Commands on key accounts: registration, classification, ownership, team, health inputs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field

from kam_domain.commands.base import AccountCommand, Command, currency_enum
from kam_domain.names import normal_name
from kam_domain.values import (
    AccountKind,
    EngagementLevel,
    FocusWeights,
    KamRole,
    ReevaluationDecision,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)

#: How names read in the schema (``kam_domain.names``).
NAME_RULE = "Kept in Unicode NFC form; bidirectional controls and zero-width characters are refused"
Name = Annotated[
    str, Field(min_length=1, max_length=200, description=NAME_RULE), AfterValidator(normal_name)
]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Notes = Annotated[str | None, Field(max_length=2000)]
Person = Annotated[
    str,
    Field(min_length=1, max_length=64, description="An active user of the service"),
    AfterValidator(normal_name),
]
#: An account's manager: an active user whose role may manage accounts (``kam_domain.people``).
Manager = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="An active user of the service whose role may manage accounts (manager, "
        "director, admin)",
    ),
    AfterValidator(normal_name),
]
Score5 = Annotated[int, Field(ge=1, le=5)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]


class RegisterAccount(Command):
    """Registers a key account; its name must be unique (case-insensitively)."""

    name: Name
    industry: Name
    region: Name
    service_profile: ServiceProfile = ServiceProfile.STANDARD

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Acme Industrial",
                    "industry": "Manufacturing",
                    "region": "EMEA",
                    "service_profile": "premium",
                }
            ]
        }
    )


class ClassifyAccount(AccountCommand):
    """Sets tier and kind; beyond the tier's cap a ``reason`` (the override) is required."""

    tier: Tier
    kind: AccountKind
    rationale: Text

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tier": "strategic",
                    "kind": "existing",
                    "rationale": "Largest customer, renewal due",
                }
            ]
        }
    )


class ScoreCriteria(AccountCommand):
    """Scores the eight selection criteria 1 (poor) to 5 (excellent)."""

    current_revenue: Score5
    growth_potential: Score5
    renewal_likelihood: Score5
    win_now_grow_later: Score5
    relative_effort: Score5
    relationship_strength: Score5
    fit: Score5
    logo_attractiveness: Score5

    @classmethod
    def of(cls, account_id: UUID, criteria: SelectionCriteria) -> ScoreCriteria:
        """The command that scores these criteria."""
        return cls(account_id=account_id, **vars(criteria))

    @property
    def criteria(self) -> SelectionCriteria:
        return SelectionCriteria(
            self.current_revenue,
            self.growth_potential,
            self.renewal_likelihood,
            self.win_now_grow_later,
            self.relative_effort,
            self.relationship_strength,
            self.fit,
            self.logo_attractiveness,
        )


class AssignManager(AccountCommand):
    """Assigns the key account manager; replacing one needs a ``reason``."""

    manager: Manager


class HandOver(AccountCommand):
    """Hands the account to a new manager (``reason`` required); the outgoing manager leaves
    the team unless ``keep_on_team``."""

    to: Manager
    effective_on: Annotated[
        date,
        Field(
            description="The day the new manager takes over: not before the account's "
            "registration day (when it was given) nor 1990-01-01, at most 10 years after "
            "today"
        ),
    ]
    keep_on_team: Annotated[
        bool,
        Field(
            description="Keep the outgoing manager on the account team (with their roles); "
            "by default they leave it"
        ),
    ] = False

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"to": "eve", "effective_on": "2027-01-01", "reason": "Ann moves to the EMEA team"}
            ]
        }
    )


class AcknowledgeHandover(AccountCommand):
    """The incoming manager acknowledges the handover."""

    notes: Notes = None


class CancelHandover(AccountCommand):
    """Cancels the handover waiting to be acknowledged (``reason`` required): the outgoing
    manager manages the account again."""


class AddTeamMember(AccountCommand):
    """Adds a person to the account team with one or more of the six KAM roles."""

    member: Person
    roles: Annotated[list[KamRole], Field(min_length=1, max_length=6)]


class RemoveTeamMember(AccountCommand):
    """Removes a person from the account team."""

    path: ClassVar[tuple[str, ...]] = ("account_id", "member")
    member: Person


class ChangeTeamRoles(AccountCommand):
    """Changes a team member's KAM roles in place (``reason`` required)."""

    path: ClassVar[tuple[str, ...]] = ("account_id", "member")
    member: Person
    roles: Annotated[
        list[KamRole],
        Field(min_length=1, max_length=6, description="The member's roles from now on"),
    ]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "roles": ["technical_expert", "project_manager"],
                    "reason": "Took over the service contract",
                }
            ]
        }
    )


class SetFocus(AccountCommand):
    """Splits effort between penetration, expansion and protection (whole percent, sum 100)."""

    penetration: Annotated[int, Field(ge=0, le=100)]
    expansion: Annotated[int, Field(ge=0, le=100)]
    protection: Annotated[int, Field(ge=0, le=100)]

    @classmethod
    def of(cls, account_id: UUID, focus: FocusWeights) -> SetFocus:
        """The command that sets this split."""
        return cls(account_id=account_id, **vars(focus))

    @property
    def focus(self) -> FocusWeights:
        return FocusWeights(self.penetration, self.expansion, self.protection)


class AdvanceStage(AccountCommand):
    """Moves the account to the next stage of the KAM cycle."""

    to: Stage


class RecordFinancials(AccountCommand):
    """Records one period's revenue, gross margin (a fraction, 0.31 = 31 %) and target."""

    period: Annotated[
        str,
        Field(
            # The years ``Period.parse`` takes (1900 on), so the schema says it too.
            pattern=r"^(19[0-9]{2}|[2-9][0-9]{3})(-Q[1-4]|-(0[1-9]|1[0-2]))?$",
            description="A calendar year (1900 on), quarter or month: YYYY, YYYY-Qn or YYYY-MM",
            examples=["2026-Q4"],
        ),
    ]
    revenue: Amount
    gross_margin: Annotated[Decimal | None, Field(ge=-10, le=10, max_digits=8)] = None
    revenue_target: Annotated[Decimal | None, Field(ge=0, max_digits=18, decimal_places=2)] = None
    currency: Annotated[
        str,
        Field(
            pattern=r"^[A-Z]{3}$",
            description="An ISO 4217 currency code, e.g. EUR",
            json_schema_extra=currency_enum,
        ),
    ]


class RecordFeedback(AccountCommand):
    """Records an NPS (0-10) and/or CSAT (1-5) response."""

    nps: Annotated[int | None, Field(ge=0, le=10)] = None
    csat: Annotated[int | None, Field(ge=1, le=5)] = None
    respondent_id: UUID | None = None
    comment: Notes = None

    # At least one of the two scores (else 422), as the JSON schema can say it.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["nps"], "properties": {"nps": {"type": "integer"}}},
                {"required": ["csat"], "properties": {"csat": {"type": "integer"}}},
            ]
        }
    )


class AssessRelationship(AccountCommand):
    """Records a formal relationship assessment (x-ray)."""

    engagement: EngagementLevel
    trust: Score5
    satisfaction: Score5
    partner_rating: Annotated[int, Field(ge=0, le=10)]
    notes: Notes = None


class NoteCompetitor(AccountCommand):
    """Notes a competitor active at the account and its threat level."""

    name: Name
    threat: ThreatLevel
    notes: Notes = None


class RaiseRisk(AccountCommand):
    """Raises a risk to the account, with the revenue it puts at risk if known."""

    title: Title
    severity: ThreatLevel
    revenue_at_risk: Annotated[Decimal | None, Field(ge=0, max_digits=18, decimal_places=2)] = None


class MitigateRisk(AccountCommand):
    """Marks a risk as mitigated."""

    path: ClassVar[tuple[str, ...]] = ("account_id", "risk_id")
    risk_id: UUID
    mitigation: Text


class ReevaluateAccount(AccountCommand):
    """Records whether the account stays on the key list: ``downgrade`` moves it down a tier
    at once (into a tier at its cap only with a ``reason``), ``exit`` marks the exit decided."""

    decision: ReevaluationDecision
    rationale: Text
    to_tier: Tier | None = Field(
        default=None,
        description="With a downgrade: the tier to move to (below the current one); "
        "by default the next tier down.",
    )

    # ``to_tier`` only with a downgrade (else 422), as the JSON schema can say it.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"decision": {"const": "downgrade"}}},
                {"properties": {"to_tier": {"type": "null"}}},
            ]
        }
    )


class ChangeServiceProfile(AccountCommand):
    """Moves the account to another service profile (``reason`` required), which sets its
    review, re-evaluation and contact cadences."""

    service_profile: ServiceProfile


class ExitAccount(AccountCommand):
    """Takes the account off the key list (``reason`` required); its history stays."""
