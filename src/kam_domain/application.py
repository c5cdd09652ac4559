"""The application service: one method per use case, all three aggregates in one event store.

Every command returns a ``CommandResult``: the aggregate id, its new version and the
notification ``position`` of its last event (what a reader waits for to see the change).
A stale write raises ``ConflictError`` and writes nothing; ``expected_version`` (HTTP
``If-Match``) that no longer matches raises ``VersionMismatchError`` before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder
from eventsourcing.utils import EnvType, Environment

from kam_domain.account_plans import AccountPlan
from kam_domain.base import KamAggregate
from kam_domain.errors import (
    AccountExitedError,
    AccountNameTakenError,
    AccountNotFoundError,
    ConflictError,
    InvalidValueError,
    NotFoundError,
    PlanAlreadyExistsError,
    PlanNotFoundError,
    StakeholderNotFoundError,
)
from kam_domain.indexes import AccountName, TierRoster
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.transcodings import register_kam_transcodings
from kam_domain.values import (
    AccountKind,
    BuyingRole,
    Disposition,
    EngagementLevel,
    Envelope,
    FocusWeights,
    InteractionKind,
    KamRole,
    KpiStatus,
    OpportunityKind,
    PersonalData,
    ReevaluationDecision,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)

A = TypeVar("A", bound=KamAggregate)

DEFAULT_TIER_CAPS: Mapping[Tier, int] = {Tier.STRATEGIC: 10, Tier.KEY: 30, Tier.EMERGING: 60}


class VersionMismatchError(ConflictError):
    """The expected version (If-Match) is not the aggregate's current version."""


@dataclass(frozen=True)
class CommandResult:
    """What a command changed: which aggregate, its new version, and the log position."""

    id: UUID
    version: int
    position: int
    entity_id: UUID | None = None


class KamApplication(Application[UUID]):
    """Key accounts, account plans and stakeholder relationships in one ordered event log."""

    name = "KAM"
    is_snapshotting_enabled = True
    NOT_FOUND: ClassVar[dict[type[KamAggregate], type[NotFoundError]]] = {
        KeyAccount: AccountNotFoundError,
        AccountPlan: PlanNotFoundError,
        Relationship: StakeholderNotFoundError,
    }

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        tier_caps: Mapping[Tier, int] = DEFAULT_TIER_CAPS,
        snapshot_interval: int = 50,
    ) -> None:
        if snapshot_interval < 1:
            raise ValueError("snapshot_interval must be at least 1")
        self.tier_caps = dict(tier_caps)
        # Instance attribute on purpose: the interval is a setting, not a class constant.
        self.snapshotting_intervals = {  # type: ignore[misc]
            KeyAccount: snapshot_interval,
            AccountPlan: snapshot_interval,
            Relationship: snapshot_interval,
            TierRoster: snapshot_interval,
        }
        super().__init__(env)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only the given environment: settings are translated in one place (kam_api.settings),
        so stray ``KAM_*`` or ``POSTGRES_*`` process variables cannot re-point the store."""
        _env = {"IS_SNAPSHOTTING_ENABLED": "y", "PERSISTENCE_MODULE": "eventsourcing.popo"}
        _env.update(env or {})
        return Environment(name, _env)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_kam_transcodings(transcoder)

    def close(self) -> None:
        closer = getattr(self.recorder, "close", None)
        if callable(closer):
            closer()
        super().close()

    # --- Loading and saving -------------------------------------------------------------

    def get(self, cls: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        """The aggregate (as of ``version`` if given), or its typed not-found error."""
        try:
            aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise self.NOT_FOUND.get(cls, NotFoundError)(
                f"{cls.__name__} {aggregate_id} not found", id=str(aggregate_id)
            ) from None
        if not isinstance(aggregate, cls):
            raise self.NOT_FOUND.get(cls, NotFoundError)(
                f"{cls.__name__} {aggregate_id} not found", id=str(aggregate_id)
            )
        return aggregate

    def get_account(self, account_id: UUID) -> KeyAccount:
        return self.get(KeyAccount, account_id)

    def get_plan(self, plan_id: UUID) -> AccountPlan:
        return self.get(AccountPlan, plan_id)

    def get_stakeholder(self, stakeholder_id: UUID) -> Relationship:
        return self.get(Relationship, stakeholder_id)

    def _save(self, primary: KamAggregate, *others: KamAggregate) -> CommandResult:
        try:
            recordings = self.save(primary, *others)
        except IntegrityError:
            raise ConflictError(
                f"{type(primary).__name__} {primary.id} was changed by someone else; "
                "reload and try again",
                id=str(primary.id),
            ) from None
        position = max((r.notification.id for r in recordings), default=0)
        return CommandResult(id=primary.id, version=primary.version, position=position)

    def _change(
        self,
        cls: type[A],
        aggregate_id: UUID,
        expected_version: int | None,
        command: Callable[[A], UUID | None],
    ) -> CommandResult:
        aggregate = self.get(cls, aggregate_id)
        if expected_version is not None and expected_version != aggregate.version:
            raise VersionMismatchError(
                f"{cls.__name__} {aggregate_id} is at version {aggregate.version}, "
                f"not {expected_version}",
                current_version=aggregate.version,
            )
        entity_id = command(aggregate)
        result = self._save(aggregate)
        return CommandResult(result.id, result.version, result.position, entity_id)

    def _live_account(self, account_id: UUID) -> KeyAccount:
        account = self.get_account(account_id)
        if account.exited:
            raise AccountExitedError(f"account {account_id} has exited the programme")
        return account

    # --- KeyAccount -----------------------------------------------------------------------

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
            if self._exists(index.id):
                raise AccountNameTakenError(
                    f"an account named {account.name!r} already exists", name=account.name
                ) from None
            raise

    def find_account_by_name(self, name: str) -> UUID | None:
        """The id of the account holding this name (compared case-insensitively), if any."""
        try:
            index = self.repository.get(AccountName.create_id(name))
        except AggregateNotFoundError:
            return None
        assert isinstance(index, AccountName)
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
        account = self.get_account(account_id)
        if expected_version is not None and expected_version != account.version:
            raise VersionMismatchError(
                f"KeyAccount {account_id} is at version {account.version}, "
                f"not {expected_version}",
                current_version=account.version,
            )
        roster = self._roster(tier, meta)
        at_cap = roster.count_others(account.id) >= self.tier_caps.get(tier, 0)
        previous = account.tier
        account.classify(tier=tier, kind=kind, rationale=rationale, tier_at_cap=at_cap, meta=meta)
        roster.admit(account_id=account.id, meta=meta)
        changed: list[KamAggregate] = [roster]
        if previous is not None and previous != tier:
            old_roster = self._roster(previous, meta)
            old_roster.release(account_id=account.id, meta=meta)
            changed.append(old_roster)
        return self._save(account, *changed)

    def _roster(self, tier: Tier, meta: Envelope) -> TierRoster:
        try:
            roster = self.repository.get(TierRoster.create_id(tier))
        except AggregateNotFoundError:
            return TierRoster(tier=tier, meta=meta)
        assert isinstance(roster, TierRoster)
        return roster

    def tier_counts(self) -> dict[Tier, int]:
        """How many accounts each tier holds (from the rosters the cap rule uses)."""
        counts = {}
        for tier in Tier:
            try:
                roster = self.repository.get(TierRoster.create_id(tier))
            except AggregateNotFoundError:
                counts[tier] = 0
                continue
            assert isinstance(roster, TierRoster)
            counts[tier] = len(roster.members)
        return counts

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _account_command(
        self,
        account_id: UUID,
        expected_version: int | None,
        command: Callable[[KeyAccount], UUID | None],
    ) -> CommandResult:
        return self._change(KeyAccount, account_id, expected_version, command)

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
            respondent = self.get_stakeholder(respondent_id)
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
        account = self.get_account(account_id)
        if expected_version is not None and expected_version != account.version:
            raise VersionMismatchError(
                f"KeyAccount {account_id} is at version {account.version}",
                current_version=account.version,
            )
        previous_tier = account.tier
        account.exit(meta=meta)
        if previous_tier is None:
            return self._save(account)
        roster = self._roster(previous_tier, meta)
        roster.release(account_id=account.id, meta=meta)
        return self._save(account, roster)

    # --- AccountPlan ----------------------------------------------------------------------

    def draft_plan(
        self, account_id: UUID, *, period: str, title: str | None, meta: Envelope
    ) -> CommandResult:
        """Drafts the account's plan for a period (one plan per account per period)."""
        self._live_account(account_id)
        plan = AccountPlan.draft(account_id=account_id, period=period, title=title, meta=meta)
        try:
            return self._save(plan)
        except ConflictError:
            raise PlanAlreadyExistsError(
                f"account {account_id} already has a plan for {period!r}",
                plan_id=str(plan.id),
            ) from None

    def change_plan(
        self,
        plan_id: UUID,
        command: Callable[[AccountPlan], UUID | None],
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Applies one plan command (``lambda plan: plan.start_action(...)``) and saves it."""
        plan = self.get_plan(plan_id)
        self._live_account(plan.account_id)
        return self._change(AccountPlan, plan_id, expected_version, command)

    def state_direction(
        self, plan_id: UUID, *, direction: str, priorities: list[str], meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """States the plan's direction and priorities."""
        return self.change_plan(
            plan_id,
            lambda p: p.state_direction(direction=direction, priorities=priorities, meta=meta),
            expected_version=expected_version,
        )

    def share_plan(
        self, plan_id: UUID, *, agreed: bool, notes: str | None, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Records that the plan was shared with the customer, and whether they agreed."""
        return self.change_plan(
            plan_id, lambda p: p.share_with_customer(agreed=agreed, notes=notes, meta=meta), expected_version=expected_version
        )

    def set_objective(
        self,
        plan_id: UUID,
        *,
        statement: str,
        metric: str,
        baseline: Decimal,
        target: Decimal,
        due_on: date,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Sets a SMART objective; ``entity_id`` is the objective id."""
        return self.change_plan(
            plan_id,
            lambda p: p.set_objective(
                statement=statement, metric=metric, baseline=baseline, target=target,
                due_on=due_on, meta=meta,
            ),
            expected_version=expected_version,
        )

    def identify_opportunity(
        self,
        plan_id: UUID,
        *,
        kind: OpportunityKind,
        title: str,
        value: Decimal,
        probability: int,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Adds an opportunity to the plan's pipeline; ``entity_id`` is its id."""
        return self.change_plan(
            plan_id,
            lambda p: p.identify_opportunity(
                kind=kind, title=title, value=value, probability=probability, meta=meta
            ),
            expected_version=expected_version,
        )

    def add_action(
        self,
        plan_id: UUID,
        *,
        what: str,
        owner: str,
        due_on: date,
        stakeholder_ids: list[UUID],
        success_measure: str | None,
        objective_id: UUID | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Adds an action with an owner and a due date; ``entity_id`` is the action id."""
        plan = self.get_plan(plan_id)
        for stakeholder_id in stakeholder_ids:
            if self.get_stakeholder(stakeholder_id).account_id != plan.account_id:
                raise InvalidValueError("stakeholder_ids", "names a stakeholder of another account")
        return self.change_plan(
            plan_id,
            lambda p: p.add_action(
                what=what, owner=owner, due_on=due_on, stakeholder_ids=stakeholder_ids,
                success_measure=success_measure, objective_id=objective_id, meta=meta,
            ),
            expected_version=expected_version,
        )

    def review_plan(
        self, plan_id: UUID, *, notes: str, kpi_status: KpiStatus, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Records a plan review with its KPI status."""
        return self.change_plan(
            plan_id, lambda p: p.review(notes=notes, kpi_status=kpi_status, meta=meta), expected_version=expected_version
        )

    def record_progress(
        self, plan_id: UUID, *, objective_id: UUID, value: Decimal, note: str | None,
        meta: Envelope, expected_version: int | None = None,
    ) -> CommandResult:
        """Records progress towards an objective."""
        return self.change_plan(
            plan_id,
            lambda p: p.record_progress(objective_id=objective_id, value=value, note=note, meta=meta),
            expected_version=expected_version,
        )

    def achieve_objective(
        self, plan_id: UUID, *, objective_id: UUID, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks an objective as achieved."""
        return self.change_plan(
            plan_id, lambda p: p.achieve_objective(objective_id=objective_id, meta=meta),
            expected_version=expected_version,
        )

    def miss_objective(
        self, plan_id: UUID, *, objective_id: UUID, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks an objective as missed (with a reason)."""
        return self.change_plan(
            plan_id, lambda p: p.miss_objective(objective_id=objective_id, meta=meta),
            expected_version=expected_version,
        )

    def advance_opportunity(
        self, plan_id: UUID, *, opportunity_id: UUID, probability: int, note: str | None,
        meta: Envelope, expected_version: int | None = None,
    ) -> CommandResult:
        """Updates an opportunity's win probability as it progresses."""
        return self.change_plan(
            plan_id,
            lambda p: p.advance_opportunity(
                opportunity_id=opportunity_id, probability=probability, note=note, meta=meta
            ),
            expected_version=expected_version,
        )

    def win_opportunity(
        self, plan_id: UUID, *, opportunity_id: UUID, value: Decimal | None, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks an opportunity as won, with its final value if known."""
        return self.change_plan(
            plan_id,
            lambda p: p.win_opportunity(opportunity_id=opportunity_id, value=value, meta=meta),
            expected_version=expected_version,
        )

    def lose_opportunity(
        self, plan_id: UUID, *, opportunity_id: UUID, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks an opportunity as lost (with a reason)."""
        return self.change_plan(
            plan_id, lambda p: p.lose_opportunity(opportunity_id=opportunity_id, meta=meta),
            expected_version=expected_version,
        )

    def start_action(
        self, plan_id: UUID, *, action_id: UUID, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Starts a planned action."""
        return self.change_plan(
            plan_id, lambda p: p.start_action(action_id=action_id, meta=meta),
            expected_version=expected_version,
        )

    def complete_action(
        self, plan_id: UUID, *, action_id: UUID, outcome: str, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Completes an action with its outcome."""
        return self.change_plan(
            plan_id, lambda p: p.complete_action(action_id=action_id, outcome=outcome, meta=meta),
            expected_version=expected_version,
        )

    def block_action(
        self, plan_id: UUID, *, action_id: UUID, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks an action as blocked (with a reason)."""
        return self.change_plan(
            plan_id, lambda p: p.block_action(action_id=action_id, meta=meta),
            expected_version=expected_version,
        )

    def unblock_action(
        self, plan_id: UUID, *, action_id: UUID, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Unblocks an action, back to the status it was blocked from."""
        return self.change_plan(
            plan_id, lambda p: p.unblock_action(action_id=action_id, meta=meta),
            expected_version=expected_version,
        )

    def reschedule_action(
        self, plan_id: UUID, *, action_id: UUID, due_on: date, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Moves an action's due date (with a reason)."""
        return self.change_plan(
            plan_id, lambda p: p.reschedule_action(action_id=action_id, due_on=due_on, meta=meta),
            expected_version=expected_version,
        )

    def reassign_action(
        self, plan_id: UUID, *, action_id: UUID, owner: str, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Gives an action to a new owner."""
        return self.change_plan(
            plan_id, lambda p: p.reassign_action(action_id=action_id, owner=owner, meta=meta),
            expected_version=expected_version,
        )

    def cancel_action(
        self, plan_id: UUID, *, action_id: UUID, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Cancels an action (with a reason)."""
        return self.change_plan(
            plan_id, lambda p: p.cancel_action(action_id=action_id, meta=meta),
            expected_version=expected_version,
        )

    def answer_research_question(
        self, plan_id: UUID, *, question_id: str, answer: str, meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Answers a question of the research bank for this plan."""
        return self.change_plan(
            plan_id,
            lambda p: p.answer_research_question(question_id=question_id, answer=answer, meta=meta),
            expected_version=expected_version,
        )

    def close_plan(
        self, plan_id: UUID, *, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Closes the plan; it accepts no more changes."""
        return self.change_plan(
            plan_id, lambda p: p.close(meta=meta), expected_version=expected_version
        )

    # --- Relationship ---------------------------------------------------------------------

    def identify_stakeholder(
        self,
        account_id: UUID,
        *,
        personal: PersonalData,
        title: str | None,
        buying_role: BuyingRole,
        influence: int,
        reports_to: UUID | None,
        meta: Envelope,
    ) -> CommandResult:
        """Identifies a person at the customer we have (or want) a relationship with."""
        self._live_account(account_id)
        if reports_to is not None and self.get_stakeholder(reports_to).account_id != account_id:
            raise InvalidValueError("reports_to", "is a stakeholder of another account")
        relationship = Relationship.identify(
            account_id=account_id, personal=personal, title=title, buying_role=buying_role,
            influence=influence, reports_to=reports_to, meta=meta,
        )
        return self._save(relationship)

    def change_relationship(
        self,
        stakeholder_id: UUID,
        command: Callable[[Relationship], UUID | None],
        *,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Applies one relationship command and saves it."""
        relationship = self.get_stakeholder(stakeholder_id)
        self._live_account(relationship.account_id)
        return self._change(Relationship, stakeholder_id, expected_version, command)

    def change_disposition(
        self, stakeholder_id: UUID, *, disposition: Disposition, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Records that the stakeholder became a supporter, neutral or a detractor (with why)."""
        return self.change_relationship(
            stakeholder_id, lambda r: r.change_disposition(disposition=disposition, meta=meta),
            expected_version=expected_version,
        )

    def change_role(
        self,
        stakeholder_id: UUID,
        *,
        buying_role: BuyingRole,
        influence: int,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Changes the stakeholder's buying role and influence."""
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.change_role(buying_role=buying_role, influence=influence, meta=meta),
            expected_version=expected_version,
        )

    def assign_relationship_owner(
        self, stakeholder_id: UUID, *, owner: str, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Names who on our side owns the relationship with this person."""
        return self.change_relationship(
            stakeholder_id, lambda r: r.assign_owner(owner=owner, meta=meta), expected_version=expected_version
        )

    def log_interaction(
        self,
        stakeholder_id: UUID,
        *,
        kind: InteractionKind,
        on: date,
        summary: str,
        sentiment: int,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Logs a meeting, call, email, QBR or event; ``entity_id`` is the interaction id."""
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.log_interaction(
                kind=kind, on=on, summary=summary, sentiment=sentiment, meta=meta
            ),
            expected_version=expected_version,
        )

    def make_commitment(
        self,
        stakeholder_id: UUID,
        *,
        description: str,
        due_on: date | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records a promise made to the stakeholder; ``entity_id`` is the commitment id."""
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.make_commitment(description=description, due_on=due_on, meta=meta),
            expected_version=expected_version,
        )

    def fulfil_commitment(
        self,
        stakeholder_id: UUID,
        *,
        commitment_id: UUID,
        note: str | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Marks a commitment to the stakeholder as fulfilled."""
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.fulfil_commitment(commitment_id=commitment_id, note=note, meta=meta),
            expected_version=expected_version,
        )

    def record_departure(
        self,
        stakeholder_id: UUID,
        *,
        left_on: date,
        successor_id: UUID | None,
        meta: Envelope,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Records that the stakeholder left the customer, with their successor if known."""
        relationship = self.get_stakeholder(stakeholder_id)
        if successor_id is not None:
            successor = self.get_stakeholder(successor_id)
            if successor.account_id != relationship.account_id:
                raise InvalidValueError("successor_id", "is a stakeholder of another account")
        return self.change_relationship(
            stakeholder_id,
            lambda r: r.record_departure(left_on=left_on, successor_id=successor_id, meta=meta),
            expected_version=expected_version,
        )

    def erase_personal_data(
        self, stakeholder_id: UUID, *, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Erases the stakeholder's personal data (right to erasure); the history keeps its shape."""
        # Erasure is allowed even after the account exited: it is a legal duty, not account work.
        return self._change(
            Relationship,
            stakeholder_id,
            expected_version,
            lambda r: r.erase_personal_data(meta=meta),
        )
