"""What changed in an account between two instants: fields before and after, items added or
removed, each with the events that caused it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

AggregateType = Literal["KeyAccount", "AccountPlan", "Relationship"]
ChangeKind = Literal["added", "removed", "changed"]


class ChangeEventPublic(BaseModel):
    """An event that caused a change, as the account's history shows it."""

    position: int = Field(description="Position in the global log")
    type: str = Field(description="The event class name, e.g. ActionRescheduled")
    actor: str
    recorded_at: datetime
    summary: str = Field(description="The one-line summary of the account's history")


class ChangePublic(BaseModel):
    """One net change of the account, a plan or a stakeholder over the range."""

    aggregate_type: AggregateType
    aggregate_id: UUID
    label: str = Field(
        description="What changed, as people call it: the account name, the plan's \"period: "
        'title", the stakeholder\'s "title: name" (no name once erased)'
    )
    path: str = Field(
        description='Where in its state: "" for a plan or stakeholder created in the range, '
        'else e.g. "tier", "financials.2026.revenue", "risks[<risk_id>]", '
        '"actions[<id>].status" (list items by their id; odd keys as ["key"])'
    )
    change: ChangeKind = Field(
        description="added or removed (a key or list item), or changed (a value)"
    )
    before: JsonValue = Field(description="The value at `from` (null when added)")
    after: JsonValue = Field(description="The value at `to` (null when removed)")
    events: list[ChangeEventPublic] = Field(
        description="The events in the range that touched this path, in log order"
    )


class ChangesPublic(BaseModel):
    """The net changes of an account, its plans and stakeholders between two instants: the
    account first, then plans, then stakeholders, each in order of its first event."""

    account_id: UUID
    from_: datetime = Field(alias="from", description="Changes recorded after this instant")
    to: datetime = Field(description="Changes recorded at or before this instant")
    event_count: int = Field(
        description="Events of the account, its plans and stakeholders recorded in the range"
    )
    changes: list[ChangePublic]

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "account_id": "9b2f1f8e-5c1a-4d2e-9a43-1c9f5b0f7d11",
                    "from": "2026-03-01T00:00:00Z",
                    "to": "2026-04-01T00:00:00Z",
                    "event_count": 1,
                    "changes": [
                        {
                            "aggregate_type": "KeyAccount",
                            "aggregate_id": "9b2f1f8e-5c1a-4d2e-9a43-1c9f5b0f7d11",
                            "label": "Acme Industrial",
                            "path": "tier",
                            "change": "changed",
                            "before": "key",
                            "after": "strategic",
                            "events": [
                                {
                                    "position": 1289,
                                    "type": "Classified",
                                    "actor": "dora",
                                    "recorded_at": "2026-03-02T09:14:03.120000+00:00",
                                    "summary": "Classified strategic (existing)",
                                }
                            ],
                        }
                    ],
                }
            ]
        },
    )
