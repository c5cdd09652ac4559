"""Key accounts: register, read, and every account command."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kam_api.command_routes import CommandRoutes
from kam_api.deps import (
    AppSettings,
    AsOf,
    CurrentUser,
    Director,
    Kam,
    MinPosition,
    Send,
    StoreReader,
    Today,
    Views,
)
from kam_api.presenters import account_public, present
from kam_api.schemas.accounts import AccountKpisPublic, AccountPublic
from kam_api.schemas.commands import Body
from kam_api.schemas.common import json_response
from kam_api.schemas.reads import PortfolioPage, portfolio_page
from kam_api.schemas.report import HandoverAccepted
from kam_api.schemas.search import SearchText
from kam_domain import commands as cmd
from kam_domain.errors import AccountNotFoundError
from kam_domain.key_accounts import KeyAccount
from kam_projections.handover import work_left_by_handover
from kam_projections.portfolio_reads import PortfolioFilter, portfolio_row, portfolio_rows

router = APIRouter(prefix="/accounts", tags=["accounts"])


commands = CommandRoutes(router)
commands.post(
    "",
    cmd.RegisterAccount,
    "Registers a key account. Directors and admins only.",
    status_code=201,
    location="/accounts/{id}",
    role=Director,
)


@router.get("", response_model=PortfolioPage)
def list_accounts(
    user: CurrentUser,
    settings: AppSettings,
    today: Today,
    views: Views,
    _wait: MinPosition,
    tier: str | None = None,
    manager: str | None = None,
    band: str | None = None,
    quadrant: str | None = None,
    sort: Annotated[str, Query(pattern="^(revenue|name|health|rank)$")] = "revenue",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    q: SearchText = None,
) -> Response:
    """Lists key accounts (from the portfolio read model), filtered, sorted and paged; ``q``
    keeps those whose name contains it (case and accents ignored)."""
    page = portfolio_rows(
        views,
        PortfolioFilter(tier=tier, manager=manager, band=band, quadrant=quadrant, q=q),
        today=today,
        sort=sort,
        limit=limit,
        cursor=cursor,
        clv=settings.clv,
    )
    return json_response(portfolio_page(page))


@router.get("/{account_id}", response_model=AccountPublic)
def get_account(
    account_id: UUID,
    user: StoreReader,
    kam: Kam,
    response: Response,
    today: Today,
    as_of: AsOf = None,
) -> AccountPublic:
    """The account now (ETag: its version), or as it was at ``as_of``; whether its
    re-evaluation is overdue, as of today or of ``as_of``'s day (never, once exited)."""
    account = present(kam, KeyAccount, account_id, as_of, response, account_public)
    on = as_of.date() if as_of is not None else today
    overdue = not account.exited and account.reevaluation_due_on < on
    return account.model_copy(update={"reevaluation_overdue": overdue})


@router.get("/{account_id}/kpis", response_model=AccountKpisPublic)
def get_account_kpis(
    account_id: UUID,
    user: CurrentUser,
    views: Views,
    settings: AppSettings,
    today: Today,
    _wait: MinPosition,
) -> AccountKpisPublic:
    """The account's KPIs in the reporting currency (revenue, gross margin, lifetime value, won
    cross-sell and upsell) and latest NPS and CSAT, from the portfolio read model."""
    row = portfolio_row(views, account_id, today=today, clv=settings.clv)
    if row is None:
        raise AccountNotFoundError(f"KeyAccount {account_id} not found", id=str(account_id))
    return AccountKpisPublic.model_validate(
        {**row, "reporting_currency": settings.reporting_currency}
    )


commands.post(
    "/{account_id}/classification",
    cmd.ClassifyAccount,
    "Sets the tier and kind (beyond the tier's cap only with a reason). Directors and admins "
    "only: a manager may not classify, not even their own account.",
    role=Director,
)
commands.post(
    "/{account_id}/criteria",
    cmd.ScoreCriteria,
    "Scores the eight selection criteria (sets attractiveness). Directors and admins only: a "
    "manager may not score them, not even on their own account.",
    role=Director,
)
commands.post(
    "/{account_id}/manager",
    cmd.AssignManager,
    "Assigns the key account manager (replacing one needs a reason). Directors and admins only: "
    "a manager passes their own account on with a handover instead.",
    role=Director,
)


@router.post("/{account_id}/handover", response_model=HandoverAccepted)
def hand_over(
    account_id: UUID,
    body: Body[cmd.HandOver],
    send: Send,
    kam: Kam,
    views: Views,
    settings: AppSettings,
    today: Today,
) -> HandoverAccepted:
    """Hands the account over to a new manager (reason required); the outgoing manager leaves
    the team unless ``keep_on_team``. Answers with the outgoing manager's open actions,
    commitments and relationships, to reassign or pass on. Directors, admins and the account's
    manager or team members; the incoming manager acknowledges."""
    accepted = send(body.to_command(account_id=account_id), body)
    left = work_left_by_handover(
        kam,
        views,
        account_id,
        position=accepted.position,
        today=today,
        wait_seconds=settings.read_wait_seconds,
    )
    return HandoverAccepted(
        **accepted.model_dump(),
        outgoing_manager=left.outgoing_manager,
        open_actions=left.actions,
        open_commitments=left.commitments,
        relationships_to_reassign=left.relationships,
        listed_at_position=left.listed_at_position,
    )


commands.post(
    "/{account_id}/handover/acknowledge",
    cmd.AcknowledgeHandover,
    "The incoming manager acknowledges the handover (anyone else: 409 ``not-incoming-manager``).",
)
commands.post(
    "/{account_id}/handover/cancel",
    cmd.CancelHandover,
    "Cancels the handover waiting to be acknowledged (reason required): the outgoing manager "
    "manages the account again, and it can be handed over anew. Directors and admins only.",
    role=Director,
)
commands.post(
    "/{account_id}/team",
    cmd.AddTeamMember,
    "Adds a person to the account team with their KAM roles.",
)
commands.delete(
    "/{account_id}/team/{member}", cmd.RemoveTeamMember, "Removes a person from the account team."
)
commands.post(
    "/{account_id}/team/{member}/roles",
    cmd.ChangeTeamRoles,
    "Changes a team member's KAM roles in place (reason required).",
)
commands.post(
    "/{account_id}/focus",
    cmd.SetFocus,
    "Sets the split between penetration, expansion and protection.",
)
commands.post(
    "/{account_id}/stage", cmd.AdvanceStage, "Moves the account to the next stage of the KAM cycle."
)
commands.post(
    "/{account_id}/financials",
    cmd.RecordFinancials,
    "Records one period's revenue, gross margin and revenue target; the period is a year, "
    "quarter or month (YYYY, YYYY-Qn, YYYY-MM) and the currency an ISO 4217 code (else 422).",
)
commands.post("/{account_id}/feedback", cmd.RecordFeedback, "Records an NPS and/or CSAT response.")
commands.post(
    "/{account_id}/assessments", cmd.AssessRelationship, "Records a formal relationship assessment."
)
commands.post(
    "/{account_id}/competitors", cmd.NoteCompetitor, "Notes a competitor active at the account."
)
commands.post(
    "/{account_id}/risks",
    cmd.RaiseRisk,
    "Raises a risk; ``entity_id`` is the new risk's id.",
    status_code=201,
)
commands.post(
    "/{account_id}/risks/{risk_id}/mitigation", cmd.MitigateRisk, "Marks a risk as mitigated."
)
commands.post(
    "/{account_id}/reevaluations",
    cmd.ReevaluateAccount,
    "Records whether the account stays on the key list. ``downgrade`` moves it down a tier at "
    "once (``to_tier`` or the next tier down; into a tier at its cap only with a reason); "
    "``exit`` marks the exit decided until ``POST /accounts/{id}/exit`` carries it out. "
    "Directors and admins only: a manager may not re-evaluate, not even their own account.",
    role=Director,
)
commands.post(
    "/{account_id}/service-profile",
    cmd.ChangeServiceProfile,
    "Moves the account to another service profile (reason required), which sets its review, "
    "re-evaluation and contact cadences. Directors and admins only.",
    role=Director,
)
commands.post(
    "/{account_id}/exit",
    cmd.ExitAccount,
    "Takes the account off the key list (reason required); its history stays. Directors and "
    "admins only.",
    role=Director,
)
