"""An account plan's current state, as the API answers it (the commands are in
``kam_domain.commands``; their request bodies are derived in ``schemas.commands``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kam_domain.values import (
    ActionStatus,
    KpiStatus,
    ObjectiveStatus,
    OpportunityKind,
    OpportunityStatus,
    ResearchCategory,
)

# --- State ------------------------------------------------------------------------------


class _State(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ObjectivePublic(_State):
    id: UUID
    statement: str
    metric: str
    baseline: Decimal
    target: Decimal
    due_on: date
    status: ObjectiveStatus
    progress: list[Decimal] = Field(description="The measured values, in order")
    latest_value: Decimal = Field(description="The last value measured, else the baseline")


class OpportunityPublic(_State):
    id: UUID
    kind: OpportunityKind
    title: str
    value: Decimal
    probability: int
    status: OpportunityStatus


class ActionPublic(_State):
    id: UUID
    what: str
    owner: str
    due_on: date
    stakeholder_ids: list[UUID]
    success_measure: str | None
    objective_id: UUID | None
    status: ActionStatus
    outcome: str | None
    blocked_from: ActionStatus | None = Field(description="The status an unblock returns to")


class ResearchAnswerPublic(_State):
    question_id: str
    category: ResearchCategory
    question: str = Field(description="The question's text")
    answer: str


class ReviewPublic(_State):
    notes: str
    kpi_status: KpiStatus
    reviewed_by: str
    occurred_on: datetime = Field(
        description="When it happened: the command's `occurred_on`, else when recorded"
    )


class PlanPublic(_State):
    """An account plan as it stands now (``ETag`` header: its version)."""

    id: UUID
    version: int
    account_id: UUID
    period: str
    title: str | None
    direction: str | None
    priorities: list[str]
    shared_with_customer: bool | None = Field(
        description="Whether the customer agreed the plan; null until it was shared"
    )
    customer_notes: str | None
    objectives: list[ObjectivePublic]
    opportunities: list[OpportunityPublic]
    actions: list[ActionPublic]
    research_answers: list[ResearchAnswerPublic]
    unanswered_categories: list[ResearchCategory]
    reviews: list[ReviewPublic]
    closed: bool
    created_on: datetime
    modified_on: datetime
