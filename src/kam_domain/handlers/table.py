"""The handler table: exactly one handler per command type.

A handler takes the application, the command, its envelope and the expected version (If-Match)
and returns a ``CommandResult``. Most commands change one aggregate in one step; for them a
handler is a small function of (aggregate, command, envelope) registered with ``on_account``,
``on_plan`` or ``on_stakeholder``, which load the target, check the expected version and the
account's liveness, apply the function and save. Commands that touch several aggregates or
create one register a whole handler with ``handles``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from kam_domain.account_plans import AccountPlan
from kam_domain.commands import (
    AccountCommand,
    Command,
    CommandResult,
    PlanCommand,
    StakeholderCommand,
)
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import Envelope

if TYPE_CHECKING:
    from kam_domain.app_core import KamApplicationBase

C = TypeVar("C", bound=Command)
AC = TypeVar("AC", bound=AccountCommand)
PC = TypeVar("PC", bound=PlanCommand)
SC = TypeVar("SC", bound=StakeholderCommand)

Handler = Callable[["KamApplicationBase", Any, Envelope, int | None], CommandResult]

#: Every command type and its one handler (filled as the handler modules are imported).
HANDLERS: dict[type[Command], Handler] = {}


def _register(command_type: type[Command], handler: Handler) -> None:
    if command_type in HANDLERS:
        raise TypeError(f"{command_type.__name__} already has a handler")
    HANDLERS[command_type] = handler


def handles(
    command_type: type[C],
) -> Callable[
    [Callable[[KamApplicationBase, C, Envelope, int | None], CommandResult]],
    Callable[[KamApplicationBase, C, Envelope, int | None], CommandResult],
]:
    """Registers a whole handler: (application, command, envelope, expected version)."""

    def register(
        handler: Callable[[KamApplicationBase, C, Envelope, int | None], CommandResult],
    ) -> Callable[[KamApplicationBase, C, Envelope, int | None], CommandResult]:
        _register(command_type, handler)
        return handler

    return register


AccountStep = Callable[[KeyAccount, AC, Envelope], UUID | None]
PlanStep = Callable[[AccountPlan, PC, Envelope], UUID | None]
StakeholderStep = Callable[[Relationship, SC, Envelope], UUID | None]
_Step = Callable[[Any, Any, Envelope], UUID | None]
#: A check of the command against other aggregates, run before the change (e.g. that a
#: stakeholder it names belongs to the same account).
Check = Callable[["KamApplicationBase", C], None]


def _one_step(
    aggregate_type: type[Any], target: Callable[[Any], UUID], *, live: bool
) -> Callable[[type[Command], Check[Any] | None], Callable[[_Step], _Step]]:
    """Registers ``step`` as a change of one aggregate: run ``check``, load the command's
    target, check the expected version (and, if ``live``, that its account has not exited),
    apply, save."""

    def decorator(
        command_type: type[Command], check: Check[Any] | None
    ) -> Callable[[_Step], _Step]:
        def register(step: _Step) -> _Step:
            def handler(
                app: KamApplicationBase, command: Any, meta: Envelope, expected: int | None
            ) -> CommandResult:
                if check is not None:
                    check(app, command)
                guard = (lambda agg: app.ensure_live(agg.account_id)) if live else None
                return app.change(
                    aggregate_type,
                    target(command),
                    expected,
                    lambda agg: step(agg, command, meta),
                    guard=guard,
                )

            _register(command_type, handler)
            return step

        return register

    return decorator


def on_account(
    command_type: type[AC], *, check: Check[AC] | None = None
) -> Callable[[AccountStep[AC]], AccountStep[AC]]:
    """Registers a one-step change of the command's key account."""
    return _one_step(KeyAccount, lambda c: c.account_id, live=False)(command_type, check)


def on_plan(
    command_type: type[PC], *, check: Check[PC] | None = None
) -> Callable[[PlanStep[PC]], PlanStep[PC]]:
    """Registers a one-step change of the command's plan (refused once its account exited)."""
    return _one_step(AccountPlan, lambda c: c.plan_id, live=True)(command_type, check)


def on_stakeholder(
    command_type: type[SC], *, check: Check[SC] | None = None, while_account_live: bool = True
) -> Callable[[StakeholderStep[SC]], StakeholderStep[SC]]:
    """Registers a one-step change of the command's relationship (refused once its account
    exited, unless ``while_account_live`` is false)."""
    return _one_step(Relationship, lambda c: c.stakeholder_id, live=while_account_live)(
        command_type, check
    )
