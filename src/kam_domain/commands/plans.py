"""Commands on account plans: direction, objectives, opportunities, actions, research."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field

from kam_domain.commands.base import AccountCommand, PlanCommand
from kam_domain.names import normal_name
from kam_domain.values import KpiStatus, OpportunityKind

#: No NUL characters: PostgreSQL text columns of the read models cannot hold them.
NO_NUL = r"^[^\x00]*$"

Period = Annotated[
    str,
    Field(
        min_length=1, max_length=20, pattern=NO_NUL, description="The planning period, e.g. 2027"
    ),
]
Title = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Statement = Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]
Text = Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)]
LongText = Annotated[str, Field(min_length=1, max_length=4000, pattern=NO_NUL)]
Note = Annotated[str | None, Field(max_length=2000, pattern=NO_NUL)]
Person = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="An active user of the service, or someone outside the company (a "
        "customer's or partner's person) written 'external:<name>'",
    ),
    AfterValidator(normal_name),
]
Probability = Annotated[int, Field(ge=0, le=100, description="Chance of winning, in percent")]
Measure = Annotated[Decimal, Field(max_digits=24, decimal_places=6, allow_inf_nan=False)]
#: What a planned date may be (``kam_domain.dates``).
PLANNED_DAY = "The due date: not before 1990-01-01, at most 10 years after today"
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False)]


class ObjectiveCommand(PlanCommand):
    """A command on one objective of a plan."""

    path: ClassVar[tuple[str, ...]] = ("plan_id", "objective_id")
    objective_id: UUID


class OpportunityCommand(PlanCommand):
    """A command on one opportunity of a plan."""

    path: ClassVar[tuple[str, ...]] = ("plan_id", "opportunity_id")
    opportunity_id: UUID


class ActionCommand(PlanCommand):
    """A command on one action of a plan."""

    path: ClassVar[tuple[str, ...]] = ("plan_id", "action_id")
    action_id: UUID


# --- Plan -------------------------------------------------------------------------------


class DraftPlan(AccountCommand):
    """Drafts the account's plan for a period (one plan per account per period)."""

    period: Period
    title: Title | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"period": "2027", "title": "Grow beyond maintenance"}]}
    )


class StateDirection(PlanCommand):
    """States where the account should go this period and the priorities to get there."""

    direction: Text
    priorities: Annotated[tuple[Title, ...], Field(default_factory=tuple, max_length=20)]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "direction": "Become the preferred supplier for all EMEA plants",
                    "priorities": ["Win the Lyon retrofit", "Second champion in procurement"],
                }
            ]
        }
    )


class SharePlan(PlanCommand):
    """Records that the plan was shared with the customer, and whether they agreed it."""

    agreed: bool
    notes: Note = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"agreed": True, "notes": "Agreed at the QBR"}]}
    )


class ClosePlan(PlanCommand):
    """Closes the plan; it accepts no more changes."""


class ReviewPlan(PlanCommand):
    """Reviews the plan against its KPIs."""

    notes: LongText
    kpi_status: KpiStatus

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"notes": "Retrofit slipped a quarter", "kpi_status": "at_risk"}]
        }
    )


class AnswerResearchQuestion(PlanCommand):
    """Answers a question of the research bank (a later answer replaces an earlier one)."""

    question_id: Annotated[
        str, Field(min_length=1, max_length=64, pattern=NO_NUL, examples=["our-team-01"])
    ]
    answer: LongText

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"question_id": "our-team-01", "answer": "Ann owns the CFO; met in March."}
            ]
        }
    )


# --- Objectives -------------------------------------------------------------------------


class SetObjective(PlanCommand):
    """Sets a SMART objective: a statement, the metric, its baseline and target, a due date."""

    statement: Statement
    metric: Title
    baseline: Measure
    target: Annotated[Measure, Field(description="Must differ from the baseline")]
    due_on: Annotated[
        date,
        Field(
            description="Not before the plan's period starts (1 January of its leading year), "
            "nor 1990-01-01, at most 10 years after today"
        ),
    ]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "statement": "Grow annual revenue from the account by 20 %",
                    "metric": "revenue (EUR k)",
                    "baseline": "1000",
                    "target": "1200",
                    "due_on": "2027-12-31",
                }
            ]
        }
    )


class RecordProgress(ObjectiveCommand):
    """Records a measured value of an open objective's metric."""

    value: Measure
    note: Note = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"value": "1080", "note": "Q2 invoicing"}]}
    )


class AchieveObjective(ObjectiveCommand):
    """Marks an open objective achieved."""


class MissObjective(ObjectiveCommand):
    """Marks an open objective missed (``reason`` required)."""


# --- Opportunities ----------------------------------------------------------------------


class IdentifyOpportunity(PlanCommand):
    """Adds an opportunity to the plan's pipeline."""

    kind: OpportunityKind
    title: Title
    value: Money
    probability: Probability

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "expansion",
                    "title": "Lyon plant retrofit",
                    "value": "250000",
                    "probability": 40,
                }
            ]
        }
    )


class AdvanceOpportunity(OpportunityCommand):
    """Updates an open opportunity's probability of closing."""

    probability: Probability
    note: Note = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"probability": 70, "note": "Shortlisted"}]}
    )


class WinOpportunity(OpportunityCommand):
    """Marks an open opportunity won, at ``value`` or else at its estimated value."""

    value: Money | None = None


class LoseOpportunity(OpportunityCommand):
    """Marks an open opportunity lost (``reason`` required)."""


# --- Actions ----------------------------------------------------------------------------


class AddAction(PlanCommand):
    """Adds a planned action with an owner and a due date, optionally towards an objective."""

    what: Statement
    owner: Person
    due_on: Annotated[date, Field(description=PLANNED_DAY)]
    stakeholder_ids: Annotated[tuple[UUID, ...], Field(default_factory=tuple, max_length=50)]
    success_measure: Annotated[str | None, Field(max_length=500, pattern=NO_NUL)] = None
    objective_id: UUID | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "what": "Run a retrofit workshop with the Lyon plant manager",
                    "owner": "mia",
                    "due_on": "2027-03-31",
                    "stakeholder_ids": [],
                    "success_measure": "Workshop held, scope agreed",
                }
            ]
        }
    )


class StartAction(ActionCommand):
    """Starts a planned action."""


class CompleteAction(ActionCommand):
    """Completes a planned or in-progress action with its outcome."""

    outcome: Text

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"outcome": "Scope agreed; quote due in May"}]}
    )


class BlockAction(ActionCommand):
    """Blocks a planned or in-progress action (``reason`` required: blocked by what)."""


class UnblockAction(ActionCommand):
    """Unblocks a blocked action, back to the status it was blocked from."""


class RescheduleAction(ActionCommand):
    """Moves an open action's due date (``reason`` required)."""

    due_on: Annotated[date, Field(description=PLANNED_DAY)]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"due_on": "2027-04-30", "reason": "Plant manager on leave"}]
        }
    )


class ReassignAction(ActionCommand):
    """Gives an open action to another owner."""

    owner: Person


class CancelAction(ActionCommand):
    """Cancels an open action (``reason`` required)."""
