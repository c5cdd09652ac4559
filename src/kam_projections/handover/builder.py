"""Builds the handover report from the account's aggregates and the read models, as of the
read models' position (see ``view``)."""

from __future__ import annotations

from concurrent.futures import Executor
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from kam_domain.app_core import KamApplicationBase
from kam_projections.db import ViewDatabase
from kam_projections.handover.gaps import find_gaps
from kam_projections.handover.model import (
    HandoverReport,
    LedgerStatus,
    RecentSection,
    RelationshipHealthPublic,
)
from kam_projections.handover.sections import (
    ownership,
    plan_section,
    risks,
    snapshot,
    stakeholders,
)
from kam_projections.handover.view import AccountView, handover_parties, open_work
from kam_projections.health import account_health
from kam_projections.health_model import HealthWeights
from kam_projections.portfolio import portfolio_row


def build_report(
    kam: KamApplicationBase,
    views: ViewDatabase,
    account_id: UUID,
    *,
    today: date,
    weights: HealthWeights | None = None,
    now: datetime | None = None,
    executor: Executor | None = None,
    ledger: LedgerStatus | None = None,
) -> HandoverReport:
    """The handover report of one account, as of the read models' position. With an
    ``executor``, the health read runs on it while the rest is gathered; else first, here."""
    health, view = _health_and_view(kam, views, account_id, today, weights, executor)
    timeline = view.timeline
    account = view.account
    outgoing, incoming = handover_parties(account)
    health_public = RelationshipHealthPublic.model_validate(health) if health else None
    return HandoverReport(
        account_id=account_id,
        generated_at=now or datetime.now(UTC),
        today=today,
        position=view.position,
        event_count=sum(view.sources.counts.values()),
        manager=account.manager,
        outgoing_manager=outgoing,
        incoming_manager=incoming,
        snapshot=snapshot(view, portfolio_row(views, account_id, today=today) or {}),
        ownership=ownership(account, timeline),
        stakeholders=stakeholders(view),
        health=health_public,
        plan=plan_section(view),
        open_work=open_work(view, outgoing, today),
        recent=RecentSection(
            interactions=timeline.latest("interactions"),
            decisions=timeline.latest("decisions"),
        ),
        risks=risks(view, timeline),
        gaps=find_gaps(view, health_public, today),
        ledger=ledger,
    )


def _health_and_view(
    kam: KamApplicationBase,
    views: ViewDatabase,
    account_id: UUID,
    today: date,
    weights: HealthWeights | None,
    executor: Executor | None,
) -> tuple[dict[str, Any] | None, AccountView]:
    # Health is the slowest part (six reads, then 13 scores for the trend) and needs nothing
    # else here: given an executor, it runs on its own connection while the rest is gathered.
    if executor is None:
        health = account_health(views, account_id, today=today, weights=weights)
        return health, AccountView(kam, views, account_id)
    pending = executor.submit(account_health, views, account_id, today=today, weights=weights)
    try:
        view = AccountView(kam, views, account_id)
    finally:
        health = pending.result()
    return health, view
