"""What changed in an account between two instants: fields before and after, items added or
removed, each with the events that caused it (``ChangePublic``: ``kam_projections.changes``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kam_projections.changes import ChangeEventPublic, ChangePublic


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


__all__ = ["ChangeEventPublic", "ChangePublic", "ChangesPublic"]
