"""The KeyAccount aggregate: a customer company managed as a key account."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.domain import event

from kam_domain.base import REPLAY_MARK, KamAggregate, require_name, require_range, require_text
from kam_domain.cadence import reevaluation_due_on
from kam_domain.errors import (
    AccountExitedError,
    HandoverPendingError,
    IllegalStageTransitionError,
    InvalidValueError,
    ManagerAlreadyAssignedError,
    NoLowerTierError,
    NoManagerError,
    NoPendingHandoverError,
    NotClassifiedError,
    NotIncomingManagerError,
    RiskAlreadyMitigatedError,
    RiskNotFoundError,
    ServiceProfileUnchangedError,
    TeamMemberAlreadyPresentError,
    TeamMemberNotFoundError,
    TeamRolesUnchangedError,
    TierCapExceededError,
)
from kam_domain.values import (
    AccountKind,
    EngagementLevel,
    Envelope,
    Financials,
    FocusWeights,
    KamRole,
    Period,
    ReevaluationDecision,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
    require_currency,
    transcodable,
)

T = TypeVar("T")


@transcodable
@dataclass(frozen=True)
class PendingHandover:
    """A handover the incoming manager has not acknowledged yet."""

    from_manager: str
    to_manager: str
    effective_on: date
    reason: str | None
    #: The outgoing manager's team roles when the handover took them off the team (so a
    #: cancellation puts them back); None when they stayed or were not on it.
    left_team: list[KamRole] | None = None


@transcodable
@dataclass(frozen=True)
class ManagerTenure:
    """One manager's stint on the account, since when it started (the handover's
    ``effective_on``; for an assignment its ``occurred_on``, else the day it was recorded)."""

    manager: str
    since: date
    reason: str | None


@transcodable
@dataclass(frozen=True)
class CustomerFeedback:
    """One NPS and/or CSAT response from the customer."""

    feedback_id: UUID
    nps: int | None
    csat: int | None
    respondent_id: UUID | None
    comment: str | None
    occurred_on: datetime  # when given (``kam_domain.dates.fact_time``)


@transcodable
@dataclass(frozen=True)
class RelationshipAssessment:
    """A formal x-ray of the relationship with the account."""

    engagement: EngagementLevel
    trust: int
    satisfaction: int
    partner_rating: int
    notes: str | None
    assessed_by: str
    occurred_on: datetime  # when made (``kam_domain.dates.fact_time``)


@transcodable
@dataclass(frozen=True)
class Competitor:
    """A competitor active at the account."""

    name: str
    threat: ThreatLevel
    notes: str | None


@transcodable
@dataclass(frozen=True)
class AccountRisk:
    """A risk to the account; open until mitigated."""

    risk_id: UUID
    title: str
    severity: ThreatLevel
    revenue_at_risk: Decimal | None
    mitigation: str | None = None

    @property
    def is_mitigated(self) -> bool:
        return self.mitigation is not None


@transcodable
@dataclass(frozen=True)
class AccountReevaluation:
    """The latest decision on whether the account stays in the programme."""

    decision: ReevaluationDecision
    rationale: str
    decided_by: str
    occurred_on: datetime  # when decided (``kam_domain.dates.fact_time``)


def _instance(field: str, value: Any, kind: type[T]) -> T:
    if not isinstance(value, kind):
        raise InvalidValueError(field, f"must be a {kind.__name__}")
    return value


def _optional_text(field: str, value: str | None, *, max_length: int = 2000) -> str | None:
    # Blank free text carries no information, so it is stored as absent.
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return require_text(field, value, max_length=max_length)


def _amount(field: str, value: Any, *, negative_ok: bool = False) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidValueError(field, "must be a finite decimal amount")
    if value < 0 and not negative_ok:
        raise InvalidValueError(field, "must not be negative")
    return value


class KeyAccount(KamAggregate):
    """A customer company managed as a key account.

    The state holds what the rules and the current-state view need, not the history:
    customer feedback and relationship assessments keep only the latest one and a count
    (every response and assessment stays in the event log and the read models).
    """

    #: Version 2 keeps the latest feedback and assessment with counts, not the full lists;
    #: version 3 keeps the day the account was registered, when the registration gave it;
    #: version 4 keeps the day of the latest re-evaluation; version 5 dates every fact it
    #: keeps (``kam_domain.dates.fact_time``), never None.
    class_version = 5

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Turns a version 1 snapshot's ``feedback`` and ``assessments`` lists into the
        latest item and a count."""
        feedback = state.pop("feedback", [])
        state["latest_feedback"] = feedback[-1] if feedback else None
        state["feedback_count"] = len(feedback)
        assessments = state.pop("assessments", [])
        state["latest_assessment"] = assessments[-1] if assessments else None
        state["assessment_count"] = len(assessments)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """A version 2 snapshot did not keep the registration day: unknown."""
        state.setdefault("registered_on", None)

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        """A version 3 snapshot did not keep the re-evaluation's day: the day its envelope
        gave, else unknown (the next one is then counted from the registration)."""
        latest = state.get("last_reevaluation")
        occurred = getattr(latest, "occurred_on", None)
        state.setdefault("reevaluated_on", occurred.date() if occurred else None)

    @staticmethod
    def upcast_v4_v5(state: dict[str, Any]) -> None:
        """A version 4 snapshot left a date None where the command gave none: the
        registration day is the created event's recorded day; any other missing date was the
        recorded time of an event the snapshot no longer holds, so the snapshot is marked to
        be replayed from the events (``app_core``)."""
        if state.get("registered_on") is None:
            state["registered_on"] = state["_created_on"].date()
        undated = any(t.since is None for t in state.get("manager_history", []))
        for name in ("latest_feedback", "latest_assessment", "last_reevaluation"):
            item = state.get(name)
            undated = undated or (item is not None and item.occurred_on is None)
        if undated:
            state[REPLAY_MARK] = True

    @classmethod
    def register_account(
        cls,
        *,
        name: str,
        industry: str,
        region: str,
        service_profile: ServiceProfile,
        meta: Envelope,
    ) -> KeyAccount:
        """Registers a new key account (name uniqueness is the application's job)."""
        return cls(
            name=require_name("name", name),
            industry=require_name("industry", industry),
            region=require_name("region", region),
            service_profile=_instance("service_profile", service_profile, ServiceProfile),
            meta=meta,
        )

    @event("Registered")
    def __init__(
        self,
        *,
        name: str,
        industry: str,
        region: str,
        service_profile: ServiceProfile,
        meta: Envelope,
    ) -> None:
        self.name = name
        self.industry = industry
        self.region = region
        self.service_profile = service_profile
        #: The day the account was registered in the world: the registration's
        #: ``occurred_on``, else the day it was recorded.
        self.registered_on: date = self.happened_at(meta).date()
        self.tier: Tier | None = None
        self.kind: AccountKind | None = None
        self.tier_rationale: str | None = None
        self.criteria: SelectionCriteria | None = None
        self.attractiveness: int | None = None
        self.manager: str | None = None
        self.pending_handover: PendingHandover | None = None
        self.manager_history: list[ManagerTenure] = []
        self.team: dict[str, list[KamRole]] = {}
        self.focus: FocusWeights | None = None
        self.stage = Stage.STRATEGY
        self.financials: dict[str, Financials] = {}
        self.latest_feedback: CustomerFeedback | None = None
        self.feedback_count = 0
        self.latest_assessment: RelationshipAssessment | None = None
        self.assessment_count = 0
        self.competitors: dict[str, Competitor] = {}
        self.risks: dict[str, AccountRisk] = {}
        self.last_reevaluation: AccountReevaluation | None = None
        #: The day of the latest re-evaluation (when it was recorded, if no day was given).
        self.reevaluated_on: date | None = None
        self.exited = False

    # --- Queries -------------------------------------------------------------------

    @property
    def is_pending_handover(self) -> bool:
        """True while a handover waits for the incoming manager's acknowledgement."""
        return self.pending_handover is not None

    def uncovered_roles(self) -> list[KamRole]:
        """The KAM roles nobody on the team holds, in the roles' order."""
        held = {role for roles in self.team.values() for role in roles}
        return [role for role in KamRole if role not in held]

    def open_risks(self) -> list[AccountRisk]:
        """The risks not yet mitigated, in the order they were raised."""
        return [risk for risk in self.risks.values() if not risk.is_mitigated]

    @property
    def exit_decided(self) -> bool:
        """True when the latest re-evaluation decided the exit and it has not happened yet."""
        latest = self.last_reevaluation
        return (
            not self.exited and latest is not None and latest.decision is ReevaluationDecision.EXIT
        )

    @property
    def reevaluation_due_on(self) -> date:
        """When the next re-evaluation falls due under the service profile's cadence."""
        return reevaluation_due_on(self.service_profile, self.reevaluated_on, self.registered_on)

    def _require_active(self) -> None:
        if self.exited:
            raise AccountExitedError("the account has exited; its history is read-only")

    # --- Classification -----------------------------------------------------------

    def classify(
        self, *, tier: Tier, kind: AccountKind, rationale: str, tier_at_cap: bool, meta: Envelope
    ) -> None:
        """Places the account in a tier; a tier already at its cap needs an override reason."""
        self._require_active()
        tier = _instance("tier", tier, Tier)
        kind = _instance("kind", kind, AccountKind)
        rationale = require_text("rationale", rationale)
        if tier_at_cap and not meta.has_reason:
            raise TierCapExceededError(f"tier {tier.value!r} is at its cap", tier=tier.value)
        override = meta.reason if tier_at_cap else None
        self._classified(
            tier=tier,
            kind=kind,
            rationale=rationale,
            previous_tier=self.tier,
            override_reason=override,
            meta=meta,
        )

    @event("Classified")
    def _classified(
        self,
        *,
        tier: Tier,
        kind: AccountKind,
        rationale: str,
        previous_tier: Tier | None,
        override_reason: str | None,
        meta: Envelope,
    ) -> None:
        self.tier, self.kind, self.tier_rationale = tier, kind, rationale

    def score_criteria(self, *, criteria: SelectionCriteria, meta: Envelope) -> None:
        """Scores the eight selection criteria, which sets the attractiveness score."""
        self._require_active()
        criteria = _instance("criteria", criteria, SelectionCriteria)
        self._criteria_scored(criteria=criteria, attractiveness=criteria.attractiveness, meta=meta)

    @event("CriteriaScored")
    def _criteria_scored(
        self, *, criteria: SelectionCriteria, attractiveness: int, meta: Envelope
    ) -> None:
        self.criteria, self.attractiveness = criteria, attractiveness

    # --- Manager and team ---------------------------------------------------------

    def assign_manager(self, *, manager: str, meta: Envelope) -> None:
        """Assigns the key account manager; replacing one needs a reason."""
        self._require_active()
        manager = require_name("manager", manager)
        if manager == self.manager:
            raise ManagerAlreadyAssignedError(f"{manager} already manages this account")
        if self.pending_handover is not None:
            raise HandoverPendingError(
                "a handover is waiting to be acknowledged (a director or admin may cancel it)"
            )
        if self.manager is not None:
            self.require_reason(meta, "replacing the manager")
        self._manager_assigned(previous_manager=self.manager, manager=manager, meta=meta)

    @event("ManagerAssigned")
    def _manager_assigned(
        self, *, previous_manager: str | None, manager: str, meta: Envelope
    ) -> None:
        self.manager = manager
        since = self.happened_at(meta).date()
        self.manager_history.append(ManagerTenure(manager, since, meta.reason))

    def hand_over(
        self, *, to: str, effective_on: date, meta: Envelope, keep_on_team: bool = False
    ) -> None:
        """Hands the account over to a new manager, who must then acknowledge it; the outgoing
        manager leaves the team unless ``keep_on_team``."""
        self._require_active()
        to = require_name("to", to)
        if not isinstance(effective_on, date) or isinstance(effective_on, datetime):
            raise InvalidValueError("effective_on", "must be a date")
        if effective_on < self.registered_on:
            raise InvalidValueError(
                "effective_on",
                f"{effective_on.isoformat()} is before the account was registered "
                f"({self.registered_on.isoformat()})",
            )
        if self.manager is None:
            raise NoManagerError("the account has no manager to hand over from")
        self.require_reason(meta, "a handover")
        if to == self.manager:
            raise ManagerAlreadyAssignedError(f"{to} already manages this account")
        if self.pending_handover is not None:
            raise HandoverPendingError(
                "a handover is waiting to be acknowledged (a director or admin may cancel it)"
            )
        if not isinstance(keep_on_team, bool):
            raise InvalidValueError("keep_on_team", "must be true or false")
        self._handed_over(
            from_manager=self.manager,
            to_manager=to,
            effective_on=effective_on,
            keep_on_team=keep_on_team,
            meta=meta,
        )

    class HandedOver(KamAggregate.Event):
        """A handover; version 1 had no ``keep_on_team``: the team stayed as it was."""

        class_version = 2

        from_manager: str
        to_manager: str
        effective_on: date
        keep_on_team: bool
        meta: Envelope

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["keep_on_team"] = True

    @event(HandedOver)
    def _handed_over(
        self,
        *,
        from_manager: str,
        to_manager: str,
        effective_on: date,
        keep_on_team: bool,
        meta: Envelope,
    ) -> None:
        # The outgoing manager leaves the team, unless kept on it on purpose.
        left = None if keep_on_team else self.team.pop(from_manager, None)
        self.manager = to_manager
        self.pending_handover = PendingHandover(
            from_manager, to_manager, effective_on, meta.reason, left
        )
        self.manager_history.append(ManagerTenure(to_manager, effective_on, meta.reason))

    def acknowledge_handover(self, *, notes: str | None, meta: Envelope) -> None:
        """The incoming manager confirms they have taken the account over."""
        self._require_active()
        notes = _optional_text("notes", notes)
        if self.pending_handover is None:
            raise NoPendingHandoverError("there is no handover to acknowledge")
        incoming = self.pending_handover.to_manager
        if meta.actor != incoming:
            raise NotIncomingManagerError(
                f"only the incoming manager, {incoming}, can acknowledge this handover, not "
                f"{meta.actor}; a director or admin can cancel it instead"
            )
        self._handover_acknowledged(
            manager=self.pending_handover.to_manager, notes=notes, meta=meta
        )

    @event("HandoverAcknowledged")
    def _handover_acknowledged(self, *, manager: str, notes: str | None, meta: Envelope) -> None:
        self.pending_handover = None

    def cancel_handover(self, *, meta: Envelope) -> None:
        """Cancels the handover waiting to be acknowledged: the outgoing manager manages the
        account again (a reason is required)."""
        self._require_active()
        if self.pending_handover is None:
            raise NoPendingHandoverError("there is no handover to cancel")
        self.require_reason(meta, "cancelling a handover")
        pending = self.pending_handover
        self._handover_cancelled(
            from_manager=pending.from_manager, to_manager=pending.to_manager, meta=meta
        )

    @event("HandoverCancelled")
    def _handover_cancelled(self, *, from_manager: str, to_manager: str, meta: Envelope) -> None:
        # The incoming manager never took over: their tenure, added by the handover, goes,
        # and the outgoing manager is back on the team if the handover took them off.
        left = self.pending_handover.left_team if self.pending_handover else None
        if left:
            self.team.setdefault(from_manager, list(left))
        self.manager = from_manager
        self.pending_handover = None
        if self.manager_history and self.manager_history[-1].manager == to_manager:
            self.manager_history.pop()

    def add_team_member(self, *, member: str, roles: list[KamRole], meta: Envelope) -> None:
        """Adds a person to the account team with one or more KAM roles."""
        self._require_active()
        member = require_name("member", member)
        if not isinstance(roles, list) or not roles:
            raise InvalidValueError("roles", "a team member needs at least one role")
        roles = [_instance("roles", role, KamRole) for role in roles]
        if len(set(roles)) != len(roles):
            raise InvalidValueError("roles", "roles must not repeat")
        if member in self.team:
            raise TeamMemberAlreadyPresentError(f"{member} is already on the team")
        self._team_member_added(member=member, roles=roles, meta=meta)

    @event("TeamMemberAdded")
    def _team_member_added(self, *, member: str, roles: list[KamRole], meta: Envelope) -> None:
        self.team[member] = list(roles)

    def remove_team_member(self, *, member: str, meta: Envelope) -> None:
        """Takes a person off the account team."""
        self._require_active()
        if not isinstance(member, str) or member.strip() not in self.team:
            raise TeamMemberNotFoundError(f"{member} is not on the team")
        self._team_member_removed(member=member.strip(), meta=meta)

    @event("TeamMemberRemoved")
    def _team_member_removed(self, *, member: str, meta: Envelope) -> None:
        del self.team[member]

    def change_team_roles(self, *, member: str, roles: list[KamRole], meta: Envelope) -> None:
        """Changes a team member's KAM roles in place; needs a reason."""
        self._require_active()
        if not isinstance(member, str) or member.strip() not in self.team:
            raise TeamMemberNotFoundError(f"{member} is not on the team")
        member = member.strip()
        if not isinstance(roles, list) or not roles:
            raise InvalidValueError("roles", "a team member needs at least one role")
        roles = [_instance("roles", role, KamRole) for role in roles]
        if len(set(roles)) != len(roles):
            raise InvalidValueError("roles", "roles must not repeat")
        if set(roles) == set(self.team[member]):
            raise TeamRolesUnchangedError(f"{member} already has these roles")
        self.require_reason(meta, "a change of team roles")
        self._team_roles_changed(
            member=member, previous_roles=list(self.team[member]), roles=roles, meta=meta
        )

    @event("TeamRolesChanged")
    def _team_roles_changed(
        self, *, member: str, previous_roles: list[KamRole], roles: list[KamRole], meta: Envelope
    ) -> None:
        self.team[member] = list(roles)

    # --- Cycle ----------------------------------------------------------------------

    def set_focus(self, *, focus: FocusWeights, meta: Envelope) -> None:
        """Sets how effort splits between penetration, expansion and protection."""
        self._require_active()
        focus = _instance("focus", focus, FocusWeights)
        self._focus_set(focus=focus, meta=meta)

    @event("FocusSet")
    def _focus_set(self, *, focus: FocusWeights, meta: Envelope) -> None:
        self.focus = focus

    def advance_stage(self, *, to: Stage, meta: Envelope) -> None:
        """Moves the account to the next stage of the KAM cycle (no skipping)."""
        self._require_active()
        if to is not self.stage.next:
            asked = to.value if isinstance(to, Stage) else to
            raise IllegalStageTransitionError(
                f"after {self.stage.value} comes {self.stage.next.value}, not {asked}"
            )
        self._stage_advanced(from_stage=self.stage, to_stage=to, meta=meta)

    @event("StageAdvanced")
    def _stage_advanced(self, *, from_stage: Stage, to_stage: Stage, meta: Envelope) -> None:
        self.stage = to_stage

    # --- Financials and customer voice --------------------------------------------

    class FinancialsRecorded(KamAggregate.Event):
        """A period's figures; version 1 had no revenue target."""

        class_version = 2

        period: str
        revenue: Decimal
        gross_margin: Decimal | None
        revenue_target: Decimal | None
        currency: str
        meta: Envelope

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["revenue_target"] = None

    def record_financials(
        self,
        *,
        period: str,
        revenue: Decimal,
        gross_margin: Decimal | None,
        revenue_target: Decimal | None,
        currency: str,
        meta: Envelope,
    ) -> None:
        """Records one period's figures (``period``: ``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``;
        ``currency``: ISO 4217); recording a period again replaces it."""
        self._require_active()
        period = str(Period.parse(period))
        revenue = _amount("revenue", revenue)
        if gross_margin is not None:
            gross_margin = _amount("gross_margin", gross_margin, negative_ok=True)
        if revenue_target is not None:
            revenue_target = _amount("revenue_target", revenue_target)
        currency = require_currency("currency", currency)
        self._financials_recorded(
            period=period,
            revenue=revenue,
            gross_margin=gross_margin,
            revenue_target=revenue_target,
            currency=currency,
            meta=meta,
        )

    @event(FinancialsRecorded)
    def _financials_recorded(
        self,
        *,
        period: str,
        revenue: Decimal,
        gross_margin: Decimal | None,
        revenue_target: Decimal | None,
        currency: str,
        meta: Envelope,
    ) -> None:
        self.financials[period] = Financials(
            period, revenue, gross_margin, revenue_target, currency
        )

    def record_feedback(
        self,
        *,
        nps: int | None,
        csat: int | None,
        respondent_id: UUID | None,
        comment: str | None,
        meta: Envelope,
    ) -> None:
        """Records a customer's NPS (0-10) and/or CSAT (1-5) response; the state keeps
        only the latest response and how many were recorded."""
        self._require_active()
        if nps is None and csat is None:
            raise InvalidValueError("feedback", "give an NPS or a CSAT score")
        if nps is not None:
            require_range("nps", nps, 0, 10)
        if csat is not None:
            require_range("csat", csat, 1, 5)
        if respondent_id is not None and not isinstance(respondent_id, UUID):
            raise InvalidValueError("respondent_id", "must be a stakeholder id")
        self._feedback_recorded(
            feedback_id=uuid4(),
            nps=nps,
            csat=csat,
            respondent_id=respondent_id,
            comment=_optional_text("comment", comment),
            meta=meta,
        )

    @event("FeedbackRecorded")
    def _feedback_recorded(
        self,
        *,
        feedback_id: UUID,
        nps: int | None,
        csat: int | None,
        respondent_id: UUID | None,
        comment: str | None,
        meta: Envelope,
    ) -> None:
        self.latest_feedback = CustomerFeedback(
            feedback_id, nps, csat, respondent_id, comment, self.happened_at(meta)
        )
        self.feedback_count += 1

    def assess_relationship(
        self,
        *,
        engagement: EngagementLevel,
        trust: int,
        satisfaction: int,
        partner_rating: int,
        notes: str | None,
        meta: Envelope,
    ) -> None:
        """Records a formal relationship assessment (the x-ray); the state keeps only the
        latest assessment and how many were recorded."""
        self._require_active()
        self._relationship_assessed(
            engagement=_instance("engagement", engagement, EngagementLevel),
            trust=require_range("trust", trust, 1, 5),
            satisfaction=require_range("satisfaction", satisfaction, 1, 5),
            partner_rating=require_range("partner_rating", partner_rating, 0, 10),
            notes=_optional_text("notes", notes),
            meta=meta,
        )

    @event("RelationshipAssessed")
    def _relationship_assessed(
        self,
        *,
        engagement: EngagementLevel,
        trust: int,
        satisfaction: int,
        partner_rating: int,
        notes: str | None,
        meta: Envelope,
    ) -> None:
        self.latest_assessment = RelationshipAssessment(
            engagement,
            trust,
            satisfaction,
            partner_rating,
            notes,
            meta.actor,
            self.happened_at(meta),
        )
        self.assessment_count += 1

    # --- Competitors and risks -------------------------------------------------------

    def note_competitor(
        self, *, name: str, threat: ThreatLevel, notes: str | None, meta: Envelope
    ) -> None:
        """Notes a competitor at the account; noting it again updates it."""
        self._require_active()
        self._competitor_noted(
            name=require_name("name", name),
            threat=_instance("threat", threat, ThreatLevel),
            notes=_optional_text("notes", notes),
            meta=meta,
        )

    @event("CompetitorNoted")
    def _competitor_noted(
        self, *, name: str, threat: ThreatLevel, notes: str | None, meta: Envelope
    ) -> None:
        self.competitors[name.casefold()] = Competitor(name, threat, notes)

    def raise_risk(
        self, *, title: str, severity: ThreatLevel, revenue_at_risk: Decimal | None, meta: Envelope
    ) -> UUID:
        """Raises a risk to the account and returns its id."""
        self._require_active()
        title = require_text("title", title, max_length=200)
        severity = _instance("severity", severity, ThreatLevel)
        if revenue_at_risk is not None:
            revenue_at_risk = _amount("revenue_at_risk", revenue_at_risk)
        risk_id = uuid4()
        self._risk_raised(
            risk_id=risk_id,
            title=title,
            severity=severity,
            revenue_at_risk=revenue_at_risk,
            meta=meta,
        )
        return risk_id

    @event("RiskRaised")
    def _risk_raised(
        self,
        *,
        risk_id: UUID,
        title: str,
        severity: ThreatLevel,
        revenue_at_risk: Decimal | None,
        meta: Envelope,
    ) -> None:
        self.risks[str(risk_id)] = AccountRisk(risk_id, title, severity, revenue_at_risk)

    def mitigate_risk(self, *, risk_id: UUID, mitigation: str, meta: Envelope) -> None:
        """Records how a risk was mitigated."""
        self._require_active()
        mitigation = require_text("mitigation", mitigation)
        risk = self.risks.get(str(risk_id))
        if risk is None:
            raise RiskNotFoundError(f"no risk {risk_id} on this account")
        if risk.is_mitigated:
            raise RiskAlreadyMitigatedError(f"risk {risk_id} is already mitigated")
        self._risk_mitigated(risk_id=risk.risk_id, mitigation=mitigation, meta=meta)

    @event("RiskMitigated")
    def _risk_mitigated(self, *, risk_id: UUID, mitigation: str, meta: Envelope) -> None:
        key = str(risk_id)
        self.risks[key] = dataclasses.replace(self.risks[key], mitigation=mitigation)

    # --- Re-evaluation and exit ------------------------------------------------------

    def downgrade_target(self, to_tier: Tier | None) -> Tier:
        """The tier a downgrade moves the account to: ``to_tier``, which must be below the
        current tier, or else the next tier down."""
        if self.tier is None:
            raise NotClassifiedError("an account without a tier cannot be downgraded")
        tiers = list(Tier)
        below = tiers[tiers.index(self.tier) + 1 :]
        if not below:
            raise NoLowerTierError(f"{self.tier.value!r} is the lowest tier; exit instead")
        if to_tier is None:
            return below[0]
        if _instance("to_tier", to_tier, Tier) not in below:
            raise InvalidValueError("to_tier", f"must be a tier below {self.tier.value!r}")
        return to_tier

    def reevaluate_account(
        self,
        *,
        decision: ReevaluationDecision,
        rationale: str,
        meta: Envelope,
        to_tier: Tier | None = None,
        tier_at_cap: bool = False,
    ) -> None:
        """Records whether the account stays, is downgraded or should exit. A downgrade moves
        the account down at once (to ``to_tier`` or the next tier down; into a tier at its
        cap only with an override reason); an exit decision leaves the account "exit decided"
        until ``exit_account`` carries it out, or a later re-evaluation withdraws it."""
        self._require_active()
        decision = _instance("decision", decision, ReevaluationDecision)
        rationale = require_text("rationale", rationale)
        if decision is not ReevaluationDecision.DOWNGRADE:
            if to_tier is not None:
                raise InvalidValueError("to_tier", "only a downgrade moves the account's tier")
            self._reevaluated(decision=decision, rationale=rationale, meta=meta)
            return
        tier = self.downgrade_target(to_tier)
        if tier_at_cap and not meta.has_reason:
            raise TierCapExceededError(f"tier {tier.value!r} is at its cap", tier=tier.value)
        kind, previous = self.kind, self.tier
        if kind is None:
            raise NotClassifiedError("an account without a kind cannot be downgraded")
        self._reevaluated(decision=decision, rationale=rationale, meta=meta)
        self._classified(
            tier=tier,
            kind=kind,
            rationale=rationale,
            previous_tier=previous,
            override_reason=meta.reason if tier_at_cap else None,
            meta=meta,
        )

    class Reevaluated(KamAggregate.Event):
        """A re-evaluation's decision; the account keeps the day it happened."""

        decision: ReevaluationDecision
        rationale: str
        meta: Envelope

    @event(Reevaluated)
    def _reevaluated(
        self, *, decision: ReevaluationDecision, rationale: str, meta: Envelope
    ) -> None:
        decided_at = self.happened_at(meta)
        self.last_reevaluation = AccountReevaluation(decision, rationale, meta.actor, decided_at)
        self.reevaluated_on = decided_at.date()

    def change_service_profile(self, *, service_profile: ServiceProfile, meta: Envelope) -> None:
        """Moves the account to another service profile (reason required); its review,
        re-evaluation and contact cadences follow the new profile from then on."""
        self._require_active()
        profile = _instance("service_profile", service_profile, ServiceProfile)
        self.require_reason(meta, "changing the service profile")
        if profile is self.service_profile:
            raise ServiceProfileUnchangedError(f"the account is already {profile.value!r}")
        self._service_profile_changed(
            previous_profile=self.service_profile, service_profile=profile, meta=meta
        )

    @event("ServiceProfileChanged")
    def _service_profile_changed(
        self, *, previous_profile: ServiceProfile, service_profile: ServiceProfile, meta: Envelope
    ) -> None:
        self.service_profile = service_profile

    def exit_account(self, *, meta: Envelope) -> None:
        """Takes the account out of the programme; its history is kept, read-only."""
        self._require_active()
        self.require_reason(meta, "exiting the programme")
        self._exited(meta=meta)

    @event("Exited")
    def _exited(self, *, meta: Envelope) -> None:
        self.exited = True
