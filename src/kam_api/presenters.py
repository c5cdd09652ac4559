"""Public views of the aggregates: what ``GET /accounts/{id}``, ``/plans/{id}`` and
``/stakeholders/{id}`` answer (and what the change diff compares)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from fastapi import Response

from kam_api.deps import etag
from kam_api.schemas.accounts import AccountPublic
from kam_api.schemas.plans import PlanPublic, ResearchAnswerPublic
from kam_api.schemas.stakeholders import CommitmentPublic, InteractionPublic, StakeholderPublic
from kam_domain.account_plans import AccountPlan
from kam_domain.application import KamApplication
from kam_domain.key_accounts import KeyAccount
from kam_domain.personal import ERASED
from kam_domain.relationships import Relationship
from kam_domain.research import QUESTION_BANK, get_question
from kam_projections.handover import LedgerStatus
from kam_store.ledger import Ledger

A = TypeVar("A", KeyAccount, AccountPlan, Relationship)
P = TypeVar("P")

_BANK_ORDER = {question_id: index for index, question_id in enumerate(QUESTION_BANK)}


def _public_state(aggregate: KeyAccount | AccountPlan) -> dict[str, Any]:
    state: dict[str, Any] = {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}
    state.update(
        id=aggregate.id,
        version=aggregate.version,
        created_on=aggregate.created_on,
        modified_on=aggregate.modified_on,
    )
    return state


def account_public(account: KeyAccount) -> AccountPublic:
    state = _public_state(account)
    state.update(
        competitors=list(account.competitors.values()),
        risks=list(account.risks.values()),
        reevaluation_due_on=account.reevaluation_due_on,
        exit_decided=account.exit_decided,
        uncovered_roles=account.uncovered_roles(),
    )
    return AccountPublic.model_validate(state)


def plan_public(plan: AccountPlan) -> PlanPublic:
    questions = sorted(
        (get_question(question_id) for question_id in plan.research_answers),
        key=lambda question: _BANK_ORDER[question.id],
    )
    state = _public_state(plan)
    state.update(
        objectives=list(plan.objectives.values()),
        opportunities=list(plan.opportunities.values()),
        actions=list(plan.actions.values()),
        research_answers=[
            ResearchAnswerPublic(
                question_id=question.id,
                category=question.category,
                question=question.text,
                answer=plan.research_answers[question.id],
            )
            for question in questions
        ],
        unanswered_categories=plan.unanswered_categories(),
    )
    return PlanPublic.model_validate(state)


def stakeholder_public(relationship: Relationship) -> StakeholderPublic:
    public = _stakeholder_public(relationship)
    return forgotten(public) if relationship.erased else public


def forgotten(public: StakeholderPublic) -> StakeholderPublic:
    """A stakeholder's view as an erased person's reads, whatever state it came from: the
    placeholder for their name, title and the free text of the relationship, no contact
    details."""

    def gone(text: str | None) -> str | None:
        return None if text is None else ERASED

    last = public.last_interaction
    return public.model_copy(
        update={
            "name": ERASED,
            "email": None,
            "phone": None,
            "personal_notes": None,
            "title": gone(public.title),
            "last_interaction": last.model_copy(update={"summary": ERASED}) if last else None,
            "commitments": [
                c.model_copy(
                    update={"description": ERASED, "fulfilment_note": gone(c.fulfilment_note)}
                )
                for c in public.commitments
            ],
        }
    )


def _stakeholder_public(relationship: Relationship) -> StakeholderPublic:
    personal = relationship.personal
    last = relationship.last_interaction
    return StakeholderPublic(
        id=relationship.id,
        version=relationship.version,
        account_id=relationship.account_id,
        name=relationship.display_name,
        email=personal.email if personal else None,
        phone=personal.phone if personal else None,
        personal_notes=personal.notes if personal else None,
        title=relationship.title,
        buying_role=relationship.buying_role,
        influence=relationship.influence,
        reports_to=relationship.reports_to,
        disposition=relationship.disposition,
        owner=relationship.owner,
        last_interaction=InteractionPublic.model_validate(last) if last else None,
        last_interaction_on=relationship.last_interaction_on,
        interaction_count=relationship.interaction_count,
        commitments=[CommitmentPublic.model_validate(c) for c in relationship.commitments.values()],
        open_commitments=len(relationship.open_commitments()),
        left_on=relationship.left_on,
        successor_id=relationship.successor_id,
        erased=relationship.erased,
        created_on=relationship.created_on,
        modified_on=relationship.modified_on,
    )


def present(
    kam: KamApplication,
    cls: type[A],
    aggregate_id: UUID,
    as_of: datetime | None,
    response: Response,
    public: Callable[[A], P],
) -> P:
    """The aggregate's public view now (its version as the ETag), or as it was at ``as_of``."""
    if as_of is not None:
        return public(kam.get_as_of(cls, aggregate_id, as_of))
    aggregate = kam.get(cls, aggregate_id)
    etag(response, aggregate.version)
    return public(aggregate)


def ledger_status(ledger: Ledger) -> LedgerStatus:
    """How far the ledger verifies now (verifying what was added since it last looked)."""
    verifier = ledger.sync()
    problem = verifier.problem
    return LedgerStatus(
        verified_to=verifier.last_position,
        entries=verifier.size,
        problem=None if problem is None else str(problem),
    )
