"""Realistic, deterministic KAM histories for property tests of the read models.

A history is a list of ``Step``s: small frozen dataclasses, one per use-case call, that name
what they act on by symbolic index instead of by id ("account 0", "stakeholder 2", "action 1
of plan 0"), so hypothesis can shrink a history and a shrunk history still means something.
``apply_history`` runs the steps through ``KamApplication``, resolving each index to the id
created so far: a step naming something not created yet is skipped, and a step the domain
refuses (any ``KamError``) is counted as refused (refused commands write nothing).

Histories come from one builder that keeps a rough model of what exists, so most steps are
accepted and some are deliberately wrong (a missing reason, a stage skipped, a handover
acknowledged by the wrong person). The builder draws every choice from a ``Choices`` source:
``build_history(random.Random(seed), ...)`` gives a deterministic history for a seed, and
``histories(...)`` is the hypothesis strategy over the same builder.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar
from uuid import UUID

from hypothesis import strategies as st

from kam_domain import commands as cmd
from kam_domain.account_plans import ACTION_TRANSITIONS
from kam_domain.app_core import CommandResult
from kam_domain.application import KamApplication
from kam_domain.errors import KamError
from kam_domain.research import QUESTION_BANK
from kam_domain.values import (
    AccountKind,
    ActionStatus,
    BuyingRole,
    Disposition,
    EngagementLevel,
    Envelope,
    FocusWeights,
    InteractionKind,
    KamRole,
    KpiStatus,
    ObjectiveStatus,
    OpportunityKind,
    OpportunityStatus,
    PersonalData,
    ReevaluationDecision,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)

T = TypeVar("T")

ACTORS = ("ann", "bob", "eve", "dan")
FIRST_DAY = date(2025, 1, 1)
LAST_DAY = date(2027, 12, 31)
ACCOUNT_NAMES = (
    "Acme Industrial",
    "Globex",
    "Initech",
    "Umbrella Group",
    "Hooli",
    "Stark Logistics",
)
INDUSTRIES = ("Manufacturing", "Retail", "Logistics", "Healthcare", "Energy")
REGIONS = ("EMEA", "NA", "APAC", "LATAM")
PLAN_PERIODS = ("2025", "2026", "2027")
FINANCIAL_PERIODS = ("2025", "2026", "2027", "2026-Q1", "2026-Q2")
CURRENCIES = ("EUR", "USD", "GBP", "CHF")
TEAM_MEMBERS = ("bob", "cy", "dan", "eve", "fay")
# "GLOBEX" and "Globex" are the same competitor: noting it again updates it.
COMPETITORS = ("Globex", "Initrode", "Vandelay", "GLOBEX")
STAKEHOLDER_NAMES = ("Dana Smith", "Lee Park", "Ana Ruiz", "Tom Berg", "Mia Chen", "Raj Rao")
REASONS = (
    "agreed in the quarterly review",
    "customer asked for it",
    "budget moved to next year",
    "restructuring at the customer",
)
TEXTS = ("Renewal kick-off", "Roadmap walkthrough", "Pricing discussion", "Escalation follow-up")
QUESTION_IDS = tuple(QUESTION_BANK)


# --- Resolving symbolic references ----------------------------------------------------------


class MissingReferenceError(Exception):
    """A step names something the history has not created (yet): the step is skipped."""


def _pick(items: Sequence[UUID] | None, index: int) -> UUID:
    if items is None or not 0 <= index < len(items):
        raise MissingReferenceError(index)
    return items[index]


@dataclass
class References:
    """The ids a history has created so far, in creation order, and what steps need to know."""

    namespace: str = ""
    accounts: list[UUID] = field(default_factory=list)
    stakeholders: list[UUID] = field(default_factory=list)
    plans: list[UUID] = field(default_factory=list)
    risks: dict[UUID, list[UUID]] = field(default_factory=dict)
    objectives: dict[UUID, list[UUID]] = field(default_factory=dict)
    opportunities: dict[UUID, list[UUID]] = field(default_factory=dict)
    actions: dict[UUID, list[UUID]] = field(default_factory=dict)
    commitments: dict[UUID, list[UUID]] = field(default_factory=dict)
    incoming_manager: dict[UUID, str] = field(default_factory=dict)

    def account(self, index: int) -> UUID:
        return _pick(self.accounts, index)

    def stakeholder(self, index: int) -> UUID:
        return _pick(self.stakeholders, index)

    def optional_stakeholder(self, index: int | None) -> UUID | None:
        return None if index is None else self.stakeholder(index)

    def plan(self, index: int) -> UUID:
        return _pick(self.plans, index)

    def account_name(self, index: int) -> str:
        base = ACCOUNT_NAMES[index % len(ACCOUNT_NAMES)]
        if index >= len(ACCOUNT_NAMES):
            base = f"{base} {index // len(ACCOUNT_NAMES) + 1}"
        return f"{base} {self.namespace}".strip()

    @staticmethod
    def add(table: dict[UUID, list[UUID]], owner: UUID, entity_id: UUID | None) -> None:
        assert entity_id is not None, "the command should have returned the new entity's id"
        table.setdefault(owner, []).append(entity_id)


# --- Steps ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Step:
    """One use-case call; ``run`` resolves its references and calls the application."""

    meta: Envelope

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        raise NotImplementedError


# Key accounts


@dataclass(frozen=True, kw_only=True)
class RegisterAccount(Step):
    name: int  # index into ACCOUNT_NAMES; the same index twice is refused (name taken)
    industry: str
    region: str
    service_profile: ServiceProfile

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        result = app.handle(
            cmd.RegisterAccount(
                name=refs.account_name(self.name),
                industry=self.industry,
                region=self.region,
                service_profile=self.service_profile,
            ),
            meta=self.meta,
        )
        refs.accounts.append(result.id)
        return result


@dataclass(frozen=True, kw_only=True)
class ClassifyAccount(Step):
    account: int
    tier: Tier
    kind: AccountKind
    rationale: str

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.ClassifyAccount(
                account_id=refs.account(self.account),
                tier=self.tier,
                kind=self.kind,
                rationale=self.rationale,
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class ScoreCriteria(Step):
    account: int
    scores: tuple[int, ...]  # the eight selection criteria, 1 to 5 each

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        account_id = refs.account(self.account)
        return app.handle(
            cmd.ScoreCriteria.of(account_id, SelectionCriteria(*self.scores)), meta=self.meta
        )


@dataclass(frozen=True, kw_only=True)
class AssignManager(Step):
    account: int
    manager: str

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.AssignManager(account_id=refs.account(self.account), manager=self.manager),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class HandOver(Step):
    account: int
    to: str
    effective_on: date

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        account_id = refs.account(self.account)
        result = app.handle(
            cmd.HandOver(account_id=account_id, to=self.to, effective_on=self.effective_on),
            meta=self.meta,
        )
        refs.incoming_manager[account_id] = self.to
        return result


@dataclass(frozen=True, kw_only=True)
class AcknowledgeHandover(Step):
    account: int
    notes: str | None
    by_incoming: bool  # act as the incoming manager (otherwise ``meta.actor``, maybe refused)

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        account_id = refs.account(self.account)
        meta = self.meta
        incoming = refs.incoming_manager.get(account_id)
        if self.by_incoming and incoming is not None:
            meta = replace(meta, actor=incoming)
        result = app.handle(
            cmd.AcknowledgeHandover(account_id=account_id, notes=self.notes), meta=meta
        )
        refs.incoming_manager.pop(account_id, None)
        return result


@dataclass(frozen=True, kw_only=True)
class AddTeamMember(Step):
    account: int
    member: str
    roles: tuple[KamRole, ...]

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.AddTeamMember(
                account_id=refs.account(self.account), member=self.member, roles=list(self.roles)
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class RemoveTeamMember(Step):
    account: int
    member: str

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.RemoveTeamMember(account_id=refs.account(self.account), member=self.member),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class SetFocus(Step):
    account: int
    penetration: int
    expansion: int
    protection: int

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        account_id = refs.account(self.account)
        focus = FocusWeights(self.penetration, self.expansion, self.protection)
        return app.handle(cmd.SetFocus.of(account_id, focus), meta=self.meta)


@dataclass(frozen=True, kw_only=True)
class AdvanceStage(Step):
    account: int
    to: Stage

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.AdvanceStage(account_id=refs.account(self.account), to=self.to), meta=self.meta
        )


@dataclass(frozen=True, kw_only=True)
class RecordFinancials(Step):
    account: int
    period: str
    revenue: Decimal
    gross_margin: Decimal | None
    revenue_target: Decimal | None
    currency: str

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.RecordFinancials(
                account_id=refs.account(self.account),
                period=self.period,
                revenue=self.revenue,
                gross_margin=self.gross_margin,
                revenue_target=self.revenue_target,
                currency=self.currency,
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class RecordFeedback(Step):
    account: int
    nps: int | None
    csat: int | None
    respondent: int | None  # stakeholder index
    comment: str | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        account_id = refs.account(self.account)
        return app.handle(
            cmd.RecordFeedback(
                account_id=account_id,
                nps=self.nps,
                csat=self.csat,
                respondent_id=refs.optional_stakeholder(self.respondent),
                comment=self.comment,
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class AssessRelationship(Step):
    account: int
    engagement: EngagementLevel
    trust: int
    satisfaction: int
    partner_rating: int
    notes: str | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.AssessRelationship(
                account_id=refs.account(self.account),
                engagement=self.engagement,
                trust=self.trust,
                satisfaction=self.satisfaction,
                partner_rating=self.partner_rating,
                notes=self.notes,
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class NoteCompetitor(Step):
    account: int
    name: str
    threat: ThreatLevel
    notes: str | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.NoteCompetitor(
                account_id=refs.account(self.account),
                name=self.name,
                threat=self.threat,
                notes=self.notes,
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class RaiseRisk(Step):
    account: int
    title: str
    severity: ThreatLevel
    revenue_at_risk: Decimal | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        account_id = refs.account(self.account)
        result = app.handle(
            cmd.RaiseRisk(
                account_id=account_id,
                title=self.title,
                severity=self.severity,
                revenue_at_risk=self.revenue_at_risk,
            ),
            meta=self.meta,
        )
        refs.add(refs.risks, account_id, result.entity_id)
        return result


@dataclass(frozen=True, kw_only=True)
class MitigateRisk(Step):
    account: int
    risk: int  # index among the account's risks
    mitigation: str

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        account_id = refs.account(self.account)
        risk_id = _pick(refs.risks.get(account_id), self.risk)
        return app.handle(
            cmd.MitigateRisk(account_id=account_id, risk_id=risk_id, mitigation=self.mitigation),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class ReevaluateAccount(Step):
    account: int
    decision: ReevaluationDecision
    rationale: str

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.ReevaluateAccount(
                account_id=refs.account(self.account),
                decision=self.decision,
                rationale=self.rationale,
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class ExitAccount(Step):
    account: int

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(cmd.ExitAccount(account_id=refs.account(self.account)), meta=self.meta)


# Account plans


@dataclass(frozen=True, kw_only=True)
class DraftPlan(Step):
    account: int
    period: str
    title: str | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        account_id = refs.account(self.account)
        result = app.handle(
            cmd.DraftPlan(account_id=account_id, period=self.period, title=self.title),
            meta=self.meta,
        )
        refs.plans.append(result.id)
        return result


@dataclass(frozen=True, kw_only=True)
class StateDirection(Step):
    plan: int
    direction: str
    priorities: tuple[str, ...]

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.StateDirection(
                plan_id=refs.plan(self.plan),
                direction=self.direction,
                priorities=list(self.priorities),
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class SharePlan(Step):
    plan: int
    agreed: bool
    notes: str | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.SharePlan(plan_id=refs.plan(self.plan), agreed=self.agreed, notes=self.notes),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class SetObjective(Step):
    plan: int
    statement: str
    metric: str
    baseline: Decimal
    target: Decimal
    due_on: date

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id = refs.plan(self.plan)
        result = app.handle(
            cmd.SetObjective(
                plan_id=plan_id,
                statement=self.statement,
                metric=self.metric,
                baseline=self.baseline,
                target=self.target,
                due_on=self.due_on,
            ),
            meta=self.meta,
        )
        refs.add(refs.objectives, plan_id, result.entity_id)
        return result


@dataclass(frozen=True, kw_only=True)
class RecordProgress(Step):
    plan: int
    objective: int
    value: Decimal
    note: str | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id = refs.plan(self.plan)
        objective_id = _pick(refs.objectives.get(plan_id), self.objective)
        return app.handle(
            cmd.RecordProgress(
                plan_id=plan_id, objective_id=objective_id, value=self.value, note=self.note
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class AchieveObjective(Step):
    plan: int
    objective: int

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id = refs.plan(self.plan)
        objective_id = _pick(refs.objectives.get(plan_id), self.objective)
        return app.handle(
            cmd.AchieveObjective(plan_id=plan_id, objective_id=objective_id), meta=self.meta
        )


@dataclass(frozen=True, kw_only=True)
class MissObjective(Step):
    plan: int
    objective: int

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id = refs.plan(self.plan)
        objective_id = _pick(refs.objectives.get(plan_id), self.objective)
        return app.handle(
            cmd.MissObjective(plan_id=plan_id, objective_id=objective_id), meta=self.meta
        )


@dataclass(frozen=True, kw_only=True)
class IdentifyOpportunity(Step):
    plan: int
    kind: OpportunityKind
    title: str
    value: Decimal
    probability: int

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id = refs.plan(self.plan)
        result = app.handle(
            cmd.IdentifyOpportunity(
                plan_id=plan_id,
                kind=self.kind,
                title=self.title,
                value=self.value,
                probability=self.probability,
            ),
            meta=self.meta,
        )
        refs.add(refs.opportunities, plan_id, result.entity_id)
        return result


@dataclass(frozen=True, kw_only=True)
class AdvanceOpportunity(Step):
    plan: int
    opportunity: int
    probability: int
    note: str | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id = refs.plan(self.plan)
        opportunity_id = _pick(refs.opportunities.get(plan_id), self.opportunity)
        return app.handle(
            cmd.AdvanceOpportunity(
                plan_id=plan_id,
                opportunity_id=opportunity_id,
                probability=self.probability,
                note=self.note,
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class WinOpportunity(Step):
    plan: int
    opportunity: int
    value: Decimal | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id = refs.plan(self.plan)
        opportunity_id = _pick(refs.opportunities.get(plan_id), self.opportunity)
        return app.handle(
            cmd.WinOpportunity(plan_id=plan_id, opportunity_id=opportunity_id, value=self.value),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class LoseOpportunity(Step):
    plan: int
    opportunity: int

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id = refs.plan(self.plan)
        opportunity_id = _pick(refs.opportunities.get(plan_id), self.opportunity)
        return app.handle(
            cmd.LoseOpportunity(plan_id=plan_id, opportunity_id=opportunity_id), meta=self.meta
        )


@dataclass(frozen=True, kw_only=True)
class AddAction(Step):
    plan: int
    what: str
    owner: str
    due_on: date
    stakeholders: tuple[int, ...]  # stakeholder indexes
    success_measure: str | None
    objective: int | None  # index among the plan's objectives

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id = refs.plan(self.plan)
        stakeholder_ids = [refs.stakeholder(s) for s in self.stakeholders]
        objective_id = (
            None if self.objective is None else _pick(refs.objectives.get(plan_id), self.objective)
        )
        result = app.handle(
            cmd.AddAction(
                plan_id=plan_id,
                what=self.what,
                owner=self.owner,
                due_on=self.due_on,
                stakeholder_ids=stakeholder_ids,
                success_measure=self.success_measure,
                objective_id=objective_id,
            ),
            meta=self.meta,
        )
        refs.add(refs.actions, plan_id, result.entity_id)
        return result


@dataclass(frozen=True, kw_only=True)
class _ActionStep(Step):
    plan: int
    action: int  # index among the plan's actions

    def _ids(self, refs: References) -> tuple[UUID, UUID]:
        plan_id = refs.plan(self.plan)
        return plan_id, _pick(refs.actions.get(plan_id), self.action)


@dataclass(frozen=True, kw_only=True)
class StartAction(_ActionStep):
    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id, action_id = self._ids(refs)
        return app.handle(cmd.StartAction(plan_id=plan_id, action_id=action_id), meta=self.meta)


@dataclass(frozen=True, kw_only=True)
class CompleteAction(_ActionStep):
    outcome: str

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id, action_id = self._ids(refs)
        return app.handle(
            cmd.CompleteAction(plan_id=plan_id, action_id=action_id, outcome=self.outcome),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class BlockAction(_ActionStep):
    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id, action_id = self._ids(refs)
        return app.handle(cmd.BlockAction(plan_id=plan_id, action_id=action_id), meta=self.meta)


@dataclass(frozen=True, kw_only=True)
class UnblockAction(_ActionStep):
    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id, action_id = self._ids(refs)
        return app.handle(cmd.UnblockAction(plan_id=plan_id, action_id=action_id), meta=self.meta)


@dataclass(frozen=True, kw_only=True)
class RescheduleAction(_ActionStep):
    due_on: date

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id, action_id = self._ids(refs)
        return app.handle(
            cmd.RescheduleAction(plan_id=plan_id, action_id=action_id, due_on=self.due_on),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class ReassignAction(_ActionStep):
    owner: str

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id, action_id = self._ids(refs)
        return app.handle(
            cmd.ReassignAction(plan_id=plan_id, action_id=action_id, owner=self.owner),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class CancelAction(_ActionStep):
    def run(self, app: KamApplication, refs: References) -> CommandResult:
        plan_id, action_id = self._ids(refs)
        return app.handle(cmd.CancelAction(plan_id=plan_id, action_id=action_id), meta=self.meta)


@dataclass(frozen=True, kw_only=True)
class AnswerResearchQuestion(Step):
    plan: int
    question_id: str
    answer: str

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.AnswerResearchQuestion(
                plan_id=refs.plan(self.plan), question_id=self.question_id, answer=self.answer
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class ReviewPlan(Step):
    plan: int
    notes: str
    kpi_status: KpiStatus

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.ReviewPlan(
                plan_id=refs.plan(self.plan), notes=self.notes, kpi_status=self.kpi_status
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class ClosePlan(Step):
    plan: int

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(cmd.ClosePlan(plan_id=refs.plan(self.plan)), meta=self.meta)


# Stakeholder relationships


@dataclass(frozen=True, kw_only=True)
class IdentifyStakeholder(Step):
    account: int
    name: str
    email: str | None
    phone: str | None
    title: str | None
    buying_role: BuyingRole
    influence: int
    reports_to: int | None  # stakeholder index

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        account_id = refs.account(self.account)
        result = app.handle(
            cmd.IdentifyStakeholder.of(
                account_id,
                PersonalData(name=self.name, email=self.email, phone=self.phone),
                title=self.title,
                buying_role=self.buying_role,
                influence=self.influence,
                reports_to=refs.optional_stakeholder(self.reports_to),
            ),
            meta=self.meta,
        )
        refs.stakeholders.append(result.id)
        return result


@dataclass(frozen=True, kw_only=True)
class ChangeDisposition(Step):
    stakeholder: int
    disposition: Disposition

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.ChangeDisposition(
                stakeholder_id=refs.stakeholder(self.stakeholder), disposition=self.disposition
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class ChangeRole(Step):
    stakeholder: int
    buying_role: BuyingRole
    influence: int

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.ChangeRole(
                stakeholder_id=refs.stakeholder(self.stakeholder),
                buying_role=self.buying_role,
                influence=self.influence,
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class AssignRelationshipOwner(Step):
    stakeholder: int
    owner: str

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.AssignRelationshipOwner(
                stakeholder_id=refs.stakeholder(self.stakeholder), owner=self.owner
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class LogInteraction(Step):
    stakeholder: int
    kind: InteractionKind
    on: date
    summary: str
    sentiment: int

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.LogInteraction(
                stakeholder_id=refs.stakeholder(self.stakeholder),
                kind=self.kind,
                on=self.on,
                summary=self.summary,
                sentiment=self.sentiment,
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class MakeCommitment(Step):
    stakeholder: int
    description: str
    due_on: date | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        stakeholder_id = refs.stakeholder(self.stakeholder)
        result = app.handle(
            cmd.MakeCommitment(
                stakeholder_id=stakeholder_id, description=self.description, due_on=self.due_on
            ),
            meta=self.meta,
        )
        refs.add(refs.commitments, stakeholder_id, result.entity_id)
        return result


@dataclass(frozen=True, kw_only=True)
class FulfilCommitment(Step):
    stakeholder: int
    commitment: int  # index among the stakeholder's commitments
    note: str | None

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        stakeholder_id = refs.stakeholder(self.stakeholder)
        commitment_id = _pick(refs.commitments.get(stakeholder_id), self.commitment)
        return app.handle(
            cmd.FulfilCommitment(
                stakeholder_id=stakeholder_id, commitment_id=commitment_id, note=self.note
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class RecordDeparture(Step):
    stakeholder: int
    left_on: date
    successor: int | None  # stakeholder index

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.RecordDeparture(
                stakeholder_id=refs.stakeholder(self.stakeholder),
                left_on=self.left_on,
                successor_id=refs.optional_stakeholder(self.successor),
            ),
            meta=self.meta,
        )


@dataclass(frozen=True, kw_only=True)
class ErasePersonalData(Step):
    stakeholder: int

    def run(self, app: KamApplication, refs: References) -> CommandResult:
        return app.handle(
            cmd.ErasePersonalData(stakeholder_id=refs.stakeholder(self.stakeholder)), meta=self.meta
        )


# --- Applying a history --------------------------------------------------------------------

ACCEPTED = "accepted"
SKIPPED = "skipped"


@dataclass(frozen=True)
class HistoryResult:
    """What applying a history created and how each step fared.

    ``outcomes[i]`` is ``"accepted"``, ``"skipped"`` (a reference to something not created)
    or the class name of the ``KamError`` the domain refused step ``i`` with. ``position`` is
    the notification id of the last stored event (0 for an empty store).
    """

    account_ids: tuple[UUID, ...]
    stakeholder_ids: tuple[UUID, ...]
    plan_ids: tuple[UUID, ...]
    action_ids: dict[UUID, tuple[UUID, ...]]  # per plan id, in the order the actions were added
    accepted: int
    refused: int
    skipped: int
    position: int
    outcomes: tuple[str, ...]


def apply_history(
    app: KamApplication,
    steps: Sequence[Step],
    *,
    namespace: str | None = None,
    after_step: Callable[[Step, str], None] | None = None,
) -> HistoryResult:
    """Runs the steps through the application service, one use-case call each.

    Account names get ``namespace`` appended so several histories fit in one store; by
    default it is derived from the store's current position (empty for an empty store), so
    applying more histories to the same application never collides on names.
    ``after_step(step, outcome)`` is called after each step (e.g. to process a projection
    part-way through a history).
    """
    if namespace is None:
        start = app.recorder.max_notification_id() or 0
        namespace = f"#{start}" if start else ""
    refs = References(namespace=namespace)
    outcomes: list[str] = []
    for step in steps:
        try:
            step.run(app, refs)
        except MissingReferenceError:
            outcomes.append(SKIPPED)
        except KamError as refusal:
            outcomes.append(type(refusal).__name__)
        else:
            outcomes.append(ACCEPTED)
        if after_step is not None:
            after_step(step, outcomes[-1])
    accepted = outcomes.count(ACCEPTED)
    skipped = outcomes.count(SKIPPED)
    return HistoryResult(
        account_ids=tuple(refs.accounts),
        stakeholder_ids=tuple(refs.stakeholders),
        plan_ids=tuple(refs.plans),
        action_ids={plan_id: tuple(refs.actions.get(plan_id, ())) for plan_id in refs.plans},
        accepted=accepted,
        refused=len(outcomes) - accepted - skipped,
        skipped=skipped,
        position=app.recorder.max_notification_id() or 0,
        outcomes=tuple(outcomes),
    )


# --- Building histories --------------------------------------------------------------------


class Choices(Protocol):
    """Where the builder's choices come from (a seeded ``random.Random`` or hypothesis)."""

    def integer(self, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high`` inclusive; low values are the simple ones."""
        ...


class RandomChoices:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


class DrawnChoices:
    def __init__(self, draw: Callable[[st.SearchStrategy[int]], int]) -> None:
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))


@dataclass
class _ActionModel:
    status: ActionStatus
    owner: str
    due_on: date
    blocked_from: ActionStatus = ActionStatus.PLANNED


@dataclass
class _PlanModel:
    account: int
    closed: bool = False
    objectives: list[ObjectiveStatus] = field(default_factory=list)
    opportunities: list[OpportunityStatus] = field(default_factory=list)
    actions: list[_ActionModel] = field(default_factory=list)


@dataclass
class _StakeholderModel:
    account: int
    buying_role: BuyingRole
    influence: int
    disposition: Disposition = Disposition.NEUTRAL
    owner: str | None = None
    left: bool = False
    erased: bool = False
    commitments: list[bool] = field(default_factory=list)  # fulfilled?


@dataclass
class _AccountModel:
    name: int
    exited: bool = False
    manager: str | None = None
    incoming: str | None = None
    team: set[str] = field(default_factory=set)
    stage: Stage = Stage.STRATEGY
    risks: list[bool] = field(default_factory=list)  # mitigated?
    stakeholders: list[int] = field(default_factory=list)
    periods: set[str] = field(default_factory=set)


class _Builder:
    """Makes one step at a time from a rough model of what the history has created.

    The model assumes each step it makes is accepted, except the ones it makes wrong on
    purpose (about one in twelve); it is rough, so a few more steps are refused at apply time.
    """

    MISTAKE_PERCENT = 8

    def __init__(self, choose: Choices, n_accounts: int, n_steps: int) -> None:
        self.choose = choose
        self.n_accounts = max(1, n_accounts)
        self.n_steps = max(1, n_steps)
        self.made = 0
        self.accounts: list[_AccountModel] = []
        self.stakeholders: list[_StakeholderModel] = []
        self.plans: list[_PlanModel] = []

    # Choices

    def integer(self, low: int, high: int) -> int:
        return self.choose.integer(low, high)

    def chance(self, percent: int) -> bool:
        # Low draws mean "no": hypothesis shrinks towards plain, valid steps.
        return self.integer(0, 99) >= 100 - percent

    def pick(self, items: Sequence[T]) -> T:
        return items[self.integer(0, len(items) - 1)]

    def mistake(self) -> bool:
        return self.chance(self.MISTAKE_PERCENT)

    def day(self) -> date:
        return FIRST_DAY + timedelta(days=self.integer(0, (LAST_DAY - FIRST_DAY).days))

    def money(self, low: int, high: int) -> Decimal:
        return Decimal(self.integer(low, high) * 100 + self.pick((0, 0, 50, 99))) / 100

    def text(self, percent: int = 50) -> str | None:
        return self.pick(TEXTS) if self.chance(percent) else None

    def meta(self, *, needs_reason: bool = False, reason_percent: int = 20) -> Envelope:
        """An envelope; a reason when the command needs one, bar a deliberate mistake."""
        actor = self.pick(ACTORS)
        occurred_on = None
        if self.chance(50):
            hour = time(self.integer(7, 19), self.pick((0, 15, 30, 45)), tzinfo=UTC)
            occurred_on = datetime.combine(self.day(), hour)
        with_reason = self.chance(reason_percent) or (needs_reason and not self.mistake())
        return Envelope(
            actor=actor,
            occurred_on=occurred_on,
            reason=self.pick(REASONS) if with_reason else None,
            correlation_id=f"req-{self.made}" if self.chance(30) else None,
        )

    # Targets

    def live_accounts(self) -> list[int]:
        return [i for i, a in enumerate(self.accounts) if not a.exited]

    def open_plans(self) -> list[int]:
        return [
            i
            for i, p in enumerate(self.plans)
            if not p.closed and not self.accounts[p.account].exited
        ]

    def present_stakeholders(self) -> list[int]:
        return [
            i
            for i, s in enumerate(self.stakeholders)
            if not s.left and not self.accounts[s.account].exited
        ]

    def target(self, live: list[int], everything: int) -> int:
        """Mostly one of ``live``; now and then anything (an exited account, a closed plan)."""
        if everything and (not live or self.mistake()):
            return self.integer(0, everything - 1)
        return self.pick(live)

    # The next step

    def next_step(self) -> Step:
        candidates = self.candidates()
        roll = self.integer(0, sum(weight for weight, _ in candidates) - 1)
        for weight, make in candidates:
            if roll < weight:
                step = make()
                self.made += 1
                return step
            roll -= weight
        raise AssertionError("unreachable")

    def candidates(self) -> list[tuple[int, Callable[[], Step]]]:
        late = self.made >= self.n_steps // 2
        live = self.live_accounts()
        found: list[tuple[int, Callable[[], Step]]] = []
        if len(self.accounts) < self.n_accounts:
            found.append((40 if not live else 6, self.register))
        if not self.accounts:
            return found
        found += [
            (3, self.classify),
            (2, self.score_criteria),
            (3, self.assign_manager),
            (2, self.set_focus),
            (3, self.advance_stage),
            (3, self.record_financials),
            (3, self.record_feedback),
            (2, self.assess_relationship),
            (2, self.note_competitor),
            (2, self.raise_risk),
            (1, self.reevaluate),
            (4, self.identify_stakeholder),
            (4, self.draft_plan),
            (3, self.add_team_member),
        ]
        accounts = [self.accounts[i] for i in live]
        if any(a.manager and not a.incoming for a in accounts):
            found.append((3, self.hand_over))
        if any(a.incoming for a in accounts):
            found.append((6, self.acknowledge_handover))
        if any(a.team for a in accounts):
            found.append((1, self.remove_team_member))
        if any(not all(a.risks) for a in accounts):
            found.append((3, self.mitigate_risk))
        if late and (len(live) > 1 or self.made >= self.n_steps * 85 // 100):
            found.append((1, self.exit_account))
        plans = self.open_plans()
        if plans:
            found += [
                (2, self.state_direction),
                (1, self.share_plan),
                (3, self.set_objective),
                (3, self.identify_opportunity),
                (5, self.add_action),
                (2, self.answer_research_question),
                (2, self.review_plan),
            ]
            if late:
                found.append((1, self.close_plan))
            open_plans = [self.plans[i] for i in plans]
            if any(ObjectiveStatus.OPEN in p.objectives for p in open_plans):
                found.append((5, self.resolve_objective))
            if any(OpportunityStatus.OPEN in p.opportunities for p in open_plans):
                found.append((5, self.move_opportunity))
            if any(not a.status.is_terminal for p in open_plans for a in p.actions):
                found.append((14, self.move_action))
        present = self.present_stakeholders()
        if present:
            found += [
                (2, self.change_disposition),
                (2, self.change_role),
                (2, self.assign_relationship_owner),
                (4, self.log_interaction),
                (2, self.make_commitment),
                (1, self.record_departure),
            ]
        if self.unfulfilled():
            found.append((2, self.fulfil_commitment))
        if late and any(not s.erased for s in self.stakeholders):
            found.append((1, self.erase_personal_data))
        return found

    # Key accounts

    def register(self) -> Step:
        if self.accounts and self.mistake():
            name = self.pick(self.accounts).name  # taken: refused
        else:
            name = len(self.accounts)
            self.accounts.append(_AccountModel(name=name))
        return RegisterAccount(
            name=name,
            industry=self.pick(INDUSTRIES),
            region=self.pick(REGIONS),
            service_profile=self.pick(list(ServiceProfile)),
            meta=self.meta(),
        )

    def account_target(self) -> tuple[int, _AccountModel]:
        index = self.target(self.live_accounts(), len(self.accounts))
        return index, self.accounts[index]

    def classify(self) -> Step:
        index, _ = self.account_target()
        return ClassifyAccount(
            account=index,
            tier=self.pick(list(Tier)),
            kind=self.pick(list(AccountKind)),
            rationale=self.pick(("largest customer", "fast growing", "strategic logo")),
            # A reason is the override that lets a tier go beyond its cap.
            meta=self.meta(reason_percent=50),
        )

    def score_criteria(self) -> Step:
        index, _ = self.account_target()
        scores = tuple(self.integer(1, 5) for _ in range(8))
        return ScoreCriteria(account=index, scores=scores, meta=self.meta())

    def assign_manager(self) -> Step:
        index, account = self.account_target()
        manager = self.pick(ACTORS)
        meta = self.meta(needs_reason=account.manager is not None)
        if (
            manager != account.manager
            and account.incoming is None
            and (account.manager is None or meta.has_reason)
        ):
            account.manager = manager
        return AssignManager(account=index, manager=manager, meta=meta)

    def hand_over(self) -> Step:
        choices = [
            i
            for i in self.live_accounts()
            if self.accounts[i].manager and not self.accounts[i].incoming
        ]
        index = self.pick(choices)
        account = self.accounts[index]
        to = self.pick([a for a in ACTORS if a != account.manager])
        meta = self.meta(needs_reason=True)
        if meta.has_reason:
            account.manager = account.incoming = to
        return HandOver(account=index, to=to, effective_on=self.day(), meta=meta)

    def acknowledge_handover(self) -> Step:
        index = self.pick([i for i in self.live_accounts() if self.accounts[i].incoming])
        by_incoming = not self.mistake()
        if by_incoming:
            self.accounts[index].incoming = None
        return AcknowledgeHandover(
            account=index, notes=self.text(), by_incoming=by_incoming, meta=self.meta()
        )

    def add_team_member(self) -> Step:
        index, account = self.account_target()
        free = [m for m in TEAM_MEMBERS if m not in account.team]
        member = self.pick(TEAM_MEMBERS) if not free or self.mistake() else self.pick(free)
        account.team.add(member)
        roles = list(KamRole)
        first = roles.pop(self.integer(0, len(roles) - 1))
        chosen = (first, self.pick(roles)) if self.chance(40) else (first,)
        return AddTeamMember(account=index, member=member, roles=chosen, meta=self.meta())

    def remove_team_member(self) -> Step:
        index = self.pick([i for i in self.live_accounts() if self.accounts[i].team])
        account = self.accounts[index]
        member = self.pick(sorted(account.team))
        account.team.discard(member)
        return RemoveTeamMember(account=index, member=member, meta=self.meta())

    def set_focus(self) -> Step:
        index, _ = self.account_target()
        penetration = self.pick((0, 20, 34, 50, 60, 100))
        expansion = self.integer(0, 100 - penetration)
        protection = 100 - penetration - expansion
        if self.mistake():
            protection += 5  # does not add up to 100: refused
        return SetFocus(
            account=index,
            penetration=penetration,
            expansion=expansion,
            protection=protection,
            meta=self.meta(),
        )

    def advance_stage(self) -> Step:
        index, account = self.account_target()
        to = account.stage.next
        if self.mistake():
            to = self.pick(list(Stage))  # maybe a skip: refused
        if to is account.stage.next:
            account.stage = to
        return AdvanceStage(account=index, to=to, meta=self.meta())

    def record_financials(self) -> Step:
        index, _ = self.account_target()
        revenue = self.money(50_000, 5_000_000)
        return RecordFinancials(
            account=index,
            period=self.pick(FINANCIAL_PERIODS),
            revenue=revenue,
            gross_margin=self.pick((None, Decimal("0.31"), Decimal("0.18"), Decimal("-0.05"))),
            revenue_target=(revenue * self.pick((Decimal("1.1"), Decimal("1.25"))))
            if self.chance(70)
            else None,
            currency=self.pick(CURRENCIES),
            meta=self.meta(),
        )

    def record_feedback(self) -> Step:
        index, account = self.account_target()
        mode = self.integer(0, 2)
        respondent = (
            self.pick(account.stakeholders) if account.stakeholders and self.chance(60) else None
        )
        return RecordFeedback(
            account=index,
            nps=None if mode == 2 else self.integer(0, 10),
            csat=None if mode == 1 else self.integer(1, 5),
            respondent=respondent,
            comment=self.text(),
            meta=self.meta(),
        )

    def assess_relationship(self) -> Step:
        index, _ = self.account_target()
        return AssessRelationship(
            account=index,
            engagement=self.pick(list(EngagementLevel)),
            trust=self.integer(1, 5),
            satisfaction=self.integer(1, 5),
            partner_rating=self.integer(0, 10),
            notes=self.text(),
            meta=self.meta(),
        )

    def note_competitor(self) -> Step:
        index, _ = self.account_target()
        return NoteCompetitor(
            account=index,
            name=self.pick(COMPETITORS),
            threat=self.pick(list(ThreatLevel)),
            notes=self.text(),
            meta=self.meta(),
        )

    def raise_risk(self) -> Step:
        index, account = self.account_target()
        if not account.exited:
            account.risks.append(False)
        return RaiseRisk(
            account=index,
            title=self.pick(("Budget freeze", "Champion leaving", "Competitor pilot")),
            severity=self.pick(list(ThreatLevel)),
            revenue_at_risk=self.money(1_000, 500_000) if self.chance(70) else None,
            meta=self.meta(),
        )

    def mitigate_risk(self) -> Step:
        index = self.pick([i for i in self.live_accounts() if not all(self.accounts[i].risks)])
        account = self.accounts[index]
        if self.mistake():
            risk = self.integer(0, len(account.risks) - 1)  # maybe mitigated already
        else:
            risk = self.pick([r for r, done in enumerate(account.risks) if not done])
        account.risks[risk] = True
        return MitigateRisk(
            account=index, risk=risk, mitigation="multi-year deal signed", meta=self.meta()
        )

    def reevaluate(self) -> Step:
        index, _ = self.account_target()
        return ReevaluateAccount(
            account=index,
            decision=self.pick(list(ReevaluationDecision)),
            rationale=self.pick(("still strategic", "margin too thin", "growing fast")),
            meta=self.meta(),
        )

    def exit_account(self) -> Step:
        index, account = self.account_target()
        meta = self.meta(needs_reason=True)
        if meta.has_reason:
            account.exited = True
        return ExitAccount(account=index, meta=meta)

    # Account plans

    def draft_plan(self) -> Step:
        index, account = self.account_target()
        free = [p for p in PLAN_PERIODS if p not in account.periods]
        period = self.pick(PLAN_PERIODS) if not free or self.mistake() else self.pick(free)
        if period not in account.periods and not account.exited:
            account.periods.add(period)
            self.plans.append(_PlanModel(account=index))
        return DraftPlan(
            account=index,
            period=period,
            title=f"Grow {period}" if self.chance(60) else None,
            meta=self.meta(),
        )

    def plan_target(self) -> tuple[int, _PlanModel]:
        index = self.target(self.open_plans(), len(self.plans))
        return index, self.plans[index]

    def state_direction(self) -> Step:
        index, _ = self.plan_target()
        priorities = ("renewal", "expansion", "cross-sell")[: self.integer(0, 3)]
        return StateDirection(
            plan=index,
            direction=self.pick(("Become the default supplier", "Protect the core")),
            priorities=priorities,
            meta=self.meta(),
        )

    def share_plan(self) -> Step:
        index, _ = self.plan_target()
        return SharePlan(plan=index, agreed=self.chance(70), notes=self.text(), meta=self.meta())

    def set_objective(self) -> Step:
        index, plan = self.plan_target()
        baseline = Decimal(self.integer(0, 200))
        target = baseline + self.integer(1, 50) * self.pick((1, 1, -1))
        plan.objectives.append(ObjectiveStatus.OPEN)
        return SetObjective(
            plan=index,
            statement=self.pick(("Grow revenue", "Raise NPS", "Cut churn")),
            metric=self.pick(("revenue", "nps", "churn")),
            baseline=baseline,
            target=target,
            due_on=self.day(),
            meta=self.meta(),
        )

    def resolve_objective(self) -> Step:
        choices = [i for i in self.open_plans() if ObjectiveStatus.OPEN in self.plans[i].objectives]
        index = self.pick(choices)
        plan = self.plans[index]
        objective = self.pick(
            [o for o, status in enumerate(plan.objectives) if status is ObjectiveStatus.OPEN]
        )
        move = self.integer(0, 5)
        if move <= 2:
            return RecordProgress(
                plan=index,
                objective=objective,
                value=Decimal(self.integer(0, 250)),
                note=self.text(),
                meta=self.meta(),
            )
        if move <= 4:
            plan.objectives[objective] = ObjectiveStatus.ACHIEVED
            return AchieveObjective(plan=index, objective=objective, meta=self.meta())
        meta = self.meta(needs_reason=True)
        if meta.has_reason:
            plan.objectives[objective] = ObjectiveStatus.MISSED
        return MissObjective(plan=index, objective=objective, meta=meta)

    def identify_opportunity(self) -> Step:
        index, plan = self.plan_target()
        plan.opportunities.append(OpportunityStatus.OPEN)
        return IdentifyOpportunity(
            plan=index,
            kind=self.pick(list(OpportunityKind)),
            title=self.pick(("Analytics", "Support renewal", "New site")),
            value=self.money(1_000, 900_000),
            probability=self.integer(0, 100),
            meta=self.meta(),
        )

    def move_opportunity(self) -> Step:
        choices = [
            i for i in self.open_plans() if OpportunityStatus.OPEN in self.plans[i].opportunities
        ]
        index = self.pick(choices)
        plan = self.plans[index]
        open_ones = [
            o for o, status in enumerate(plan.opportunities) if status is OpportunityStatus.OPEN
        ]
        opportunity = self.pick(open_ones)
        move = self.integer(0, 3)
        if move <= 1:
            return AdvanceOpportunity(
                plan=index,
                opportunity=opportunity,
                probability=self.integer(0, 100),
                note=self.text(),
                meta=self.meta(),
            )
        if move == 2:
            plan.opportunities[opportunity] = OpportunityStatus.WON
            value = self.money(1_000, 900_000) if self.chance(50) else None
            return WinOpportunity(
                plan=index, opportunity=opportunity, value=value, meta=self.meta()
            )
        meta = self.meta(needs_reason=True)
        if meta.has_reason:
            plan.opportunities[opportunity] = OpportunityStatus.LOST
        return LoseOpportunity(plan=index, opportunity=opportunity, meta=meta)

    def add_action(self) -> Step:
        index, plan = self.plan_target()
        people = self.accounts[plan.account].stakeholders
        stakeholders = tuple(
            sorted({self.pick(people) for _ in range(self.integer(0, 2))}) if people else ()
        )
        objective = (
            self.integer(0, len(plan.objectives) - 1)
            if plan.objectives and self.chance(50)
            else None
        )
        owner, due_on = self.pick(ACTORS), self.day()
        plan.actions.append(_ActionModel(ActionStatus.PLANNED, owner, due_on))
        return AddAction(
            plan=index,
            what=self.pick(("Executive dinner", "Run a pilot", "Send the roadmap", "QBR")),
            owner=owner,
            due_on=due_on,
            stakeholders=stakeholders,
            success_measure=self.text(),
            objective=objective,
            meta=self.meta(),
        )

    def move_action(self) -> Step:
        choices = [
            i
            for i in self.open_plans()
            if any(not a.status.is_terminal for a in self.plans[i].actions)
        ]
        index = self.pick(choices)
        plan = self.plans[index]
        live = [n for n, a in enumerate(plan.actions) if not a.status.is_terminal]
        blocked = [n for n in live if plan.actions[n].status is ActionStatus.BLOCKED]
        number = self.pick(blocked if blocked and self.chance(50) else live)
        action = plan.actions[number]
        commands = list(ACTION_TRANSITIONS)
        if not self.mistake():
            commands = [c for c in commands if action.status in ACTION_TRANSITIONS[c]]
            if action.status is ActionStatus.BLOCKED:
                commands += ["unblock_action"] * 3  # blocked actions are mostly unblocked
        command = self.pick(commands)
        legal = action.status in ACTION_TRANSITIONS[command]
        at = {"plan": index, "action": number}
        if command == "start_action":
            if legal:
                action.status = ActionStatus.IN_PROGRESS
            return StartAction(**at, meta=self.meta())
        if command == "complete_action":
            if legal:
                action.status = ActionStatus.COMPLETED
            return CompleteAction(**at, outcome="done", meta=self.meta())
        if command == "unblock_action":
            if legal:
                action.status = action.blocked_from
            return UnblockAction(**at, meta=self.meta())
        if command == "reassign_action":
            owner = self.pick([a for a in ACTORS if a != action.owner])
            if legal:
                action.owner = owner
            return ReassignAction(**at, owner=owner, meta=self.meta())
        meta = self.meta(needs_reason=True)
        legal = legal and meta.has_reason
        if command == "block_action":
            if legal:
                action.status, action.blocked_from = ActionStatus.BLOCKED, action.status
            return BlockAction(**at, meta=meta)
        if command == "reschedule_action":
            due_on = self.day()
            if legal:
                action.due_on = due_on
            return RescheduleAction(**at, due_on=due_on, meta=meta)
        if legal:
            action.status = ActionStatus.CANCELLED
        return CancelAction(**at, meta=meta)

    def answer_research_question(self) -> Step:
        index, _ = self.plan_target()
        question_id = "no-such-question" if self.mistake() else self.pick(QUESTION_IDS)
        return AnswerResearchQuestion(
            plan=index,
            question_id=question_id,
            answer=self.pick(("Lower TCO", "Nobody yet", "Two, both in Q3")),
            meta=self.meta(),
        )

    def review_plan(self) -> Step:
        index, _ = self.plan_target()
        return ReviewPlan(
            plan=index,
            notes=self.pick(("on track", "pipeline thin", "renewal slipped")),
            kpi_status=self.pick(list(KpiStatus)),
            meta=self.meta(),
        )

    def close_plan(self) -> Step:
        index, plan = self.plan_target()
        plan.closed = True
        return ClosePlan(plan=index, meta=self.meta())

    # Stakeholder relationships

    def identify_stakeholder(self) -> Step:
        index, account = self.account_target()
        buying_role, influence = self.pick(list(BuyingRole)), self.integer(1, 5)
        reports_to = (
            self.pick(account.stakeholders) if account.stakeholders and self.chance(40) else None
        )
        if not account.exited:
            account.stakeholders.append(len(self.stakeholders))
            self.stakeholders.append(_StakeholderModel(index, buying_role, influence))
        name = self.pick(STAKEHOLDER_NAMES)
        return IdentifyStakeholder(
            account=index,
            name=name,
            email=f"{name.split()[0].lower()}@example.com" if self.chance(70) else None,
            phone="+44 20 7946 0000" if self.chance(30) else None,
            title=self.pick((None, "CFO", "CTO", "Head of Procurement")),
            buying_role=buying_role,
            influence=influence,
            reports_to=reports_to,
            meta=self.meta(),
        )

    def stakeholder_target(self) -> tuple[int, _StakeholderModel]:
        index = self.target(self.present_stakeholders(), len(self.stakeholders))
        return index, self.stakeholders[index]

    def change_disposition(self) -> Step:
        index, person = self.stakeholder_target()
        options = [d for d in Disposition if d is not person.disposition]
        disposition = self.pick(list(Disposition) if self.mistake() else options)
        meta = self.meta(needs_reason=True)
        if meta.has_reason:
            person.disposition = disposition
        return ChangeDisposition(stakeholder=index, disposition=disposition, meta=meta)

    def change_role(self) -> Step:
        index, person = self.stakeholder_target()
        buying_role, influence = self.pick(list(BuyingRole)), self.integer(1, 5)
        person.buying_role, person.influence = buying_role, influence
        return ChangeRole(
            stakeholder=index, buying_role=buying_role, influence=influence, meta=self.meta()
        )

    def assign_relationship_owner(self) -> Step:
        index, person = self.stakeholder_target()
        owner = self.pick([a for a in ACTORS if a != person.owner])
        person.owner = owner
        return AssignRelationshipOwner(stakeholder=index, owner=owner, meta=self.meta())

    def log_interaction(self) -> Step:
        index, _ = self.stakeholder_target()
        return LogInteraction(
            stakeholder=index,
            kind=self.pick(list(InteractionKind)),
            on=self.day(),
            summary=self.pick(TEXTS),
            sentiment=self.integer(-2, 2),
            meta=self.meta(),
        )

    def make_commitment(self) -> Step:
        index, person = self.stakeholder_target()
        person.commitments.append(False)
        return MakeCommitment(
            stakeholder=index,
            description=self.pick(("Send the roadmap", "Fix the invoice", "Arrange a site visit")),
            due_on=self.day() if self.chance(70) else None,
            meta=self.meta(),
        )

    def unfulfilled(self) -> list[int]:
        return [
            i
            for i, s in enumerate(self.stakeholders)
            if not all(s.commitments) and not self.accounts[s.account].exited
        ]

    def fulfil_commitment(self) -> Step:
        index = self.pick(self.unfulfilled())
        person = self.stakeholders[index]
        commitment = self.pick([c for c, done in enumerate(person.commitments) if not done])
        person.commitments[commitment] = True
        return FulfilCommitment(
            stakeholder=index, commitment=commitment, note=self.text(), meta=self.meta()
        )

    def record_departure(self) -> Step:
        index, person = self.stakeholder_target()
        colleagues = [s for s in self.accounts[person.account].stakeholders if s != index]
        successor = self.pick(colleagues) if colleagues and self.chance(60) else None
        person.left = True
        return RecordDeparture(
            stakeholder=index, left_on=self.day(), successor=successor, meta=self.meta()
        )

    def erase_personal_data(self) -> Step:
        index = self.pick([i for i, s in enumerate(self.stakeholders) if not s.erased])
        meta = self.meta(needs_reason=True)
        if meta.has_reason:
            self.stakeholders[index].erased = True
        return ErasePersonalData(stakeholder=index, meta=meta)


def _build(choose: Choices, n_accounts: int, n_steps: int) -> list[Step]:
    builder = _Builder(choose, n_accounts, n_steps)
    return [builder.next_step() for _ in range(n_steps)]


def build_history(rng: random.Random, n_accounts: int = 3, n_steps: int = 60) -> list[Step]:
    """A deterministic history for the seed of ``rng``: ``n_steps`` steps over at most
    ``n_accounts`` accounts."""
    return _build(RandomChoices(rng), n_accounts, n_steps)


@st.composite
def _histories(draw: st.DrawFn, max_accounts: int, max_steps: int) -> list[Step]:
    n_accounts = draw(st.integers(1, max_accounts))
    n_steps = draw(st.integers(0, max_steps))
    return _build(DrawnChoices(draw), n_accounts, n_steps)


def histories(max_accounts: int = 3, max_steps: int = 60) -> st.SearchStrategy[list[Step]]:
    """Histories of up to ``max_steps`` steps over at most ``max_accounts`` accounts."""
    return _histories(max_accounts, max_steps)
