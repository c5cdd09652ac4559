"""Audit reads: the ordered global event log for integrations and an account's full history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from eventsourcing.persistence import Notification
from fastapi import APIRouter, Query, Request, Response

from kam_api.conditional import Fresh, conditional_responses
from kam_api.csv_export import CSV_RESPONSES, Format, csv_response, wants_csv
from kam_api.deps import Kam, LogReader, MinPosition, StoreReader, Views
from kam_api.event_feed import events_after
from kam_api.schemas.audit import EventPage, HistoryEntryPublic, HistoryPage, event_data
from kam_domain.application import KamApplication
from kam_projections.db import ViewDatabase
from kam_projections.erasure import as_erased
from kam_projections.pagination import InvalidCursorError, Page, decode_cursor
from kam_projections.pagination import position as a_position
from kam_projections.projector import decode
from kam_projections.timeline import TimelineFilter, account_timeline, recorded_bound

router = APIRouter(tags=["audit"])

MAX_POSITION = 2**63 - 2  # BIGINT, with room for after + 1
RANGE_READ = 1000  # a history page spanning at most this many positions is read in one go


@router.get("/events", response_model=EventPage)
def get_events(
    user: LogReader,
    kam: Kam,
    views: Views,
    after: Annotated[
        int, Query(ge=0, le=MAX_POSITION, description="Answer events after this position")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    """The global event log in order, after a position: every event with its envelope and data.
    ``next_after`` is always the position to continue from: the last event answered, or
    ``after`` itself when there is nothing new; ``caught_up`` says the page was not full."""
    items = events_after(kam, views, after, limit)
    next_after = items[-1].position if items else after
    return EventPage(items=items, next_after=next_after, caught_up=len(items) < limit)


def _stored(kam: KamApplication, positions: list[int]) -> dict[int, Notification]:
    """The stored events at these positions (ascending), in one range read when close."""
    if not positions:
        return {}
    first, last = positions[0], positions[-1]
    if last - first < RANGE_READ:
        found = kam.recorder.select_notifications(first, last - first + 1, stop=last)
    else:
        found = [n for p in positions for n in kam.recorder.select_notifications(p, 1)]
    wanted = set(positions)
    return {n.id: n for n in found if n.id in wanted}


def _check_cursor(cursor: str | None) -> None:
    if cursor is None:
        return
    after = decode_cursor(cursor, a_position)[0]
    if after > MAX_POSITION:
        raise InvalidCursorError("cursor is not valid")


@router.get(
    "/accounts/{account_id}/history",
    response_model=HistoryPage,
    responses=conditional_responses(CSV_RESPONSES),
)
def get_account_history(
    request: Request,
    account_id: UUID,
    user: StoreReader,
    kam: Kam,
    views: Views,
    _wait: MinPosition,
    fresh: Fresh,
    event_type: Annotated[
        str | None,
        Query(
            alias="type",
            pattern=r"^[A-Za-z][A-Za-z0-9_]{0,99}$",
            description="Only events of this class, e.g. ActionCompleted",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$", description="Only this actor's"),
    ] = None,
    occurred_from: Annotated[
        datetime | None,
        Query(
            alias="from",
            description="Happened at or after (ISO date or datetime; UTC if naive): the fact's "
            "own date (an interaction's `on`, a handover's `effective_on`, a departure's "
            "`left_on`), else its `occurred_on`, else when it was recorded",
        ),
    ] = None,
    occurred_to: Annotated[
        datetime | None,
        Query(alias="to", description="Happened before (same date as `from`)"),
    ] = None,
    recorded_from: Annotated[
        datetime | None,
        Query(description="Recorded at or after (ISO date or datetime; UTC if naive)"),
    ] = None,
    recorded_to: Annotated[
        datetime | None,
        Query(description="Recorded before (ISO date or datetime; UTC if naive)"),
    ] = None,
    position: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_POSITION,
            description="Only the event at this log position (what a handover report's "
            "sources link to); none there for this account: an empty page",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: str | None = None,
    format: Format = None,
) -> HistoryPage | Response:
    """Every event of an account, its plans and its stakeholders in log order, with its data;
    `from`/`to` filter by when each happened, `recorded_from`/`recorded_to` by when it was
    recorded. Anyone who may read the account's state may read its history (not viewers). As
    CSV (with ``Accept: text/csv`` or ``format=csv``): every matching event's summary, without
    its data. Conditional (ETag, If-None-Match: 304); a page after a cursor is found through
    the (account, position) index, so a deep page costs what the first one does."""
    kam.get_account(account_id)  # 404 for an unknown account
    _check_cursor(cursor)
    if (unchanged := fresh.not_modified()) is not None:
        return unchanged
    where = TimelineFilter(
        account_id=account_id,
        event_type=event_type,
        actor=actor,
        occurred_from=recorded_bound(occurred_from) if occurred_from is not None else None,
        occurred_to=recorded_bound(occurred_to) if occurred_to is not None else None,
        recorded_from=recorded_bound(recorded_from) if recorded_from is not None else None,
        recorded_to=recorded_bound(recorded_to) if recorded_to is not None else None,
        position=position,
    )
    if wants_csv(request, format):
        return fresh.tagged(
            lambda: csv_response(
                "history",
                HistoryEntryPublic,
                lambda after, size: _timeline_page(views, where, after, size),
                cursor,
                exclude=frozenset({"data"}),
            )
        )
    page = account_timeline(views, where, limit=limit, cursor=cursor)
    stored = _stored(kam, [int(r["position"]) for r in page.items])
    kam.store_features.prepare(list(stored.values()))
    decoded = as_erased(views, [decode(kam, n) for n in stored.values()])
    events = {e.position: e for e in decoded}
    items = []
    for row in page.items:
        event = events.get(int(row["position"]))
        data = event_data(event.data) if event is not None else {}
        items.append(
            HistoryEntryPublic(
                position=row["position"],
                aggregate_type=row["aggregate_type"],
                aggregate_id=row["aggregate_id"],
                type=row["event_type"],
                actor=row["actor"],
                recorded_at=row["recorded_at"],
                occurred_at=row["occurred_at"],
                reason=row["reason"],
                summary=row["summary"],
                data=data,
            )
        )
    return fresh.json(HistoryPage(items=items, next_cursor=page.next_cursor))


def _timeline_page(
    views: ViewDatabase, where: TimelineFilter, cursor: str | None, size: int
) -> Page:
    """A page of the account's timeline rows for the CSV export (no event data)."""
    page = account_timeline(views, where, limit=size, cursor=cursor)
    items = [{**r, "type": r["event_type"], "data": {}} for r in page.items]
    return Page(items=items, next_cursor=page.next_cursor)
