"""Loading the demo portfolio: the last two years of its story, through the application.

The steps are planned first (the same seed gives the same steps in the same order), then run
in the order they happened. Events are recorded now but carry ``Envelope.occurred_on`` dates
spread over the two years ending at ``today``. The demo makes no mistakes: a refused or
skipped step is a bug in the generator, counted in the summary.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from kam_api.demo.rates import exchange_rate_steps
from kam_api.demo.steps import ACCEPTED, Runner, Step, parse
from kam_api.demo.story import PortfolioStory, occurred
from kam_api.demo.words import COMPANY_BASES, COMPANY_SUFFIXES
from kam_domain.application import KamApplication
from kam_domain.commands import (
    AccountCommand,
    DraftPlan,
    HandOver,
    IdentifyStakeholder,
    RecordFinancials,
)

YEARS = 2


class DemoAlreadyLoadedError(Exception):
    """The store already holds accounts with demo names; loading again would duplicate them."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        shown = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        super().__init__(
            f"the store already holds {len(names)} demo account(s) ({shown}); "
            "use a fresh store or another --seed"
        )


@dataclass
class DemoSummary:
    """What ``load_demo`` wrote."""

    account_names: list[str] = field(default_factory=list)
    commands: int = 0
    stakeholders: int = 0
    plans: int = 0
    handovers: int = 0
    #: The accounts that changed hands (good ones to try the handover report on).
    handed_over: list[str] = field(default_factory=list)
    last_position: int = 0
    tiers: dict[str, int] = field(default_factory=dict)
    #: Each account's last recorded revenue, summed per currency (never across them).
    last_quarter_revenue: dict[str, Decimal] = field(default_factory=dict)
    #: Steps the domain refused or that named something not created: bugs in the generator.
    refused: int = 0
    skipped: int = 0

    @property
    def accounts(self) -> int:
        return len(self.account_names)


def demo_account_names(accounts: int, seed: int) -> list[str]:
    """The names ``load_demo`` uses for this size and seed (deterministic)."""
    rng = random.Random(f"names-{seed}")
    bases = list(COMPANY_BASES)
    rng.shuffle(bases)
    names: list[str] = []
    for index in range(accounts):
        base = bases[index % len(bases)]
        round_ = index // len(bases)
        suffix = COMPANY_SUFFIXES[(rng.randrange(len(COMPANY_SUFFIXES)) + round_) % 10]
        name = f"{base} {suffix}"
        while name in names:
            name = f"{name} {round_ + 2}"
        names.append(name)
    return names


def demo_story(accounts: int, seed: int, today: date) -> PortfolioStory:
    """The demo portfolio's story: ``accounts`` accounts over the two years up to ``today``."""
    return PortfolioStory(
        demo_account_names(accounts, seed),
        seed=seed,
        starts_on=today - timedelta(days=365 * YEARS),  # as the rates in load_demo
        today=today,
        ends_on=today,
    )


def load_demo(
    app: KamApplication,
    *,
    accounts: int = 60,
    seed: int = 7,
    today: date,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Loads ``accounts`` demo accounts with two years of history ending at ``today``;
    ``progress(done, total)`` is told how many steps have run."""
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    story = demo_story(accounts, seed, today)
    names = [account.name for account in story.planners]
    taken = [name for name in names if app.find_account_by_name(name) is not None]
    if taken:
        raise DemoAlreadyLoadedError(taken)
    starts_on = today - timedelta(days=365 * YEARS)
    rates = exchange_rate_steps(starts_on, today, seed=seed)
    steps = list(heapq.merge(story.steps(), rates, key=occurred))
    runner = Runner(app)
    for done, step in enumerate(steps, start=1):
        runner.run(step)
        if progress is not None:
            progress(done, len(steps))
    result = runner.result()
    summary = summarise(names, steps, runner.outcomes)
    summary.tiers = dict(Counter(a.profile.tier.value for a in story.planners))
    summary.last_position = result.position
    summary.refused, summary.skipped = result.refused, result.skipped
    return summary


def summarise(names: list[str], steps: list[Step], outcomes: list[str]) -> DemoSummary:
    """Counts what the accepted steps created, and each account's last recorded revenue."""
    summary = DemoSummary(account_names=names, commands=len(steps))
    handed_over: set[int] = set()
    revenue: dict[int, tuple[str, Decimal]] = {}
    for step, outcome in zip(steps, outcomes, strict=True):
        command = step.command
        if outcome != ACCEPTED:
            continue
        summary.stakeholders += isinstance(command, IdentifyStakeholder)
        summary.plans += isinstance(command, DraftPlan)
        if not isinstance(command, AccountCommand):
            continue
        account = parse(command.account_id)[1]
        if isinstance(command, HandOver):
            summary.handovers += 1
            handed_over.add(account)
        if isinstance(command, RecordFinancials):
            revenue[account] = (command.currency, command.revenue)
    summary.handed_over = [names[n] for n in sorted(handed_over)]
    for currency, amount in revenue.values():
        total = summary.last_quarter_revenue.get(currency, Decimal(0))
        summary.last_quarter_revenue[currency] = total + amount
    return summary
