"""Handlers of key-account commands: registration, classification, ownership, team, health
inputs. Cross-aggregate rules are kept by saving an index aggregate in the same transaction:
the account name (``AccountName``) and the tier caps (``TierRoster``)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from kam_domain import commands as cmd
from kam_domain.base import KamAggregate
from kam_domain.commands.base import CommandResult
from kam_domain.errors import AccountNameTakenError, ConflictError, InvalidValueError, NotFoundError
from kam_domain.handlers.table import handles, on_account
from kam_domain.indexes import AccountName, TierRoster
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import Envelope, ReevaluationDecision, Tier

if TYPE_CHECKING:
    from kam_domain.app_core import KamApplicationBase


@handles(cmd.RegisterAccount)
def register_account(
    app: KamApplicationBase, command: cmd.RegisterAccount, meta: Envelope, expected: int | None
) -> CommandResult:
    """Registers a key account under a name no other account has (case-insensitively)."""
    account = KeyAccount.register_account(
        name=command.name,
        industry=command.industry,
        region=command.region,
        service_profile=command.service_profile,
        meta=meta,
    )
    index = AccountName(name=account.name, account_id=account.id, meta=meta)
    try:
        return app.commit(account, index)
    except ConflictError:
        if app.exists(index.id):
            raise AccountNameTakenError(
                f"an account named {account.name!r} already exists", name=account.name
            ) from None
        raise


def roster(app: KamApplicationBase, tier: Tier, meta: Envelope, *, fresh: bool) -> TierRoster:
    """The tier's roster (new if no account was ever classified into it)."""
    roster_id = TierRoster.create_id(tier)
    try:
        return app.load(TierRoster, roster_id, fresh=fresh)
    except NotFoundError:
        return TierRoster(tier=tier, meta=meta)


@handles(cmd.ClassifyAccount)
def classify_account(
    app: KamApplicationBase, command: cmd.ClassifyAccount, meta: Envelope, expected: int | None
) -> CommandResult:
    """Sets the tier and kind; beyond the tier's cap only with an override reason."""

    def attempt(fresh: bool) -> CommandResult:
        account = app.load_expected(KeyAccount, command.account_id, expected, fresh=fresh)
        tier_roster = roster(app, command.tier, meta, fresh=fresh)
        at_cap = tier_roster.count_others(account.id) >= app.tier_caps.get(command.tier, 0)
        previous = account.tier
        account.classify(
            tier=command.tier,
            kind=command.kind,
            rationale=command.rationale,
            tier_at_cap=at_cap,
            meta=meta,
        )
        tier_roster.admit(account_id=account.id, meta=meta)
        changed: list[KamAggregate] = [tier_roster]
        if previous is not None and previous != command.tier:
            old_roster = roster(app, previous, meta, fresh=fresh)
            old_roster.release(account_id=account.id, meta=meta)
            changed.append(old_roster)
        return app.commit(account, *changed)

    return app.run(attempt, command.account_id)


@handles(cmd.ExitAccount)
def exit_account(
    app: KamApplicationBase, command: cmd.ExitAccount, meta: Envelope, expected: int | None
) -> CommandResult:
    """Takes the account off the key list; its history stays, it accepts no more changes."""

    def attempt(fresh: bool) -> CommandResult:
        account = app.load_expected(KeyAccount, command.account_id, expected, fresh=fresh)
        previous_tier = account.tier
        account.exit_account(meta=meta)
        if previous_tier is None:
            return app.commit(account)
        tier_roster = roster(app, previous_tier, meta, fresh=fresh)
        tier_roster.release(account_id=account.id, meta=meta)
        return app.commit(account, tier_roster)

    result = app.run(attempt, command.account_id)
    app.forget_liveness(command.account_id)
    return result


def _respondent_of_the_account(app: KamApplicationBase, command: cmd.RecordFeedback) -> None:
    if command.respondent_id is not None:
        respondent = app.get(Relationship, command.respondent_id)
        if respondent.account_id != command.account_id:
            raise InvalidValueError("respondent_id", "is a stakeholder of another account")


@on_account(cmd.RecordFeedback, check=_respondent_of_the_account)
def record_feedback(account: KeyAccount, command: cmd.RecordFeedback, meta: Envelope) -> None:
    """Records an NPS and/or CSAT response, with the respondent if known."""
    account.record_feedback(
        nps=command.nps,
        csat=command.csat,
        respondent_id=command.respondent_id,
        comment=command.comment,
        meta=meta,
    )


@on_account(cmd.ScoreCriteria)
def score_criteria(account: KeyAccount, command: cmd.ScoreCriteria, meta: Envelope) -> None:
    account.score_criteria(criteria=command.criteria, meta=meta)


@on_account(cmd.AssignManager)
def assign_manager(account: KeyAccount, command: cmd.AssignManager, meta: Envelope) -> None:
    account.assign_manager(manager=command.manager, meta=meta)


@on_account(cmd.HandOver)
def hand_over(account: KeyAccount, command: cmd.HandOver, meta: Envelope) -> None:
    account.hand_over(
        to=command.to,
        effective_on=command.effective_on,
        keep_on_team=command.keep_on_team,
        meta=meta,
    )


@on_account(cmd.AcknowledgeHandover)
def acknowledge_handover(
    account: KeyAccount, command: cmd.AcknowledgeHandover, meta: Envelope
) -> None:
    account.acknowledge_handover(notes=command.notes, meta=meta)


@on_account(cmd.CancelHandover)
def cancel_handover(account: KeyAccount, command: cmd.CancelHandover, meta: Envelope) -> None:
    account.cancel_handover(meta=meta)


@on_account(cmd.AddTeamMember)
def add_team_member(account: KeyAccount, command: cmd.AddTeamMember, meta: Envelope) -> None:
    account.add_team_member(member=command.member, roles=list(command.roles), meta=meta)


@on_account(cmd.RemoveTeamMember)
def remove_team_member(account: KeyAccount, command: cmd.RemoveTeamMember, meta: Envelope) -> None:
    account.remove_team_member(member=command.member, meta=meta)


@on_account(cmd.ChangeTeamRoles)
def change_team_roles(account: KeyAccount, command: cmd.ChangeTeamRoles, meta: Envelope) -> None:
    account.change_team_roles(member=command.member, roles=list(command.roles), meta=meta)


@on_account(cmd.SetFocus)
def set_focus(account: KeyAccount, command: cmd.SetFocus, meta: Envelope) -> None:
    account.set_focus(focus=command.focus, meta=meta)


@on_account(cmd.AdvanceStage)
def advance_stage(account: KeyAccount, command: cmd.AdvanceStage, meta: Envelope) -> None:
    account.advance_stage(to=command.to, meta=meta)


@on_account(cmd.RecordFinancials)
def record_financials(account: KeyAccount, command: cmd.RecordFinancials, meta: Envelope) -> None:
    account.record_financials(
        period=command.period,
        revenue=command.revenue,
        gross_margin=command.gross_margin,
        revenue_target=command.revenue_target,
        currency=command.currency,
        meta=meta,
    )


@on_account(cmd.AssessRelationship)
def assess_relationship(
    account: KeyAccount, command: cmd.AssessRelationship, meta: Envelope
) -> None:
    account.assess_relationship(
        engagement=command.engagement,
        trust=command.trust,
        satisfaction=command.satisfaction,
        partner_rating=command.partner_rating,
        notes=command.notes,
        meta=meta,
    )


@on_account(cmd.NoteCompetitor)
def note_competitor(account: KeyAccount, command: cmd.NoteCompetitor, meta: Envelope) -> None:
    account.note_competitor(
        name=command.name, threat=command.threat, notes=command.notes, meta=meta
    )


@on_account(cmd.RaiseRisk)
def raise_risk(account: KeyAccount, command: cmd.RaiseRisk, meta: Envelope) -> UUID:
    """The result's ``entity_id`` is the new risk's id."""
    return account.raise_risk(
        title=command.title,
        severity=command.severity,
        revenue_at_risk=command.revenue_at_risk,
        meta=meta,
    )


@on_account(cmd.MitigateRisk)
def mitigate_risk(account: KeyAccount, command: cmd.MitigateRisk, meta: Envelope) -> None:
    account.mitigate_risk(risk_id=command.risk_id, mitigation=command.mitigation, meta=meta)


@handles(cmd.ReevaluateAccount)
def reevaluate_account(
    app: KamApplicationBase, command: cmd.ReevaluateAccount, meta: Envelope, expected: int | None
) -> CommandResult:
    """Records the decision; a downgrade moves the account down a tier in the same
    transaction, keeping the tier caps like a classification."""

    def attempt(fresh: bool) -> CommandResult:
        account = app.load_expected(KeyAccount, command.account_id, expected, fresh=fresh)
        decision, rationale = command.decision, command.rationale
        if decision is not ReevaluationDecision.DOWNGRADE or account.exited:
            account.reevaluate_account(
                decision=decision, rationale=rationale, to_tier=command.to_tier, meta=meta
            )
            return app.commit(account)
        previous, tier = account.tier, account.downgrade_target(command.to_tier)
        new_roster = roster(app, tier, meta, fresh=fresh)
        at_cap = new_roster.count_others(account.id) >= app.tier_caps.get(tier, 0)
        account.reevaluate_account(
            decision=decision, rationale=rationale, to_tier=tier, tier_at_cap=at_cap, meta=meta
        )
        new_roster.admit(account_id=account.id, meta=meta)
        changed: list[KamAggregate] = [new_roster]
        if previous is not None:
            old_roster = roster(app, previous, meta, fresh=fresh)
            old_roster.release(account_id=account.id, meta=meta)
            changed.append(old_roster)
        return app.commit(account, *changed)

    return app.run(attempt, command.account_id)


@on_account(cmd.ChangeServiceProfile)
def change_service_profile(
    account: KeyAccount, command: cmd.ChangeServiceProfile, meta: Envelope
) -> None:
    account.change_service_profile(service_profile=command.service_profile, meta=meta)
