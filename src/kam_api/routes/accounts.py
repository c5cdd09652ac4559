"""Key accounts: register, read, and every account command."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from kam_api.deps import (
    AppSettings,
    AsOf,
    CurrentUser,
    Director,
    IfMatch,
    Kam,
    MinPosition,
    StoreReader,
    Views,
    Writer,
    authorize_account,
    envelope,
)
from kam_api.presenters import account_public, etag
from kam_api.schemas.accounts import (
    AccountPublic,
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
    ScoreCriteria,
    SetFocus,
)
from kam_api.schemas.common import CommandAccepted, accepted, json_response
from kam_api.schemas.reads import PortfolioPage, portfolio_page
from kam_api.schemas.report import HandoverAccepted
from kam_domain.key_accounts import KeyAccount
from kam_domain.values import FocusWeights, SelectionCriteria
from kam_projections.handover import AccountView, open_work
from kam_projections.portfolio import PortfolioFilter, portfolio_rows
from kam_projections.projector import wait_for_position

router = APIRouter(prefix="/accounts", tags=["accounts"])
ACCEPTED = {"model": CommandAccepted}


@router.post("", status_code=201, response_model=CommandAccepted)
def register_account(
    body: RegisterAccount, user: Director, kam: Kam, request: Request, response: Response
) -> CommandAccepted:
    """Registers a key account (directors and admins)."""
    result = kam.register_account(
        name=body.name,
        industry=body.industry,
        region=body.region,
        service_profile=body.service_profile,
        meta=envelope(user, request, body),
    )
    response.headers["Location"] = f"/accounts/{result.id}"
    etag(response, result.version)
    return accepted(result)


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


def _command(
    kam: Kam, user: Writer, account_id: UUID, response: Response, run: Any
) -> CommandAccepted:
    authorize_account(kam, user, account_id)
    result = run()
    etag(response, result.version)
    return accepted(result)


@router.post("/{account_id}/classification", response_model=CommandAccepted)
def classify_account(
    account_id: UUID,
    body: ClassifyAccount,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Sets the tier and kind (beyond the tier's cap only with a reason)."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.classify_account(
            account_id,
            tier=body.tier,
            kind=body.kind,
            rationale=body.rationale,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/criteria", response_model=CommandAccepted)
def score_criteria(
    account_id: UUID,
    body: ScoreCriteria,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Scores the eight selection criteria (sets attractiveness)."""
    criteria = SelectionCriteria(
        body.current_revenue,
        body.growth_potential,
        body.renewal_likelihood,
        body.win_now_grow_later,
        body.relative_effort,
        body.relationship_strength,
        body.fit,
        body.logo_attractiveness,
    )
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.score_criteria(
            account_id,
            criteria=criteria,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/manager", response_model=CommandAccepted)
def assign_manager(
    account_id: UUID,
    body: AssignManager,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Assigns the key account manager (replacing one needs a reason)."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.assign_manager(
            account_id,
            manager=body.manager,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/handover", response_model=HandoverAccepted)
def hand_over(
    account_id: UUID,
    body: HandOver,
    user: Writer,
    kam: Kam,
    views: Views,
    settings: AppSettings,
    request: Request,
    response: Response,
    version: IfMatch,
) -> HandoverAccepted:
    """Hands the account over to a new manager, keeping the team (reason required). Answers
    with the outgoing manager's open actions and commitments, to reassign or pass on."""
    accepted_ = _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.hand_over(
            account_id,
            to=body.to,
            effective_on=body.effective_on,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )
    # The account's plans and stakeholders are found through the read models: let them see
    # everything up to the handover (bounded, like min_position), then list what is open.
    # The command just cached the account it saved: read that, not the store again.
    pending = kam.load(KeyAccount, account_id, fresh=False, copy=False).pending_handover
    outgoing = pending.from_manager if pending is not None else None
    wait_for_position(views, accepted_.position, settings.read_wait_seconds)
    view = AccountView(kam, views, account_id)
    work = open_work(view, outgoing, date.today())
    return HandoverAccepted(
        **accepted_.model_dump(),
        outgoing_manager=outgoing,
        open_actions=[a for a in work.actions if a.reassign],
        open_commitments=[c for c in work.commitments if c.reassign],
        listed_at_position=view.position,
    )


@router.post("/{account_id}/handover/acknowledge", response_model=CommandAccepted)
def acknowledge_handover(
    account_id: UUID,
    body: AcknowledgeHandover,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """The incoming manager acknowledges the handover."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.acknowledge_handover(
            account_id,
            notes=body.notes,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/team", response_model=CommandAccepted)
def add_team_member(
    account_id: UUID,
    body: AddTeamMember,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Adds a person to the account team with their KAM roles."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.add_team_member(
            account_id,
            member=body.member,
            roles=list(body.roles),
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.delete("/{account_id}/team/{member}", response_model=CommandAccepted)
def remove_team_member(
    account_id: UUID,
    member: str,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Removes a person from the account team."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.remove_team_member(
            account_id, member=member, meta=envelope(user, request), expected_version=version
        ),
    )


@router.post("/{account_id}/focus", response_model=CommandAccepted)
def set_focus(
    account_id: UUID,
    body: SetFocus,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Sets the split between penetration, expansion and protection."""
    focus = FocusWeights(body.penetration, body.expansion, body.protection)
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.set_focus(
            account_id, focus=focus, meta=envelope(user, request, body), expected_version=version
        ),
    )


@router.post("/{account_id}/stage", response_model=CommandAccepted)
def advance_stage(
    account_id: UUID,
    body: AdvanceStage,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Moves the account to the next stage of the KAM cycle."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.advance_stage(
            account_id, to=body.to, meta=envelope(user, request, body), expected_version=version
        ),
    )


@router.post("/{account_id}/financials", response_model=CommandAccepted)
def record_financials(
    account_id: UUID,
    body: RecordFinancials,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Records one period's revenue, gross margin and revenue target."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.record_financials(
            account_id,
            period=body.period,
            revenue=body.revenue,
            gross_margin=body.gross_margin,
            revenue_target=body.revenue_target,
            currency=body.currency,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/feedback", response_model=CommandAccepted)
def record_feedback(
    account_id: UUID,
    body: RecordFeedback,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Records an NPS and/or CSAT response."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.record_feedback(
            account_id,
            nps=body.nps,
            csat=body.csat,
            respondent_id=body.respondent_id,
            comment=body.comment,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/assessments", response_model=CommandAccepted)
def assess_relationship(
    account_id: UUID,
    body: AssessRelationship,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Records a formal relationship assessment."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.assess_relationship(
            account_id,
            engagement=body.engagement,
            trust=body.trust,
            satisfaction=body.satisfaction,
            partner_rating=body.partner_rating,
            notes=body.notes,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/competitors", response_model=CommandAccepted)
def note_competitor(
    account_id: UUID,
    body: NoteCompetitor,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Notes a competitor active at the account."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.note_competitor(
            account_id,
            name=body.name,
            threat=body.threat,
            notes=body.notes,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/risks", status_code=201, response_model=CommandAccepted)
def raise_risk(
    account_id: UUID,
    body: RaiseRisk,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Raises a risk; ``entity_id`` is the new risk's id."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.raise_risk(
            account_id,
            title=body.title,
            severity=body.severity,
            revenue_at_risk=body.revenue_at_risk,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/risks/{risk_id}/mitigation", response_model=CommandAccepted)
def mitigate_risk(
    account_id: UUID,
    risk_id: UUID,
    body: MitigateRisk,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Marks a risk as mitigated."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.mitigate_risk(
            account_id,
            risk_id=risk_id,
            mitigation=body.mitigation,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/reevaluations", response_model=CommandAccepted)
def reevaluate_account(
    account_id: UUID,
    body: ReevaluateAccount,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Records whether the account stays on the key list."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.reevaluate_account(
            account_id,
            decision=body.decision,
            rationale=body.rationale,
            meta=envelope(user, request, body),
            expected_version=version,
        ),
    )


@router.post("/{account_id}/exit", response_model=CommandAccepted)
def exit_account(
    account_id: UUID,
    body: ExitAccount,
    user: Writer,
    kam: Kam,
    request: Request,
    response: Response,
    version: IfMatch,
) -> CommandAccepted:
    """Takes the account off the key list (reason required); its history stays."""
    return _command(
        kam,
        user,
        account_id,
        response,
        lambda: kam.exit_account(
            account_id, meta=envelope(user, request, body), expected_version=version
        ),
    )
