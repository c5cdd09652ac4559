"""What changed in an account, its plans and its stakeholders between two instants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from kam_api.deps import Kam, MinPosition, StoreReader, Views
from kam_api.errors import ApiError
from kam_api.presenters import account_public, forgotten, plan_public, stakeholder_public
from kam_api.schemas.changes import ChangesPublic
from kam_domain.account_plans import AccountPlan
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_projections.changes import (
    Subject,
    account_changes,
    account_label,
    plan_label,
    stakeholder_label,
    timeline_rows,
)

router = APIRouter(tags=["audit"])

SUBJECTS = {
    "KeyAccount": Subject(KeyAccount, account_public, account_label),
    "AccountPlan": Subject(AccountPlan, plan_public, plan_label),
    "Relationship": Subject(
        Relationship,
        stakeholder_public,
        stakeholder_label,
        forget=forgotten,
    ),
}

INSTANT = "ISO 8601 date or datetime; UTC if naive"


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@router.get("/accounts/{account_id}/changes", response_model=ChangesPublic)
def get_account_changes(
    account_id: UUID,
    user: StoreReader,
    kam: Kam,
    views: Views,
    _wait: MinPosition,
    since: Annotated[
        datetime, Query(alias="from", description=f"Changes recorded after this ({INSTANT})")
    ],
    until: Annotated[
        datetime | None,
        Query(
            alias="to", description=f"Changes recorded at or before this ({INSTANT}); now if absent"
        ),
    ] = None,
) -> ChangesPublic:
    """What changed in an account, its plans and stakeholders between two instants, and why."""
    start = _aware(since)
    end = _aware(until) if until is not None else datetime.now(UTC)
    if start >= end:
        raise ApiError(400, "bad-range", "Bad range", "'from' must be before 'to'")
    kam.get_account(account_id)  # 404 for an unknown account
    rows = timeline_rows(views, account_id, start, end)
    return ChangesPublic(
        account_id=account_id,
        from_=start,
        to=end,
        event_count=len(rows),
        changes=account_changes(kam, rows, SUBJECTS),
    )
