"""What the planners share: the portfolio they fill, how they write a step, a move.

A planner keeps a small model of one aggregate (an account, a plan, a stakeholder) as the
history has left it, and proposes plausible next steps for it on a given day: each proposal
is a ``Step`` and updates the model as if the domain accepts it, unless the planner got it
wrong on purpose (then the model stays as it was, since the domain will refuse the step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from kam_api.demo.choices import Chooser
from kam_api.demo.steps import Step
from kam_domain.commands import Command
from kam_domain.values import Envelope

if TYPE_CHECKING:
    from kam_api.demo.accounts import AccountPlanner
    from kam_api.demo.plans import PlanPlanner
    from kam_api.demo.stakeholders import StakeholderPlanner


@dataclass
class Portfolio:
    """Every account, plan and stakeholder a history has created so far, in creation order
    (their positions are the numbers their references carry). ``today`` anchors revenue:
    an account's annual revenue is its run rate on that day."""

    today: date
    accounts: list[AccountPlanner] = field(default_factory=list)
    plans: list[PlanPlanner] = field(default_factory=list)
    stakeholders: list[StakeholderPlanner] = field(default_factory=list)


class Clock:
    """Working-hours moments for one account's steps: a day's first step comes between 8 and
    10 o'clock, and each later one that day some minutes after the one before."""

    def __init__(self, choose: Chooser) -> None:
        self.choose = choose
        self.last: datetime | None = None

    def at(self, day: date) -> datetime:
        if self.last is not None and self.last.date() == day and self.last.hour < 22:
            moment = self.last + timedelta(minutes=self.choose.integer(1, 40))
        else:
            start = self.choose.integer(8 * 4, 10 * 4) * 15
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=start)
        self.last = moment
        return moment


@dataclass(frozen=True)
class Move:
    """A step a planner could take next, how often to take it relative to others, and whether
    its target is gone (an exited account, a closed plan): only a mistake chooses those."""

    weight: int
    make: Callable[[date], Step]
    gone: bool = False

    @property
    def kind(self) -> str:
        return self.make.__name__


class Planner:
    """What every planner has: its reference, its choices, its account's clock."""

    reference: UUID

    def __init__(self, choose: Chooser, clock: Clock) -> None:
        self.choose = choose
        self.clock = clock

    @property
    def gone(self) -> bool:
        """Whether the domain refuses anything more on this aggregate."""
        return False

    def step(
        self,
        command: Command,
        day: date,
        actor: str,
        *,
        reason: str | None = None,
        creates: UUID | None = None,
    ) -> Step:
        meta = Envelope(actor=actor, occurred_on=self.clock.at(day), reason=reason)
        return Step(command, meta, creates)

    def reason(self, text: str) -> str | None:
        """A reason the command needs, left out now and then by mistake."""
        return None if self.choose.mistake() else text

    def move(self, weight: int, make: Callable[[date], Step]) -> Move:
        return Move(weight, make, self.gone)
