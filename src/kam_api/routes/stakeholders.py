"""Stakeholders: identify, read, and every relationship command."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kam_api.deps import AsOf, Create, Kam, MinPosition, Send, StoreReader, Views, etag
from kam_api.presenters import stakeholder_public
from kam_api.schemas.commands import Body
from kam_api.schemas.common import CommandAccepted, PagePublic
from kam_api.schemas.stakeholders import StakeholderPublic
from kam_domain.commands import (
    AssignRelationshipOwner,
    ChangeDisposition,
    ChangeRole,
    ErasePersonalData,
    FulfilCommitment,
    IdentifyStakeholder,
    LogInteraction,
    MakeCommitment,
    RecordDeparture,
)
from kam_domain.relationships import Relationship
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
    account_id: UUID, body: Body[IdentifyStakeholder], create: Create
) -> CommandAccepted:
    """Identifies a stakeholder at the account; ``Location`` names the new relationship."""
    return create(body.to_command(account_id=account_id), body, location="/stakeholders/{id}")


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


@router.post("/stakeholders/{stakeholder_id}/disposition", response_model=CommandAccepted)
def change_disposition(
    stakeholder_id: UUID, body: Body[ChangeDisposition], send: Send
) -> CommandAccepted:
    """Records a new disposition: supporter, neutral or detractor (reason required)."""
    return send(body.to_command(stakeholder_id=stakeholder_id), body)


@router.post("/stakeholders/{stakeholder_id}/role", response_model=CommandAccepted)
def change_role(stakeholder_id: UUID, body: Body[ChangeRole], send: Send) -> CommandAccepted:
    """Changes the stakeholder's buying role and influence."""
    return send(body.to_command(stakeholder_id=stakeholder_id), body)


@router.post("/stakeholders/{stakeholder_id}/owner", response_model=CommandAccepted)
def assign_relationship_owner(
    stakeholder_id: UUID, body: Body[AssignRelationshipOwner], send: Send
) -> CommandAccepted:
    """Names who on our side owns the relationship with this person."""
    return send(body.to_command(stakeholder_id=stakeholder_id), body)


@router.post(
    "/stakeholders/{stakeholder_id}/interactions", status_code=201, response_model=CommandAccepted
)
def log_interaction(
    stakeholder_id: UUID, body: Body[LogInteraction], send: Send
) -> CommandAccepted:
    """Logs a meeting, call, email, QBR or event; ``entity_id`` is the interaction's id."""
    return send(body.to_command(stakeholder_id=stakeholder_id), body)


@router.post(
    "/stakeholders/{stakeholder_id}/commitments", status_code=201, response_model=CommandAccepted
)
def make_commitment(
    stakeholder_id: UUID, body: Body[MakeCommitment], send: Send
) -> CommandAccepted:
    """Records a promise made to the stakeholder; ``entity_id`` is the commitment's id."""
    return send(body.to_command(stakeholder_id=stakeholder_id), body)


@router.post(
    "/stakeholders/{stakeholder_id}/commitments/{commitment_id}/fulfilment",
    response_model=CommandAccepted,
)
def fulfil_commitment(
    stakeholder_id: UUID, commitment_id: UUID, body: Body[FulfilCommitment], send: Send
) -> CommandAccepted:
    """Marks a commitment to the stakeholder as kept (also after they left)."""
    return send(body.to_command(stakeholder_id=stakeholder_id, commitment_id=commitment_id), body)


@router.post("/stakeholders/{stakeholder_id}/departure", response_model=CommandAccepted)
def record_departure(
    stakeholder_id: UUID, body: Body[RecordDeparture], send: Send
) -> CommandAccepted:
    """Records that the stakeholder left the customer, with their successor if known."""
    return send(body.to_command(stakeholder_id=stakeholder_id), body)


@router.post("/stakeholders/{stakeholder_id}/erasure", response_model=CommandAccepted)
def erase_personal_data(
    stakeholder_id: UUID, body: Body[ErasePersonalData], send: Send
) -> CommandAccepted:
    """Erases the stakeholder's personal data (reason required); the history keeps its shape."""
    return send(body.to_command(stakeholder_id=stakeholder_id), body)
