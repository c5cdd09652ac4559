"""Stakeholders: identify, read, and every relationship command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from kam_api.deps import (
    AsOf,
    IfMatch,
    Kam,
    MinPosition,
    StoreReader,
    Views,
    Writer,
    authorize_account,
    envelope,
)
from kam_api.presenters import etag, stakeholder_public
from kam_api.schemas.common import CommandAccepted, PagePublic, accepted
from kam_api.schemas.stakeholders import (
    AssignRelationshipOwner,
    ChangeDisposition,
    ChangeRole,
    ErasePersonalData,
    FulfilCommitment,
    IdentifyStakeholder,
    LogInteraction,
    MakeCommitment,
    RecordDeparture,
    StakeholderPublic,
)
from kam_domain.application import CommandResult
from kam_domain.relationships import Relationship
from kam_domain.values import PersonalData
from kam_projections.pagination import InvalidCursorError, decode_cursor, encode_cursor
from kam_projections.projector import owned_by

router = APIRouter(tags=["stakeholders"])


def _after(cursor: str | None) -> UUID | None:
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    try:
        return UUID(str(values[0]))
    except ValueError:
        raise InvalidCursorError("cursor is not valid") from None


@router.post("/accounts/{account_id}/stakeholders", status_code=201, response_model=CommandAccepted)
def identify_stakeholder(
    account_id: UUID,
    body: IdentifyStakeholder,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
) -> CommandAccepted:
    """Identifies a stakeholder at the account; ``Location`` names the new relationship."""
    authorize_account(kam, user, account_id)
    result = kam.identify_stakeholder(
        account_id,
        personal=PersonalData(
            name=body.name, email=body.email, phone=body.phone, notes=body.personal_notes
        ),
        title=body.title,
        buying_role=body.buying_role,
        influence=body.influence,
        reports_to=body.reports_to,
        meta=envelope(user, request, body),
    )
    response.headers["Location"] = f"/stakeholders/{result.id}"
    etag(response, result.version)
    return accepted(result)


@router.get("/accounts/{account_id}/stakeholders", response_model=PagePublic[StakeholderPublic])
def list_stakeholders(
    account_id: UUID,
    user: StoreReader,
    kam: Kam,
    views: Views,
    _wait: MinPosition,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> PagePublic[StakeholderPublic]:
    """The account's stakeholders as they stand now, paged by id."""
    kam.get_account(account_id)
    after = _after(cursor)
    ids = [i for i in owned_by(views, account_id, "Relationship") if after is None or i > after]
    page = ids[:limit]
    next_cursor = encode_cursor([str(page[-1])]) if len(ids) > limit else None
    return PagePublic[StakeholderPublic](
        items=[stakeholder_public(kam.get_stakeholder(i)) for i in page], next_cursor=next_cursor
    )


@router.get("/stakeholders/{stakeholder_id}", response_model=StakeholderPublic)
def get_stakeholder(
    stakeholder_id: UUID, user: StoreReader, kam: Kam, response: Response, as_of: AsOf = None
) -> StakeholderPublic:
    """The stakeholder relationship now (ETag: its version), or as it was at ``as_of``."""
    if as_of is not None:
        return stakeholder_public(kam.get_as_of(Relationship, stakeholder_id, as_of))
    relationship = kam.get_stakeholder(stakeholder_id)
    etag(response, relationship.version)
    return stakeholder_public(relationship)


def _command(
    kam: Kam,
    user: Writer,
    stakeholder_id: UUID,
    response: Response,
    run: Callable[[], CommandResult],
) -> CommandAccepted:
    authorize_account(kam, user, kam.get_stakeholder(stakeholder_id).account_id)
    result = run()
    etag(response, result.version)
    return accepted(result)


@router.post("/stakeholders/{stakeholder_id}/disposition", response_model=CommandAccepted)
def change_disposition(
    stakeholder_id: UUID,
    body: ChangeDisposition,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Records a new disposition: supporter, neutral or detractor (reason required)."""
    return _command(
        kam,
        user,
        stakeholder_id,
        response,
        lambda: kam.change_disposition(
            stakeholder_id,
            disposition=body.disposition,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/stakeholders/{stakeholder_id}/role", response_model=CommandAccepted)
def change_role(
    stakeholder_id: UUID,
    body: ChangeRole,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Changes the stakeholder's buying role and influence."""
    return _command(
        kam,
        user,
        stakeholder_id,
        response,
        lambda: kam.change_role(
            stakeholder_id,
            buying_role=body.buying_role,
            influence=body.influence,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/stakeholders/{stakeholder_id}/owner", response_model=CommandAccepted)
def assign_relationship_owner(
    stakeholder_id: UUID,
    body: AssignRelationshipOwner,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Names who on our side owns the relationship with this person."""
    return _command(
        kam,
        user,
        stakeholder_id,
        response,
        lambda: kam.assign_relationship_owner(
            stakeholder_id,
            owner=body.owner,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post(
    "/stakeholders/{stakeholder_id}/interactions",
    status_code=201,
    response_model=CommandAccepted,
)
def log_interaction(
    stakeholder_id: UUID,
    body: LogInteraction,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Logs a meeting, call, email, QBR or event; ``entity_id`` is the interaction's id."""
    return _command(
        kam,
        user,
        stakeholder_id,
        response,
        lambda: kam.log_interaction(
            stakeholder_id,
            kind=body.kind,
            on=body.on,
            summary=body.summary,
            sentiment=body.sentiment,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post(
    "/stakeholders/{stakeholder_id}/commitments",
    status_code=201,
    response_model=CommandAccepted,
)
def make_commitment(
    stakeholder_id: UUID,
    body: MakeCommitment,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Records a promise made to the stakeholder; ``entity_id`` is the commitment's id."""
    return _command(
        kam,
        user,
        stakeholder_id,
        response,
        lambda: kam.make_commitment(
            stakeholder_id,
            description=body.description,
            due_on=body.due_on,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post(
    "/stakeholders/{stakeholder_id}/commitments/{commitment_id}/fulfilment",
    response_model=CommandAccepted,
)
def fulfil_commitment(
    stakeholder_id: UUID,
    commitment_id: UUID,
    body: FulfilCommitment,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Marks a commitment to the stakeholder as kept (also after they left)."""
    return _command(
        kam,
        user,
        stakeholder_id,
        response,
        lambda: kam.fulfil_commitment(
            stakeholder_id,
            commitment_id=commitment_id,
            note=body.note,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/stakeholders/{stakeholder_id}/departure", response_model=CommandAccepted)
def record_departure(
    stakeholder_id: UUID,
    body: RecordDeparture,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Records that the stakeholder left the customer, with their successor if known."""
    return _command(
        kam,
        user,
        stakeholder_id,
        response,
        lambda: kam.record_departure(
            stakeholder_id,
            left_on=body.left_on,
            successor_id=body.successor_id,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/stakeholders/{stakeholder_id}/erasure", response_model=CommandAccepted)
def erase_personal_data(
    stakeholder_id: UUID,
    body: ErasePersonalData,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Erases the stakeholder's personal data (reason required); the history keeps its shape."""
    return _command(
        kam,
        user,
        stakeholder_id,
        response,
        lambda: kam.erase_personal_data(
            stakeholder_id, meta=envelope(user, request, body), expected_version=version
        ),
    )
