"""Builds the handover report from the account's aggregates and the read models, as of the
read models' position (see ``view``); and the work a handover leaves to reassign."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from kam_domain.app_core import KamApplicationBase
from kam_domain.key_accounts import KeyAccount
from kam_projections.db import ViewDatabase
from kam_projections.freshness import wait_for_position
from kam_projections.handover.first_week import first_week
from kam_projections.handover.gaps import find_gaps
from kam_projections.handover.model import (
    HandoverReport,
    LedgerStatus,
    LoggedEvent,
    OpenAction,
    OpenCommitment,
    RecentSection,
    RelationshipHealthPublic,
    SourceEvent,
    StakeholderEntry,
)
from kam_projections.handover.queries import source_events
from kam_projections.handover.sections import (
    handover_facts,
    ownership,
    plan_section,
    risks,
    snapshot,
    stakeholders,
    team,
)
from kam_projections.handover.view import AccountView, handover_parties, open_work
from kam_projections.health_model import HealthWeights
from kam_projections.health_reads import account_health
from kam_projections.portfolio_reads import portfolio_row


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
    people = stakeholders(view, outgoing)
    work = open_work(view, outgoing, today)
    gaps = find_gaps(view, health_public, today)
    report = HandoverReport(
        account_id=account_id,
        generated_at=now or datetime.now(UTC),
        today=today,
        position=view.position,
        event_count=sum(view.sources.counts.values()),
        manager=account.manager,
        outgoing_manager=outgoing,
        incoming_manager=incoming,
        handover=handover_facts(account, timeline),
        first_week=first_week(people, work, gaps, today),
        snapshot=snapshot(view, portfolio_row(views, account_id, today=today) or {}),
        ownership=ownership(account, timeline),
        team=team(view),
        stakeholders=people,
        health=health_public,
        plan=plan_section(view),
        open_work=work,
        recent=RecentSection(
            interactions=timeline.latest("interactions"),
            decisions=timeline.latest("decisions"),
        ),
        risks=risks(view, timeline),
        gaps=gaps,
        ledger=ledger,
    )
    cited = source_events(views, account_id, cited_positions(report))
    report.source_events = {
        int(row["position"]): SourceEvent(
            type=row["event_type"], occurred_at=datetime.fromisoformat(row["occurred_at"])
        )
        for row in cited
    }
    return report


def cited_positions(value: Any) -> set[int]:
    """Every log position a part of the report cites: its ``sources`` (and ``*_sources``)
    and its listed events."""
    if isinstance(value, BaseModel):
        found = {value.position} if isinstance(value, LoggedEvent) else set()
        for name, field in value:
            cites = name == "sources" or name.endswith("_sources")
            found |= set(field) if cites else cited_positions(field)
        return found
    if isinstance(value, list | tuple):
        return {p for item in value for p in cited_positions(item)}
    return set()


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


@dataclass(frozen=True)
class WorkLeft:
    """What a handover leaves to reassign: the outgoing manager's open actions, unkept
    commitments and current relationships, the lists complete up to ``listed_at_position``."""

    outgoing_manager: str | None
    actions: list[OpenAction]
    commitments: list[OpenCommitment]
    relationships: list[StakeholderEntry]
    listed_at_position: int


def work_left_by_handover(
    kam: KamApplicationBase,
    views: ViewDatabase,
    account_id: UUID,
    *,
    position: int,
    today: date,
    wait_seconds: float,
) -> WorkLeft:
    """The outgoing manager's open work just after the handover at ``position``. The account's
    plans and stakeholders are found through the read models, so they may first see everything
    up to the handover (bounded, like ``min_position``)."""
    # The handover command has just saved the account: the cached copy names who hands over.
    pending = kam.load(KeyAccount, account_id, fresh=False, copy=False).pending_handover
    outgoing = pending.from_manager if pending is not None else None
    wait_for_position(views, position, wait_seconds)
    view = AccountView(kam, views, account_id)
    work = open_work(view, outgoing, today)
    return WorkLeft(
        outgoing_manager=outgoing,
        actions=[a for a in work.actions if a.reassign],
        commitments=[c for c in work.commitments if c.reassign],
        relationships=[s for s in stakeholders(view, outgoing) if s.reassign],
        listed_at_position=view.position,
    )
