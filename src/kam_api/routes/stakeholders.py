"""Stakeholders: identify, read, and every relationship command."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kam_api.command_routes import CommandRoutes
from kam_api.deps import AsOf, Kam, LogReader, MinPosition, StoreReader, Views
from kam_api.personal_data import personal_data_report
from kam_api.presenters import present, stakeholder_public
from kam_api.schemas.common import PagePublic
from kam_api.schemas.personal_data import PersonalDataReport
from kam_api.schemas.stakeholders import StakeholderPublic
from kam_domain import commands as cmd
from kam_domain.relationships import Relationship
from kam_projections.owners import owned_by
from kam_projections.pagination import decode_cursor, encode_cursor, uuid_text

router = APIRouter(tags=["stakeholders"])


def _after(cursor: str | None) -> UUID | None:
    if cursor is None:
        return None
    return UUID(decode_cursor(cursor, uuid_text)[0])


commands = CommandRoutes(router)
commands.post(
    "/accounts/{account_id}/stakeholders",
    cmd.IdentifyStakeholder,
    "Identifies a stakeholder at the account; ``Location`` names the new relationship.",
    status_code=201,
    location="/stakeholders/{id}",
)


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
    return present(kam, Relationship, stakeholder_id, as_of, response, stakeholder_public)


@router.get("/stakeholders/{stakeholder_id}/personal-data", response_model=PersonalDataReport)
def get_personal_data(
    stakeholder_id: UUID, user: LogReader, kam: Kam, views: Views, _wait: MinPosition
) -> PersonalDataReport:
    """Everything held about the person (subject-access request): directors, auditors, admins."""
    return personal_data_report(kam, views, stakeholder_id)


commands.post(
    "/stakeholders/{stakeholder_id}/disposition",
    cmd.ChangeDisposition,
    "Records a new disposition: supporter, neutral or detractor (reason required).",
)
commands.post(
    "/stakeholders/{stakeholder_id}/role",
    cmd.ChangeRole,
    "Changes the stakeholder's buying role and influence.",
)
commands.post(
    "/stakeholders/{stakeholder_id}/owner",
    cmd.AssignRelationshipOwner,
    "Names who on our side owns the relationship with this person.",
)
commands.post(
    "/stakeholders/{stakeholder_id}/title",
    cmd.CorrectTitle,
    "Corrects the stakeholder's title (reason required); personal data, gone after erasure.",
)
commands.post(
    "/stakeholders/{stakeholder_id}/contact-details",
    cmd.CorrectContactDetails,
    "Corrects the stakeholder's email and phone, both replaced (reason required); personal "
    "data, gone after erasure.",
)
commands.post(
    "/stakeholders/{stakeholder_id}/reports-to",
    cmd.CorrectReportsTo,
    "Corrects whom the stakeholder reports to: a stakeholder of the same account, no cycle "
    "(reason required).",
)
commands.post(
    "/stakeholders/{stakeholder_id}/interactions",
    cmd.LogInteraction,
    "Logs a meeting, call, email, QBR or event; ``entity_id`` is the interaction's id.",
    status_code=201,
)
commands.post(
    "/stakeholders/{stakeholder_id}/commitments",
    cmd.MakeCommitment,
    "Records a promise made to the stakeholder; ``entity_id`` is the commitment's id.",
    status_code=201,
)
commands.post(
    "/stakeholders/{stakeholder_id}/commitments/{commitment_id}/fulfilment",
    cmd.FulfilCommitment,
    "Marks a commitment to the stakeholder as kept (also after they left).",
)
commands.post(
    "/stakeholders/{stakeholder_id}/departure",
    cmd.RecordDeparture,
    "Records that the stakeholder left the customer, with their successor if known.",
)
commands.post(
    "/stakeholders/{stakeholder_id}/erasure",
    cmd.ErasePersonalData,
    "Erases the stakeholder's personal data (reason required); the history keeps its shape.",
)
