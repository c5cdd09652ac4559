"""Schemas shared by every resource family."""

from __future__ import annotations

from typing import Any, Generic, TypeVar
from uuid import UUID

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from kam_domain.commands import CommandResult

T = TypeVar("T")

Text = Field(min_length=1, max_length=2000)


class CommandAccepted(BaseModel):
    """What a command changed: the aggregate, its new version and the log position to pass
    as ``min_position`` to a read that must see the change."""

    id: UUID = Field(description="The aggregate the command changed")
    version: int = Field(description="Its version after the command (the new ETag)")
    position: int = Field(description="Log position of the command's last event")
    entity_id: UUID | None = Field(
        None, description="The id of what the command created inside the aggregate, if any"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "9b2f1f8e-5c1a-4d2e-9a43-1c9f5b0f7d11",
                    "version": 4,
                    "position": 1289,
                    "entity_id": None,
                }
            ]
        }
    )


def accepted(result: CommandResult) -> CommandAccepted:
    return CommandAccepted(
        id=result.id, version=result.version, position=result.position, entity_id=result.entity_id
    )


class PagePublic(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None


def jsonable(value: Any) -> Any:
    """Enum members to their values, recursively (for state views)."""
    from enum import Enum

    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def json_response(model: BaseModel) -> Response:
    """A model already validated, serialised once (FastAPI would validate it again)."""
    return Response(model.model_dump_json(), media_type="application/json")
