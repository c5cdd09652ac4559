"""An account as one report sees it: its aggregates at the versions the read models saw, with
the sources and timeline lists of the same position; and its open work.

Everything in one report is as of one log position: the read models' (``rm_tracking``). The
``sources`` read model says which version of each aggregate that position saw and which events
each fact came from; aggregates are loaded at exactly those versions (from the cache when it
holds that version, which is the usual case), so the report never mixes a newer state with
older links.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from kam_domain.account_plans import AccountPlan
from kam_domain.app_core import KamApplicationBase
from kam_domain.base import KamAggregate
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import ActionStatus
from kam_projections.db import Row, ViewDatabase
from kam_projections.erasure import shown
from kam_projections.handover.model import LoggedEvent, OpenAction, OpenCommitment, OpenWork
from kam_projections.handover.queries import LOG_ORDER, TIMELINE_GROUPS, account_rows
from kam_projections.sources import sources_from

A = TypeVar("A", bound=KamAggregate)

OPEN_ACTION = frozenset({ActionStatus.PLANNED, ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED})


class AccountView:
    """An account with its plans and stakeholders, each at the version the read models saw."""

    def __init__(self, kam: KamApplicationBase, views: ViewDatabase, account_id: UUID) -> None:
        self.kam = kam
        # Read-only: the cached objects themselves, never changed here (not found → 404).
        self.account = kam.load(KeyAccount, account_id, fresh=False, copy=False)
        rows = account_rows(views, account_id)
        self.position = rows.position
        self.sources = sources_from(rows.sources)
        self.timeline = ReportTimeline(rows.timeline)
        self.account = self._at_seen_version(KeyAccount, self.account)
        self.plans = sorted(
            (self._get(AccountPlan, i) for i in self.sources.owned("AccountPlan")),
            key=lambda plan: plan.period,
            reverse=True,
        )
        self.stakeholders = [self._get(Relationship, i) for i in self.sources.owned("Relationship")]

    def _get(self, cls: type[A], aggregate_id: UUID) -> A:
        return self._at_seen_version(cls, self.kam.load(cls, aggregate_id, fresh=False, copy=False))

    def _at_seen_version(self, cls: type[A], current: A) -> A:
        seen = self.sources.versions.get(current.id)
        if seen is None or seen == current.version:
            return current
        return self.kam.load(cls, current.id, version=seen, fresh=False)


def _newest(group: str) -> Callable[[Row], Any]:
    if group in LOG_ORDER:
        return lambda r: r["position"]
    return lambda r: (r["occurred_at"], r["position"])


class ReportTimeline:
    """The timeline lists a report shows (``TIMELINE_GROUPS``), each newest first by when it
    happened (then by position), or in log order (``LOG_ORDER``)."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows: dict[str, list[Row]] = {group: [] for group in TIMELINE_GROUPS}
        for row in rows:
            self.rows[row["grp"]].append(row)
        for group, (_, limit) in TIMELINE_GROUPS.items():
            newest = sorted(self.rows[group], key=_newest(group), reverse=True)
            self.rows[group] = newest[:limit] if limit is not None else newest

    def latest(self, group: str) -> list[LoggedEvent]:
        """The group's newest events, newest first."""
        return [
            LoggedEvent(
                position=r["position"],
                type=r["event_type"],
                actor=r["actor"],
                occurred_at=datetime.fromisoformat(r["occurred_at"]),
                summary=r["summary"],
            )
            for r in self.rows[group]
        ]

    def oldest_first(self, group: str) -> list[Row]:
        return list(reversed(self.rows[group]))


def handover_parties(account: KeyAccount) -> tuple[str | None, str | None]:
    """(outgoing, incoming) manager: a pending handover's two sides; else, if the current
    manager came by a handover, the previous one and them; else the current manager alone."""
    if account.pending_handover is not None:
        return account.pending_handover.from_manager, account.pending_handover.to_manager
    history = account.manager_history
    if len(history) >= 2:
        return history[-2].manager, history[-1].manager
    return account.manager, None


def open_work(view: AccountView, outgoing: str | None, today: date) -> OpenWork:
    """Open plan actions and unkept commitments; the outgoing manager's are to reassign."""
    actions = [
        OpenAction(
            plan_period=plan.period,
            plan_id=plan.id,
            action_id=action.id,
            what=action.what,
            owner=action.owner,
            due_on=action.due_on,
            status=action.status.value,
            overdue=action.due_on < today,
            days_late=max(0, (today - action.due_on).days),
            reassign=outgoing is not None and action.owner == outgoing,
            sources=view.sources.of(plan.id, f"action:{action.id}"),
        )
        for plan in view.plans
        for action in plan.actions.values()
        if action.status in OPEN_ACTION
    ]
    actions.sort(key=lambda a: (not a.reassign, a.due_on, a.what))
    commitments = [
        OpenCommitment(
            stakeholder_id=person.id,
            stakeholder=name_of(person),
            commitment_id=commitment.commitment_id,
            description=str(shown(person, commitment.description)),
            due_on=commitment.due_on,
            overdue=commitment.due_on is not None and commitment.due_on < today,
            relationship_owner=person.owner,
            reassign=outgoing is not None and person.owner == outgoing,
            sources=view.sources.of(person.id, f"commitment:{commitment.commitment_id}"),
        )
        for person in view.stakeholders
        for commitment in person.commitments.values()
        if not commitment.fulfilled
    ]
    commitments.sort(key=lambda c: (not c.reassign, c.due_on or date.max, c.description))
    return OpenWork(actions=actions, commitments=commitments)


def name_of(person: Relationship | None) -> str | None:
    """A stakeholder's name; None once their personal data has been erased."""
    if person is None or person.personal is None:
        return None
    return person.personal.name
