"""Use cases of key accounts: registration, classification, ownership, team, health inputs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from kam_domain.app_core import CommandResult, KamApplicationBase, check_version
from kam_domain.base import KamAggregate
from kam_domain.errors import (
    AccountNameTakenError,
    ConflictError,
    InvalidValueError,
    NotFoundError,
)
from kam_domain.indexes import AccountName, TierRoster
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import (
    AccountKind,
    EngagementLevel,
    Envelope,
    FocusWeights,
    KamRole,
    ReevaluationDecision,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)


class AccountUseCases(KamApplicationBase):
    """One method per key-account use case."""

    def register_account(
        self,
        *,
        name: str,
        industry: str,
        region: str,
        service_profile: ServiceProfile,
        meta: Envelope,
    ) -> CommandResult:
        """Registers a key account under a name no other account has (case-insensitively)."""
        account = KeyAccount.register(
            name=name, industry=industry, region=region, service_profile=service_profile, meta=meta
        )
        index = AccountName(name=account.name, account_id=account.id, meta=meta)
        try:
            return self._save(account, index)
        except ConflictError:
            if self.exists(index.id):
                raise AccountNameTakenError(
                    f"an account named {account.name!r} already exists", name=account.name
                ) from None
            raise

    def get_account(self, account_id: UUID) -> KeyAccount:
        """The key account as stored now."""
        return self.get(KeyAccount, account_id)

    def find_account_by_name(self, name: str) -> UUID | None:
        """The id of the account holding this name (compared case-insensitively), if any."""
        try:
            index: AccountName = self.repository.get(AccountName.create_id(name))
        except AggregateNotFoundError:
            return None
        return index.account_id

    def classify_account(
        self,
        account_id: UUID,
        *,
        tier: Tier,
        kind: AccountKind,
        rationale: str,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Sets the tier and kind; beyond the tier's cap only with an override reason."""

        def attempt(fresh: bool) -> CommandResult:
            account = self.load(KeyAccount, account_id, fresh=fresh)
            check_version(account, expected_version)
            roster = self._roster(tier, meta, fresh=fresh)
            at_cap = roster.count_others(account.id) >= self.tier_caps.get(tier, 0)
            previous = account.tier
            account.classify(
                tier=tier, kind=kind, rationale=rationale, tier_at_cap=at_cap, meta=meta
            )
            roster.admit(account_id=account.id, meta=meta)
            changed: list[KamAggregate] = [roster]
            if previous is not None and previous != tier:
                old_roster = self._roster(previous, meta, fresh=fresh)
                old_roster.release(account_id=account.id, meta=meta)
                changed.append(old_roster)
            return self._save(account, *changed)

        return self.run(attempt)

    def _roster(self, tier: Tier, meta: Envelope, *, fresh: bool) -> TierRoster:
        roster_id = TierRoster.create_id(tier)
        try:
            return self.load(TierRoster, roster_id, fresh=fresh)
        except NotFoundError:
            return TierRoster(tier=tier, meta=meta)

    def tier_counts(self) -> dict[Tier, int]:
        """How many accounts each tier holds (from the rosters the cap rule uses)."""
        counts = {}
        for tier in Tier:
            try:
                counts[tier] = len(self.get(TierRoster, TierRoster.create_id(tier)).members)
            except NotFoundError:
                counts[tier] = 0
        return counts

    def _account_command(
        self,
        account_id: UUID,
        expected_version: int | None,
        command: Callable[[KeyAccount], UUID | None],
    ) -> CommandResult:
        return self.change(KeyAccount, account_id, expected_version, command)

    def score_criteria(
        self,
        account_id: UUID,
        *,
        criteria: SelectionCriteria,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Scores the eight selection criteria, which sets the account's attractiveness."""
        return self._account_command(
            account_id, expected_version, lambda a: a.score_criteria(criteria=criteria, meta=meta)
        )

    def assign_manager(
        self, account_id: UUID, *, manager: str, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Assigns the key account manager (replacing one needs a reason)."""
        return self._account_command(
            account_id, expected_version, lambda a: a.assign_manager(manager=manager, meta=meta)
        )

    def hand_over(
        self,
        account_id: UUID,
        *,
        to: str,
        effective_on: date,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Hands the account over to a new manager, keeping the team; pending until acknowledged."""
        return self._account_command(
            account_id,
            expected_version,
            lambda a: a.hand_over(to=to, effective_on=effective_on, meta=meta),
        )

    def acknowledge_handover(
        self,
        account_id: UUID,
        *,
        notes: str | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """The incoming manager acknowledges the handover."""
        return self._account_command(
            account_id, expected_version, lambda a: a.acknowledge_handover(notes=notes, meta=meta)
        )

    def add_team_member(
        self,
        account_id: UUID,
        *,
        member: str,
        roles: list[KamRole],
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Adds a person to the account team with one or more of the six KAM roles."""
        return self._account_command(
            account_id,
            expected_version,
            lambda a: a.add_team_member(member=member, roles=roles, meta=meta),
        )

    def remove_team_member(
        self, account_id: UUID, *, member: str, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Removes a person from the account team."""
        return self._account_command(
            account_id, expected_version, lambda a: a.remove_team_member(member=member, meta=meta)
        )

    def set_focus(
        self,
        account_id: UUID,
        *,
        focus: FocusWeights,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Sets the split between penetration, expansion and protection."""
        return self._account_command(
            account_id, expected_version, lambda a: a.set_focus(focus=focus, meta=meta)
        )

    def advance_stage(
        self, account_id: UUID, *, to: Stage, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Moves the account to the next stage of the KAM cycle."""
        return self._account_command(
            account_id, expected_version, lambda a: a.advance_stage(to=to, meta=meta)
        )

    def record_financials(
        self,
        account_id: UUID,
        *,
        period: str,
        revenue: Decimal,
        gross_margin: Decimal | None,
        revenue_target: Decimal | None,
        currency: str,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records one period's revenue, margin and target."""
        return self._account_command(
            account_id,
            expected_version,
            lambda a: a.record_financials(
                period=period,
                revenue=revenue,
                gross_margin=gross_margin,
                revenue_target=revenue_target,
                currency=currency,
                meta=meta,
            ),
        )

    def record_feedback(
        self,
        account_id: UUID,
        *,
        nps: int | None,
        csat: int | None,
        respondent_id: UUID | None,
        comment: str | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records an NPS and/or CSAT response, with the respondent if known."""
        if respondent_id is not None:
            respondent = self.get(Relationship, respondent_id)
            if respondent.account_id != account_id:
                raise InvalidValueError("respondent_id", "is a stakeholder of another account")
        return self._account_command(
            account_id,
            expected_version,
            lambda a: a.record_feedback(
                nps=nps, csat=csat, respondent_id=respondent_id, comment=comment, meta=meta
            ),
        )

    def assess_relationship(
        self,
        account_id: UUID,
        *,
        engagement: EngagementLevel,
        trust: int,
        satisfaction: int,
        partner_rating: int,
        notes: str | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records a formal relationship assessment (x-ray)."""
        return self._account_command(
            account_id,
            expected_version,
            lambda a: a.assess_relationship(
                engagement=engagement,
                trust=trust,
                satisfaction=satisfaction,
                partner_rating=partner_rating,
                notes=notes,
                meta=meta,
            ),
        )

    def note_competitor(
        self,
        account_id: UUID,
        *,
        name: str,
        threat: ThreatLevel,
        notes: str | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Notes a competitor active at the account and how threatening it is."""
        return self._account_command(
            account_id,
            expected_version,
            lambda a: a.note_competitor(name=name, threat=threat, notes=notes, meta=meta),
        )

    def raise_risk(
        self,
        account_id: UUID,
        *,
        title: str,
        severity: ThreatLevel,
        revenue_at_risk: Decimal | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Raises a risk to the account; the result's ``entity_id`` is the risk id."""
        return self._account_command(
            account_id,
            expected_version,
            lambda a: a.raise_risk(
                title=title, severity=severity, revenue_at_risk=revenue_at_risk, meta=meta
            ),
        )

    def mitigate_risk(
        self,
        account_id: UUID,
        *,
        risk_id: UUID,
        mitigation: str,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks a risk as mitigated."""
        return self._account_command(
            account_id,
            expected_version,
            lambda a: a.mitigate_risk(risk_id=risk_id, mitigation=mitigation, meta=meta),
        )

    def reevaluate_account(
        self,
        account_id: UUID,
        *,
        decision: ReevaluationDecision,
        rationale: str,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records whether the account stays on the key list."""
        return self._account_command(
            account_id,
            expected_version,
            lambda a: a.reevaluate(decision=decision, rationale=rationale, meta=meta),
        )

    def exit_account(
        self, account_id: UUID, *, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Takes the account off the key list; its history stays, it accepts no more changes."""

        def attempt(fresh: bool) -> CommandResult:
            account = self.load(KeyAccount, account_id, fresh=fresh)
            check_version(account, expected_version)
            previous_tier = account.tier
            account.exit(meta=meta)
            if previous_tier is None:
                return self._save(account)
            roster = self._roster(previous_tier, meta, fresh=fresh)
            roster.release(account_id=account.id, meta=meta)
            return self._save(account, roster)

        result = self.run(attempt)
        self.forget_liveness(account_id)
        return result
