"""The account page's Timeline tab: the events of the account, its plans and stakeholders
(the read model behind ``GET /accounts/{id}/history``), filtered by when they happened, type
and actor, a page at a time; as of a past day, those that happened up to its end."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from kam_api.errors import ApiError
from kam_api.routes.audit import MAX_POSITION
from kam_api.web.auth import PageStoreReader
from kam_api.web.routes.account import account_at, parse_day, tabs_context
from kam_api.web.templating import pages_of
from kam_projections.as_of import event_types
from kam_projections.db import ViewDatabase
from kam_projections.pagination import InvalidCursorError, decode_cursor, position
from kam_projections.timeline import TimelineFilter, account_timeline, recorded_bound

router = APIRouter(include_in_schema=False)

PAGE = 50
EventType = Annotated[str | None, Query(alias="type", pattern=r"^([A-Za-z][A-Za-z0-9_]{0,99})?$")]
Actor = Annotated[str | None, Query(pattern=r"^([A-Za-z0-9][A-Za-z0-9._@-]{0,63})?$")]


def _start_of(day: date) -> str:
    """The first instant of ``day`` (UTC), as the timeline compares times."""
    return recorded_bound(datetime.combine(day, time.min, tzinfo=UTC))


@router.get("/app/accounts/{account_id}/timeline", response_class=HTMLResponse)
def timeline_page(
    request: Request,
    account_id: UUID,
    user: PageStoreReader,
    as_of: str | None = None,
    since: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    event_type: EventType = None,
    actor: Actor = None,
    cursor: str | None = None,
) -> HTMLResponse:
    """The Timeline tab: ``from``/``to`` (YYYY-MM-DD, both days included), ``type``, ``actor``."""
    at = account_at(request, account_id, as_of)
    first, last = parse_day(since, "from"), parse_day(to, "to")
    if first and last and first > last:
        raise ApiError(400, "bad-range", "Bad range", "'from' must not be after 'to'.")
    # Up to the end of the last day: the filter's, or the as-of day's, whichever is earlier.
    ends = [d for d in (last, at.as_of) if d is not None]
    if cursor and decode_cursor(cursor, position)[0] > MAX_POSITION:
        raise InvalidCursorError("cursor is not valid")  # a 400, not an overflowing query
    where = TimelineFilter(
        account_id=account_id,
        event_type=event_type or None,
        actor=actor or None,
        occurred_from=_start_of(first) if first else None,
        occurred_to=_start_of(min(ends) + timedelta(days=1)) if ends else None,
    )
    views: ViewDatabase = request.app.state.views
    page = account_timeline(views, where, limit=PAGE, cursor=cursor or None)
    filters = {
        "as_of": at.as_of.isoformat() if at.as_of else "",
        "from": first.isoformat() if first else "",
        "to": last.isoformat() if last else "",
        "type": event_type or "",
        "actor": actor or "",
    }
    context = tabs_context(at, "timeline", "Timeline") | {
        "rows": page.items,
        "next_cursor": page.next_cursor,
        "cursor": cursor,
        "filters": filters,
        "kept": {k: v for k, v in filters.items() if v},
        "event_types": event_types(views, account_id),
    }
    return pages_of(request).render(request, "account/timeline.html", context)
