"""A small, exact account for the account page's tests: registered 5 Jan 2026, managed by mia
until max took over on 1 Apr 2026, an action overdue since 1 Mar, NPS 9 then 5, and text that
must render as text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from kam_domain.commands import (
    AcknowledgeHandover,
    AddAction,
    AddTeamMember,
    AdvanceStage,
    AssignManager,
    DraftPlan,
    HandOver,
    IdentifyStakeholder,
    RecordFeedback,
    RecordFinancials,
    RegisterAccount,
)
from kam_domain.values import BuyingRole, Envelope, KamRole, PersonalData, Stage
from kam_projections.freshness import wait_for_position

TODAY = date(2026, 6, 30)
SCRIPT = "<script>alert(1)</script>"


@dataclass(frozen=True)
class Seeded:
    account_id: UUID
    plan_id: UUID
    stakeholder_id: UUID


def seed_account(web: TestClient, name: str = f"Acme {SCRIPT}") -> Seeded:
    """The account, each command on its own day (``occurred_on``)."""
    state: Any = web.app.state  # type: ignore[attr-defined]
    kam = state.kam
    last = 0

    def run(command: Any, on: date, actor: str = "dora", reason: str | None = None) -> Any:
        nonlocal last
        when = datetime(on.year, on.month, on.day, 9, tzinfo=UTC)
        result = kam.handle(command, meta=Envelope(actor=actor, occurred_on=when, reason=reason))
        last = max(last, result.position)
        return result

    account = run(
        RegisterAccount(name=name, industry="Chemicals", region="EMEA"), date(2026, 1, 5)
    ).id
    run(AssignManager(account_id=account, manager="mia"), date(2026, 1, 5))
    run(
        AddTeamMember(account_id=account, member="ann", roles=[KamRole.TECHNICAL_EXPERT]),
        date(2026, 1, 6),
    )
    run(AdvanceStage(account_id=account, to=Stage.RESEARCH), date(2026, 1, 10))
    run(
        RecordFinancials(
            account_id=account,
            period="2025",
            revenue=Decimal(100000),
            gross_margin=None,
            revenue_target=Decimal(120000),
            currency="EUR",
        ),
        date(2026, 1, 12),
    )
    person = run(
        IdentifyStakeholder.of(
            account,
            PersonalData(name=SCRIPT),
            title="CFO",
            buying_role=BuyingRole.ECONOMIC_BUYER,
            influence=4,
            reports_to=None,
        ),
        date(2026, 1, 15),
    ).id
    plan = run(DraftPlan(account_id=account, period="2026", title="Grow"), date(2026, 1, 20)).id
    run(
        AddAction(
            plan_id=plan,
            what=f"Call {SCRIPT}",
            owner="mia",
            due_on=date(2026, 3, 1),
            stakeholder_ids=(),
            success_measure=None,
            objective_id=None,
        ),
        date(2026, 1, 21),
    )
    run(RecordFeedback(account_id=account, nps=9), date(2026, 2, 1))
    run(
        HandOver(account_id=account, to="max", effective_on=date(2026, 4, 1)),
        date(2026, 4, 1),
        reason="Mia moves to the EMEA team",
    )
    run(AcknowledgeHandover(account_id=account), date(2026, 4, 2), actor="max")
    run(RecordFeedback(account_id=account, nps=5), date(2026, 5, 1))
    assert wait_for_position(state.views, last, 10)
    return Seeded(account, plan, person)
