"""Measures of how realistic a generated history is, read from its steps alone (no storage).

Each command of a step names what it acts on by reference (``kam_api.demo.steps.ref``), so a
history written by the story can be measured before it runs: how its actions ended (on time,
late, still open past their due date), who acted on an account after it changed hands, and
how regularly its plans were reviewed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from kam_api.demo.steps import Step
from kam_domain import commands as cmd
from kam_domain.values import ServiceProfile


def day_of(step: Step) -> date:
    assert step.meta.occurred_on is not None
    return step.meta.occurred_on.date()


@dataclass
class ActionFate:
    """One action as its steps tell it: when it was (last) due, and how it ended."""

    due_on: date
    completed_on: date | None = None
    cancelled: bool = False

    @property
    def on_time(self) -> bool:
        return self.completed_on is not None and self.completed_on <= self.due_on

    @property
    def late(self) -> bool:
        return self.completed_on is not None and self.completed_on > self.due_on

    def overdue_on(self, today: date) -> bool:
        """Still open (neither done nor cancelled) after its due date."""
        return self.completed_on is None and not self.cancelled and self.due_on < today


def action_fates(steps: Iterable[Step]) -> dict[UUID, ActionFate]:
    """Every action added, by reference, with its last due date and its end."""
    fates: dict[UUID, ActionFate] = {}
    for step in steps:
        command = step.command
        if isinstance(command, cmd.AddAction) and step.creates is not None:
            fates[step.creates] = ActionFate(command.due_on)
        elif isinstance(command, cmd.RescheduleAction):
            fates[command.action_id].due_on = command.due_on
        elif isinstance(command, cmd.CompleteAction):
            fates[command.action_id].completed_on = day_of(step)
        elif isinstance(command, cmd.CancelAction):
            fates[command.action_id].cancelled = True
    return fates


@dataclass
class Accounts:
    """Which account each plan and stakeholder reference belongs to, and each account's
    service profile, from the steps that created them."""

    of: dict[UUID, UUID] = field(default_factory=dict)
    profile: dict[UUID, ServiceProfile] = field(default_factory=dict)

    @classmethod
    def of_steps(cls, steps: Iterable[Step]) -> Accounts:
        found = cls()
        for step in steps:
            command, created = step.command, step.creates
            if isinstance(command, cmd.RegisterAccount) and created is not None:
                found.of[created] = created
                found.profile[created] = command.service_profile
            elif isinstance(command, cmd.AccountCommand) and created is not None:
                found.of[created] = command.account_id
        return found

    def account_of(self, command: cmd.Command) -> UUID | None:
        for name in ("account_id", "plan_id", "stakeholder_id"):
            target = getattr(command, name, None)
            if target is not None:
                return self.of.get(target)
        return None


@dataclass(frozen=True)
class Handover:
    account: UUID
    outgoing: str
    incoming: str
    effective_on: date


def handovers(steps: Iterable[Step]) -> list[Handover]:
    """Every handover, with the manager it took the account from."""
    manager: dict[UUID, str] = {}
    found = []
    for step in steps:
        command = step.command
        if isinstance(command, cmd.AssignManager):
            manager[command.account_id] = command.manager
        elif isinstance(command, cmd.HandOver):
            outgoing = manager.get(command.account_id, "")
            found.append(Handover(command.account_id, outgoing, command.to, command.effective_on))
            manager[command.account_id] = command.to
    return found


def outgoing_managers_acting(steps: list[Step]) -> list[tuple[Handover, Step]]:
    """Steps an outgoing manager took on the account they handed over, after the handover's
    effective date (and while someone else manages it)."""
    accounts = Accounts.of_steps(steps)
    manager: dict[UUID, str] = {}
    gone: dict[UUID, list[Handover]] = {}
    found = []
    for step in steps:
        command = step.command
        account = accounts.account_of(command)
        if isinstance(command, cmd.AssignManager):
            manager[command.account_id] = command.manager
        if isinstance(command, cmd.HandOver):
            handover = Handover(
                command.account_id,
                manager.get(command.account_id, ""),
                command.to,
                command.effective_on,
            )
            gone.setdefault(command.account_id, []).append(handover)
            manager[command.account_id] = command.to
        for handover in gone.get(account, []) if account is not None else []:
            if (
                step.meta.actor == handover.outgoing != manager.get(handover.account)
                and day_of(step) > handover.effective_on
            ):
                found.append((handover, step))
    return found


def review_gaps(steps: Iterable[Step]) -> list[tuple[ServiceProfile, int]]:
    """Days between one plan review of an account and its next (across its plans), each with
    the account's service profile (whose cadence says how often it should be reviewed)."""
    steps = list(steps)
    accounts = Accounts.of_steps(steps)
    last: dict[UUID, date] = {}
    gaps = []
    for step in steps:
        if isinstance(step.command, cmd.ReviewPlan):
            account = accounts.of[step.command.plan_id]
            day = day_of(step)
            if account in last:
                gaps.append((accounts.profile[account], (day - last[account]).days))
            last[account] = day
    return gaps
