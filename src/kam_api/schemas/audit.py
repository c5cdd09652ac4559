"""Audit responses: the global event log for integrations and an account's full history."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

EXAMPLE_DATA: dict[str, JsonValue] = {
    "tier": "strategic",
    "kind": "existing",
    "rationale": "largest account",
}


class EventPublic(BaseModel):
    """One stored event of the global log, with its envelope and its data."""

    position: int = Field(description="Position in the global log (strictly increasing)")
    aggregate_type: str = Field(
        description="KeyAccount | AccountPlan | Relationship | AccountName | TierRoster | "
        "ExchangeRate"
    )
    aggregate_id: UUID
    aggregate_version: int
    account_id: UUID | None = Field(
        description="The key account the event belongs to (null for index aggregates, or "
        "while the read models have not yet learnt who owns a plan or stakeholder)"
    )
    type: str = Field(description="The event class name, e.g. Classified")
    actor: str
    recorded_at: datetime
    occurred_at: datetime = Field(
        description="When it happened in the world: the fact's own date (an interaction's "
        "`on`, a handover's `effective_on`, a departure's `left_on`; midnight UTC), else the "
        "command's `occurred_on`, else when it was recorded"
    )
    reason: str | None
    correlation_id: str | None
    data: dict[str, Any] = Field(description="The event's attributes as stored")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "position": 1289,
                    "aggregate_type": "KeyAccount",
                    "aggregate_id": "9b2f1f8e-5c1a-4d2e-9a43-1c9f5b0f7d11",
                    "aggregate_version": 4,
                    "account_id": "9b2f1f8e-5c1a-4d2e-9a43-1c9f5b0f7d11",
                    "type": "Classified",
                    "actor": "dora",
                    "recorded_at": "2026-03-02T09:14:03.120000+00:00",
                    "occurred_at": "2026-03-02T09:14:03.120000+00:00",
                    "reason": None,
                    "correlation_id": "5e0c4a57-1d7e-4a0b-9a59-0c7e7b6b2a11",
                    "data": EXAMPLE_DATA,
                }
            ]
        }
    )


class EventPage(BaseModel):
    """One page of the log; pass ``next_after`` as ``after`` for the next page, or, once
    caught up, to poll for what comes next."""

    items: list[EventPublic]
    next_after: int = Field(
        description="The position to continue from: the last event of the page, or the "
        "``after`` asked when the page is empty (never null, so a client need not keep its own)"
    )
    caught_up: bool = Field(
        description="The page was not full: the log had no more events when it was read"
    )


class HistoryEntryPublic(BaseModel):
    """One event of an account, its plans or its stakeholders, with a one-line summary."""

    position: int
    aggregate_type: str = Field(description="KeyAccount | AccountPlan | Relationship")
    aggregate_id: UUID
    type: str = Field(description="The event class name, e.g. ActionCompleted")
    actor: str
    recorded_at: datetime
    occurred_at: datetime = Field(
        description="When it happened: its own date, else `occurred_on`, else when recorded"
    )
    reason: str | None
    summary: str
    data: dict[str, Any] = Field(description="The event's attributes as stored")


class HistoryPage(BaseModel):
    """One page of an account's history; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[HistoryEntryPublic]
    next_cursor: str | None = None


def json_safe(value: Any) -> Any:
    """A stored event attribute as JSON: ids, dates and amounts to strings, enums to their
    values, value objects to objects, collections to lists."""
    if isinstance(value, Enum):
        return json_safe(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, UUID | date | datetime | time | Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(json_safe(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v) for v in value), key=str)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def event_data(data: dict[str, Any]) -> dict[str, Any]:
    """An event's attributes without the envelope (given as actor, reason, ... alongside)."""
    return {key: json_safe(v) for key, v in data.items() if key != "meta"}
