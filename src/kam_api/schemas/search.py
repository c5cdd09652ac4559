"""Search: the query and its hits."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, Field

#: A search text (``q``): what a name or title must contain, case and accents ignored.
SearchText = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"\S",
        description="Only those whose name contains this text (case and accents ignored)",
    ),
]


class SearchHitPublic(BaseModel):
    """A key account or a stakeholder whose name (or title) matched."""

    kind: Literal["account", "stakeholder"]
    id: UUID = Field(description="The account's id, or the stakeholder's (relationship) id")
    account_id: UUID = Field(description="The account (the stakeholder's, or the account itself)")
    account_name: str | None = Field(description="The account's name")
    name: str
    title: str | None = Field(description="A stakeholder's title (null for accounts)")


class SearchPage(BaseModel):
    """One page of hits by name; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[SearchHitPublic]
    next_cursor: str | None = None
