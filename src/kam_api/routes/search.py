"""Search over key accounts and stakeholders by name and title."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kam_api.auth import STORE_READERS
from kam_api.deps import CurrentUser, MinPosition, Views
from kam_api.schemas.search import SearchHitPublic, SearchPage
from kam_projections.search import SearchScope, search

router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchPage)
def get_search(
    user: CurrentUser,
    views: Views,
    _wait: MinPosition,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"\S",
            description="What the name (or a stakeholder's title) contains; case and accents "
            "ignored",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> SearchPage:
    """Key accounts (not exited) and stakeholders whose name or title contains ``q``, by name.
    Stakeholders only for those who may read them (not viewers, as for
    ``GET /stakeholders/{id}``); a person whose personal data is erased never matches."""
    page = search(
        views, q, SearchScope(people=user.role in STORE_READERS), limit=limit, cursor=cursor
    )
    return SearchPage(
        items=[SearchHitPublic.model_validate({**r, "id": r["entity_id"]}) for r in page.items],
        next_cursor=page.next_cursor,
    )
