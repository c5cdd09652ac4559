"""The audit page: the event log of every account, filtered and paged (newest first), each
event linked to its page, and the state of the ledger that makes the log tamper-evident."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from kam_api.bootstrap import Services
from kam_api.errors import ApiError
from kam_api.settings import Settings
from kam_api.web.auth import PageLogReader
from kam_api.web.templating import pages_of
from kam_projections.db import ViewDatabase
from kam_projections.event_log import LogFilter, account_choices, log_event_types, log_page
from kam_projections.timeline import recorded_bound
from kam_store.checkpoint import CheckpointError, parse_checkpoint
from kam_store.ledger import Ledger
from kam_store.verifier import open_reader

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_POSITION = 2**63 - 2
_ACTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def _bad(detail: str) -> ApiError:
    return ApiError(422, "bad-filter", "Filter not understood", detail)


def _uuid(value: str | None, name: str) -> UUID | None:
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise _bad(f"The {name} is not an account id.") from None


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(f"The {name} date must be a day like 2026-03-04, not {value[:40]!r}.") from None


def _word(value: str | None, pattern: re.Pattern[str], name: str) -> str | None:
    if not value:
        return None
    if not pattern.match(value):
        raise _bad(f"The {name} is not one that could be in the log.")
    return value


def _start(day: date) -> str:
    return recorded_bound(datetime.combine(day, time(), tzinfo=UTC))


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    position: int
    root: str
    time: datetime | None
    signature: str  # in words: checked and valid, not checked, or not valid


@dataclass(frozen=True)
class LedgerView:
    """What the audit page says of the ledger (``error``: the store did not answer)."""

    verified_entries: int = 0
    verified_position: int = 0
    root: str = ""
    problem: str | None = None
    tail_ok: bool = False
    tail_checked: int = 0
    tail_problem: str | None = None
    key: str | None = None  # the signing key's name and id, if one is configured
    checkpoint: StoredCheckpoint | None = None
    error: str | None = None


def _stored_checkpoint(ledger: Ledger) -> StoredCheckpoint | None:
    """The checkpoint of the largest tree the store keeps, its signature checked with the
    configured key when there is one."""
    with open_reader(ledger.database, ledger.events_table) as reader:
        notes = reader.checkpoints()
    if not notes:
        return None
    note = notes[-1]
    lines = note.split("\n")
    fields = dict(line.split(" ", 1) for line in lines[3:6] if " " in line)
    try:
        size, root = int(lines[1]), lines[2]
        position = int(fields.get("position", "0"))
        when = datetime.strptime(fields["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (IndexError, KeyError, ValueError):
        return StoredCheckpoint(0, 0, "", None, "the stored checkpoint is malformed")
    if ledger.key is None:
        signature = "signature not checked here: no ledger key is configured"
    else:
        try:
            parse_checkpoint(note, ledger.key.verifier)
            signature = f"signed by {ledger.key.name}; the signature verifies"
        except CheckpointError as error:
            signature = f"the signature does NOT verify: {error}"
    return StoredCheckpoint(size, position, root, when, signature)


def ledger_view(services: Services, settings: Settings) -> LedgerView:
    """The verified tree, the tail check ``/readyz`` makes, and the latest stored checkpoint."""
    ledger = services.ledger
    try:
        verifier = ledger.sync()
        tail = ledger.check_tail(settings.ledger_tail_entries)
        checkpoint = _stored_checkpoint(ledger)
    except Exception as error:  # a store failure is shown in words, never a 500
        return LedgerView(error=f"the event store did not answer ({type(error).__name__})")
    key = None
    if ledger.key is not None:
        key = f"{ledger.key.name} (key id {ledger.key.verifier.key_id.hex()})"
    return LedgerView(
        verified_entries=verifier.size,
        verified_position=verifier.last_position,
        root=base64.b64encode(verifier.tree.root()).decode() if verifier.size else "",
        problem=None if verifier.problem is None else str(verifier.problem),
        tail_ok=tail.ok,
        tail_checked=tail.checked,
        tail_problem=None if tail.problem is None else str(tail.problem),
        key=key,
        checkpoint=checkpoint,
    )


@router.get("/app/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    user: PageLogReader,
    account: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    event_type: Annotated[str | None, Query(alias="type", max_length=100)] = None,
    occurred_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    occurred_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_POSITION)] = None,
) -> HTMLResponse:
    """The event feed with its filters, and the ledger's verification status."""
    views: ViewDatabase = request.app.state.views
    account_id = _uuid(account, "account")
    first, last = _day(occurred_from, "from"), _day(occurred_to, "to")
    if first is not None and last is not None and first > last:
        raise _bad("The from date is after the to date.")
    where = LogFilter(
        account_id=account_id,
        actor=_word(actor, _ACTOR, "actor"),
        event_type=_word(event_type, _TYPE, "event type"),
        occurred_from=_start(first) if first else None,
        occurred_to=_start(last + timedelta(days=1)) if last else None,
        before=before,
    )
    page = log_page(views, where, PAGE_SIZE)
    kept = {
        "account": account or "",
        "actor": actor or "",
        "type": event_type or "",
        "from": occurred_from or "",
        "to": occurred_to or "",
    }
    query = {k: v for k, v in kept.items() if v}
    accounts = account_choices(views)
    return pages_of(request).render(
        request,
        "audit/feed.html",
        {
            "title": "Audit",
            "rows": page.rows,
            "names": dict(accounts),
            "accounts": accounts,
            "types": log_event_types(views),
            "filters": kept,
            "filtered": bool(query),
            "first_page": f"/app/audit?{urlencode(query)}" if query else "/app/audit",
            "next_page": f"/app/audit?{urlencode({**query, 'before': page.next_before})}"
            if page.next_before
            else None,
            "paged": before is not None,
            "ledger": ledger_view(request.app.state.services, request.app.state.settings),
        },
    )
