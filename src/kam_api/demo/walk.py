"""A random walk through a portfolio's life: short, dense histories for property tests.

Where the story (``story.py``) paces an account's life by the calendar, the walk takes one
step at a time from whatever the planners find plausible next, weighted by kind of step,
on a random day of three years. Every kind of command comes up in a few dozen steps, and
with ``mistakes`` some steps go wrong on purpose (a missing reason, a stage skipped, a
handover acknowledged by the wrong person, a step on an exited account); the domain must
refuse those and write nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from kam_api.demo.accounts import AccountPlanner, Profile
from kam_api.demo.choices import Choices, Chooser
from kam_api.demo.portfolio import Move, Portfolio
from kam_api.demo.steps import Step
from kam_api.demo.words import DIRECTOR, company_name
from kam_domain.commands import RecordExchangeRate
from kam_domain.values import Envelope, Tier

FIRST_DAY = date(2025, 1, 1)
LAST_DAY = date(2027, 12, 31)
CURRENCIES = ("EUR", "USD", "GBP", "CHF")
MISTAKES = 8  # percent


def random_history(
    choices: Choices, n_accounts: int = 3, n_steps: int = 60, *, mistakes: int = MISTAKES
) -> list[Step]:
    """``n_steps`` steps over at most ``n_accounts`` accounts, every choice from ``choices``."""
    walk = Walk(Chooser(choices, mistakes=mistakes), n_accounts, n_steps)
    return list(walk.steps())


class Walk:
    """Takes steps from the planners' plausible moves: first a kind of step by its weight,
    then one of the accounts, plans or people it could apply to."""

    def __init__(self, choose: Chooser, n_accounts: int, n_steps: int) -> None:
        self.choose = choose
        self.n_accounts = max(1, n_accounts)
        self.n_steps = max(1, n_steps)
        self.portfolio = Portfolio(today=LAST_DAY)
        self.made = 0

    def steps(self) -> Iterator[Step]:
        while self.made < self.n_steps:
            yield self.next_step()
            self.made += 1

    def next_step(self) -> Step:
        day = FIRST_DAY + timedelta(days=self.choose.integer(0, (LAST_DAY - FIRST_DAY).days))
        kinds: dict[str, list[Move]] = {}
        for move in self.moves():
            kinds.setdefault(move.kind, []).append(move)
        # Only kinds of step with a live target (unless everything is gone).
        kinds = {k: m for k, m in kinds.items() if any(not move.gone for move in m)} or kinds
        weights = {kind: moves[0].weight for kind, moves in kinds.items()}
        roll = self.choose.integer(0, sum(weights.values()) - 1)
        for kind, weight in weights.items():
            if roll < weight:
                return self.target(kinds[kind]).make(day)
            roll -= weight
        raise AssertionError("unreachable")

    def target(self, moves: list[Move]) -> Move:
        """Mostly a live target; now and then (or when there is none) anything, even an
        exited account or a closed plan."""
        live = [move for move in moves if not move.gone]
        return self.choose.pick(moves if not live or self.choose.mistake() else live)

    def moves(self) -> list[Move]:
        portfolio = self.portfolio
        late = self.made >= self.n_steps // 2
        live = [a for a in portfolio.accounts if not a.gone]
        found: list[Move] = []
        if len(portfolio.accounts) < self.n_accounts:
            found.append(Move(40 if not live else 6, self.register))
        for account in portfolio.accounts:
            # The last account exits only near the end: it would refuse everything after.
            exit_ok = len(live) > 1 or self.made >= self.n_steps * 85 // 100
            found += [m for m in account.moves(late) if exit_ok or m.kind != "exit"]
        for plan in portfolio.plans:
            found += plan.moves(late)
        for person in portfolio.stakeholders:
            found += person.moves(late)
        if live and late:
            found.append(Move(1, self.record_exchange_rate))
        return found

    def record_exchange_rate(self, day: date) -> Step:
        """The director records a rate to EUR (or, by mistake, one of EUR itself)."""
        currency = "EUR" if self.choose.mistake() else self.choose.pick(CURRENCIES[1:])
        rate = Decimal(f"{self.choose.factor(0.8, 1.3):.4f}")
        command = RecordExchangeRate(currency=currency, rate=rate, effective_on=day)
        at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        return Step(command, Envelope(actor=DIRECTOR, occurred_on=at))

    def register(self, day: date) -> Step:
        """A new account (or, by mistake, an existing one again: its name is taken)."""
        accounts = self.portfolio.accounts
        if accounts and self.choose.mistake():
            return self.choose.pick(accounts).register(day)
        profile = Profile(
            tier=self.choose.pick(list(Tier)),
            annual_revenue=self.choose.integer(200, 20_000) * 1000,
            growth=self.choose.factor(-0.07, 0.06),
            cools_from=FIRST_DAY + timedelta(days=365) if self.choose.chance(25) else None,
            currency=self.choose.pick(CURRENCIES),
        )
        account = AccountPlanner(self.portfolio, company_name(len(accounts)), profile, self.choose)
        return account.register(day)
