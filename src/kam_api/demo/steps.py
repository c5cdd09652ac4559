"""Steps: a history's commands as data, and the one way to run them.

A ``Step`` is one command with its envelope (who, when, why) and, when it creates something,
the reference the new thing is known by. A history is written before it runs, so it cannot
know the ids the store will hand out: it names what it created by reference instead.
``ref(Kind.ACTION, 2, of=1)`` is "action 2 of plan 1", a placeholder UUID of version 8 (a
version the store never makes) that the ``Runner`` replaces with the real id once the step
that creates it has run. References count in creation order, so a shortened history (as
hypothesis shrinks one) still means something.

The runner sends each step through ``KamApplication.handle`` and records its outcome: a step
naming something not created (yet) is skipped; a step the domain refuses (any ``KamError``)
is counted under the error's name and has written nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any
from uuid import UUID

from kam_domain.application import KamApplication
from kam_domain.commands import Command, CommandResult, RegisterAccount
from kam_domain.errors import ConflictError, KamError
from kam_domain.values import Envelope

ACCEPTED = "accepted"
SKIPPED = "skipped"


class Kind(IntEnum):
    """What a reference names; the last four are numbered within their parent."""

    ACCOUNT = 1
    PLAN = 2
    STAKEHOLDER = 3
    OBJECTIVE = 4  # of a plan
    OPPORTUNITY = 5  # of a plan
    ACTION = 6  # of a plan
    RISK = 7  # of an account
    COMMITMENT = 8  # of a stakeholder


def ref(kind: Kind, number: int, *, of: int = 0) -> UUID:
    """The placeholder id of the ``number``-th thing of this kind (of its ``of``-th parent)."""
    return UUID(f"{kind:02x}{of:06x}-0000-8000-8000-{number:012x}")


def is_reference(value: UUID) -> bool:
    return value.version == 8


def parse(reference: UUID) -> tuple[Kind, int, int]:
    """(kind, number, parent number) of a reference."""
    text = reference.hex
    return Kind(int(text[:2], 16)), int(text[20:], 16), int(text[2:8], 16)


@dataclass(frozen=True)
class Step:
    """One command of a history, with its envelope and the reference of what it creates."""

    command: Command
    meta: Envelope
    creates: UUID | None = None


class MissingReferenceError(LookupError):
    """A step names something the history has not created (yet): it is skipped."""


@dataclass(frozen=True)
class HistoryResult:
    """How each step fared and what the history created.

    ``outcomes[i]`` is ``"accepted"``, ``"skipped"`` or the name of the ``KamError`` the domain
    refused step ``i`` with; ``ids`` maps each reference to the real id, in creation order;
    ``position`` is the last stored event's notification id (0 for an empty store).
    """

    outcomes: tuple[str, ...]
    ids: Mapping[UUID, UUID]
    position: int

    @property
    def accepted(self) -> int:
        return self.outcomes.count(ACCEPTED)

    @property
    def skipped(self) -> int:
        return self.outcomes.count(SKIPPED)

    @property
    def refused(self) -> int:
        return len(self.outcomes) - self.accepted - self.skipped

    def created(self, kind: Kind) -> tuple[UUID, ...]:
        """The real ids of everything of this kind, in creation order."""
        return tuple(real for key, real in self.ids.items() if parse(key)[0] is kind)

    @property
    def account_ids(self) -> tuple[UUID, ...]:
        return self.created(Kind.ACCOUNT)

    @property
    def plan_ids(self) -> tuple[UUID, ...]:
        return self.created(Kind.PLAN)

    @property
    def stakeholder_ids(self) -> tuple[UUID, ...]:
        return self.created(Kind.STAKEHOLDER)

    @property
    def action_ids(self) -> dict[UUID, tuple[UUID, ...]]:
        """Each plan's actions, in the order they were added."""
        actions: dict[UUID, list[UUID]] = {}
        for key, real in self.ids.items():
            kind, _, parent = parse(key)
            if kind is Kind.PLAN:
                actions.setdefault(real, [])
            elif kind is Kind.ACTION:
                actions[self.ids[ref(Kind.PLAN, parent)]].append(real)
        return {plan: tuple(ids) for plan, ids in actions.items()}


@dataclass
class Runner:
    """Runs steps through the application, replacing references with the ids they stand for.

    ``name_suffix`` is appended to registered account names, so several histories fit in one
    store; ``conflict_retries`` retries a command whose save conflicted with another writer's.
    """

    app: KamApplication
    name_suffix: str = ""
    conflict_retries: int = 0
    ids: dict[UUID, UUID] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)
    conflicts: int = 0

    def run(self, step: Step) -> CommandResult | None:
        """Runs one step; the result, or None when it was skipped or refused."""
        result = None
        try:
            command = self.resolve(step.command)
            result = self._handle(command, step.meta)
        except MissingReferenceError:
            self.outcomes.append(SKIPPED)
        except KamError as refusal:
            self.outcomes.append(type(refusal).__name__)
        else:
            self.outcomes.append(ACCEPTED)
            if step.creates is not None:
                self.ids[step.creates] = result.entity_id or result.id
        return result

    def run_all(
        self, steps: Iterable[Step], after_step: Callable[[Step, str], None] | None = None
    ) -> HistoryResult:
        """Runs the steps in order (``after_step(step, outcome)`` after each one)."""
        for step in steps:
            self.run(step)
            if after_step is not None:
                after_step(step, self.outcomes[-1])
        return self.result()

    def result(self) -> HistoryResult:
        position = self.app.recorder.max_notification_id() or 0
        return HistoryResult(tuple(self.outcomes), dict(self.ids), position)

    def resolve(self, command: Command) -> Command:
        """The command with every reference replaced by the id it stands for."""
        changes: dict[str, Any] = {}
        for name, value in command:
            if isinstance(value, UUID):
                changes[name] = self.real(value)
            elif isinstance(value, tuple) and all(isinstance(v, UUID) for v in value):
                changes[name] = tuple(self.real(v) for v in value)
        if isinstance(command, RegisterAccount) and self.name_suffix:
            changes["name"] = f"{command.name} {self.name_suffix}"
        return command.model_copy(update=changes)

    def real(self, value: UUID) -> UUID:
        if not is_reference(value):
            return value
        try:
            return self.ids[value]
        except KeyError:
            raise MissingReferenceError(value) from None

    def _handle(self, command: Command, meta: Envelope) -> CommandResult:
        for _ in range(self.conflict_retries):
            try:
                return self.app.handle(command, meta=meta)
            except ConflictError:
                self.conflicts += 1
        return self.app.handle(command, meta=meta)


def run_history(
    app: KamApplication,
    steps: Iterable[Step],
    *,
    name_suffix: str = "",
    after_step: Callable[[Step, str], None] | None = None,
) -> HistoryResult:
    """Runs a whole history through the application (see ``Runner``)."""
    return Runner(app, name_suffix=name_suffix).run_all(steps, after_step)
