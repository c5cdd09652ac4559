"""One event's page: who, when, what, the account it belongs to, its data as the log shows it
(erased people's data redacted) and its place in the ledger, with its inclusion proof."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse

from kam_api.auth import LOG_READERS
from kam_api.bootstrap import Services
from kam_api.errors import ForbiddenError
from kam_api.event_feed import public_events
from kam_api.report.document import event_words
from kam_api.schemas.audit import EventPublic
from kam_api.schemas.ledger import InclusionProofPublic
from kam_api.web.auth import PageLogReader, PageStoreReader
from kam_api.web.templating import pages_of
from kam_domain.application import KamApplication
from kam_domain.errors import NotFoundError
from kam_projections.db import ViewDatabase
from kam_projections.event_log import timeline_row
from kam_store.ledger import PositionNotInTreeError

router = APIRouter(include_in_schema=False)

MAX_POSITION = 2**63 - 2
Position = Annotated[int, Path(ge=1, le=MAX_POSITION)]


def _event(request: Request, position: int) -> EventPublic:
    """The event at the position as ``GET /events`` shows it (404 if there is none)."""
    kam: KamApplication = request.app.state.kam
    views: ViewDatabase = request.app.state.views
    found = [n for n in kam.recorder.select_notifications(position, 1) if n.id == position]
    if not found:
        raise HTTPException(404, f"There is no event at log position {position}.")
    return public_events(kam, views, found)[0]


def _shown(value: Any) -> str:
    """A data value as text: plain for a string, indented JSON for anything else."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@router.get("/app/events/{position}", response_class=HTMLResponse)
def event_page(request: Request, position: Position, user: PageStoreReader) -> HTMLResponse:
    """An event's detail. Log readers see every event; a manager, like the API's account
    history (which every store reader may read for any account), the events of accounts."""
    event = _event(request, position)
    if event.account_id is None and user.role not in LOG_READERS:
        raise ForbiddenError(
            "this event belongs to no account: only admins, directors and auditors read it"
        )
    kam: KamApplication = request.app.state.kam
    views: ViewDatabase = request.app.state.views
    account_name = None
    if event.account_id is not None:
        try:
            account_name = kam.get_account(event.account_id).name
        except NotFoundError:
            account_name = None
    row = timeline_row(views, position)
    leaf: dict[str, Any] | None = None
    ledger_note = None
    if user.role in LOG_READERS:
        services: Services = request.app.state.services
        try:
            proof = services.ledger.inclusion(position)
            leaf = {
                "leaf_hash": base64.b64encode(proof.leaf_hash).decode(),
                "leaf_index": proof.leaf_index,
                "tree_size": proof.tree_size,
                "root_hash": base64.b64encode(proof.root).decode(),
            }
        except PositionNotInTreeError as error:
            ledger_note = f"Not in the verified ledger tree: {error}."
    return pages_of(request).render(
        request,
        "audit/event.html",
        {
            "title": f"Event {position}",
            "event": event,
            "words": event_words(event.type),
            "summary": row["summary"] if row else None,
            "account_name": account_name,
            "data": [(key, _shown(value)) for key, value in event.data.items()],
            "leaf": leaf,
            "ledger_note": ledger_note,
            "log_reader": user.role in LOG_READERS,
        },
    )


@router.get("/app/events/{position}/inclusion-proof", response_model=InclusionProofPublic)
def inclusion_proof(request: Request, position: Position, user: PageLogReader) -> Any:
    """The event's inclusion proof as ``GET /ledger/proofs/inclusion`` answers it, for a
    signed-in browser (the API route takes a bearer token)."""
    services: Services = request.app.state.services
    try:
        proof = services.ledger.inclusion(position)
    except PositionNotInTreeError as error:
        raise HTTPException(422, str(error)) from None

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return InclusionProofPublic(
        position=proof.position,
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        leaf_hash=b64(proof.leaf_hash),
        root_hash=b64(proof.root),
        proof=[b64(p) for p in proof.path],
    )
