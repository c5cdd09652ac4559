"""Key accounts: register, read, and every account command."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kam_api.deps import (
    AppSettings,
    AsOf,
    Create,
    CurrentUser,
    Director,
    Kam,
    MinPosition,
    Send,
    StoreReader,
    Views,
    etag,
)
from kam_api.presenters import account_public
from kam_api.schemas.accounts import AccountPublic
from kam_api.schemas.commands import Body
from kam_api.schemas.common import CommandAccepted, json_response
from kam_api.schemas.reads import PortfolioPage, portfolio_page
from kam_api.schemas.report import HandoverAccepted
from kam_domain.commands import (
    AcknowledgeHandover,
    AddTeamMember,
    AdvanceStage,
    AssessRelationship,
    AssignManager,
    ClassifyAccount,
    ExitAccount,
    HandOver,
    MitigateRisk,
    NoteCompetitor,
    RaiseRisk,
    RecordFeedback,
    RecordFinancials,
    ReevaluateAccount,
    RegisterAccount,
    RemoveTeamMember,
    ScoreCriteria,
    SetFocus,
)
from kam_domain.key_accounts import KeyAccount
from kam_projections.handover import AccountView, open_work
from kam_projections.portfolio import PortfolioFilter, portfolio_rows
from kam_projections.projector import wait_for_position

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.post("", status_code=201, response_model=CommandAccepted)
def register_account(
    body: Body[RegisterAccount], _director: Director, create: Create
) -> CommandAccepted:
    """Registers a key account (directors and admins)."""
    return create(body.to_command(), body, location="/accounts/{id}")


@router.get("", response_model=PortfolioPage)
def list_accounts(
    user: CurrentUser,
    views: Views,
    _wait: MinPosition,
    tier: str | None = None,
    manager: str | None = None,
    band: str | None = None,
    quadrant: str | None = None,
    sort: Annotated[str, Query(pattern="^(revenue|name|health|rank)$")] = "revenue",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Response:
    """Lists key accounts (from the portfolio read model), filtered, sorted and paged."""
    page = portfolio_rows(
        views,
        PortfolioFilter(tier=tier, manager=manager, band=band, quadrant=quadrant),
        today=date.today(),
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    return json_response(portfolio_page(page))


@router.get("/{account_id}", response_model=AccountPublic)
def get_account(
    account_id: UUID, user: StoreReader, kam: Kam, response: Response, as_of: AsOf = None
) -> AccountPublic:
    """The account now (ETag: its version), or as it was at ``as_of``."""
    if as_of is not None:
        return account_public(kam.get_as_of(KeyAccount, account_id, as_of))
    account = kam.get_account(account_id)
    etag(response, account.version)
    return account_public(account)


@router.post("/{account_id}/classification", response_model=CommandAccepted)
def classify_account(account_id: UUID, body: Body[ClassifyAccount], send: Send) -> CommandAccepted:
    """Sets the tier and kind (beyond the tier's cap only with a reason)."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/criteria", response_model=CommandAccepted)
def score_criteria(account_id: UUID, body: Body[ScoreCriteria], send: Send) -> CommandAccepted:
    """Scores the eight selection criteria (sets attractiveness)."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/manager", response_model=CommandAccepted)
def assign_manager(account_id: UUID, body: Body[AssignManager], send: Send) -> CommandAccepted:
    """Assigns the key account manager (replacing one needs a reason)."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/handover", response_model=HandoverAccepted)
def hand_over(
    account_id: UUID,
    body: Body[HandOver],
    send: Send,
    kam: Kam,
    views: Views,
    settings: AppSettings,
) -> HandoverAccepted:
    """Hands the account over to a new manager, keeping the team (reason required). Answers
    with the outgoing manager's open actions and commitments, to reassign or pass on."""
    accepted = send(body.to_command(account_id=account_id), body)
    # The account's plans and stakeholders are found through the read models: let them see
    # everything up to the handover (bounded, like min_position), then list what is open.
    # The command just cached the account it saved: read that, not the store again.
    pending = kam.load(KeyAccount, account_id, fresh=False, copy=False).pending_handover
    outgoing = pending.from_manager if pending is not None else None
    wait_for_position(views, accepted.position, settings.read_wait_seconds)
    view = AccountView(kam, views, account_id)
    work = open_work(view, outgoing, date.today())
    return HandoverAccepted(
        **accepted.model_dump(),
        outgoing_manager=outgoing,
        open_actions=[a for a in work.actions if a.reassign],
        open_commitments=[c for c in work.commitments if c.reassign],
        listed_at_position=view.position,
    )


@router.post("/{account_id}/handover/acknowledge", response_model=CommandAccepted)
def acknowledge_handover(
    account_id: UUID, body: Body[AcknowledgeHandover], send: Send
) -> CommandAccepted:
    """The incoming manager acknowledges the handover."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/team", response_model=CommandAccepted)
def add_team_member(account_id: UUID, body: Body[AddTeamMember], send: Send) -> CommandAccepted:
    """Adds a person to the account team with their KAM roles."""
    return send(body.to_command(account_id=account_id), body)


@router.delete("/{account_id}/team/{member}", response_model=CommandAccepted)
def remove_team_member(account_id: UUID, member: str, send: Send) -> CommandAccepted:
    """Removes a person from the account team."""
    return send(RemoveTeamMember(account_id=account_id, member=member))


@router.post("/{account_id}/focus", response_model=CommandAccepted)
def set_focus(account_id: UUID, body: Body[SetFocus], send: Send) -> CommandAccepted:
    """Sets the split between penetration, expansion and protection."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/stage", response_model=CommandAccepted)
def advance_stage(account_id: UUID, body: Body[AdvanceStage], send: Send) -> CommandAccepted:
    """Moves the account to the next stage of the KAM cycle."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/financials", response_model=CommandAccepted)
def record_financials(
    account_id: UUID, body: Body[RecordFinancials], send: Send
) -> CommandAccepted:
    """Records one period's revenue, gross margin and revenue target."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/feedback", response_model=CommandAccepted)
def record_feedback(account_id: UUID, body: Body[RecordFeedback], send: Send) -> CommandAccepted:
    """Records an NPS and/or CSAT response."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/assessments", response_model=CommandAccepted)
def assess_relationship(
    account_id: UUID, body: Body[AssessRelationship], send: Send
) -> CommandAccepted:
    """Records a formal relationship assessment."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/competitors", response_model=CommandAccepted)
def note_competitor(account_id: UUID, body: Body[NoteCompetitor], send: Send) -> CommandAccepted:
    """Notes a competitor active at the account."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/risks", status_code=201, response_model=CommandAccepted)
def raise_risk(account_id: UUID, body: Body[RaiseRisk], send: Send) -> CommandAccepted:
    """Raises a risk; ``entity_id`` is the new risk's id."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/risks/{risk_id}/mitigation", response_model=CommandAccepted)
def mitigate_risk(
    account_id: UUID, risk_id: UUID, body: Body[MitigateRisk], send: Send
) -> CommandAccepted:
    """Marks a risk as mitigated."""
    return send(body.to_command(account_id=account_id, risk_id=risk_id), body)


@router.post("/{account_id}/reevaluations", response_model=CommandAccepted)
def reevaluate_account(
    account_id: UUID, body: Body[ReevaluateAccount], send: Send
) -> CommandAccepted:
    """Records whether the account stays on the key list."""
    return send(body.to_command(account_id=account_id), body)


@router.post("/{account_id}/exit", response_model=CommandAccepted)
def exit_account(account_id: UUID, body: Body[ExitAccount], send: Send) -> CommandAccepted:
    """Takes the account off the key list (reason required); its history stays."""
    return send(body.to_command(account_id=account_id), body)
