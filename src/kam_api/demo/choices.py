"""Where a history's choices come from: one source of whole numbers, and what is built on it.

A ``Choices`` source answers one question, "a whole number from ``low`` to ``high``". The demo
and the benchmark use a seeded ``random.Random`` (``RandomChoices``); property tests draw the
numbers from hypothesis, so it can shrink a history by shrinking the numbers. Low numbers are
the plain choices (no mistake, the first option), which is what hypothesis shrinks towards.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

T = TypeVar("T")


class Choices(Protocol):
    """A source of choices (a seeded ``random.Random``, or hypothesis draws)."""

    def integer(self, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high`` inclusive; low values are the simple ones."""
        ...


class RandomChoices:
    """Choices from a seeded ``random.Random``: the same seed, the same history."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


class Chooser:
    """Every choice a planner makes, drawn from one source.

    ``mistakes`` is the percent of choices, where a planner could get something wrong (a
    missing reason, a stage skipped, a handover acknowledged by the wrong person), that it
    does: 0 for the demo and the benchmark, a few for the tests.
    """

    def __init__(self, source: Choices, *, mistakes: int = 0) -> None:
        self.source = source
        self.mistakes = mistakes

    def integer(self, low: int, high: int) -> int:
        return self.source.integer(low, high)

    def chance(self, percent: float) -> bool:
        """True ``percent`` times in a hundred (no draw at all for 0 or 100)."""
        if percent <= 0 or percent >= 100:
            return percent >= 100
        # Low draws mean "no": hypothesis shrinks towards the plain case.
        return self.integer(0, 99) >= 100 - percent

    def mistake(self) -> bool:
        """Whether to get this one wrong on purpose."""
        return self.chance(self.mistakes)

    def pick(self, items: Sequence[T]) -> T:
        return items[self.integer(0, len(items) - 1)]

    def sample(self, items: Sequence[T], count: int) -> list[T]:
        """``count`` different items (fewer if there are not enough), in the order drawn."""
        pool = list(items)
        return [pool.pop(self.integer(0, len(pool) - 1)) for _ in range(min(count, len(pool)))]

    def days_after(self, day: date, low: int, high: int) -> date:
        return day + timedelta(days=self.integer(low, high))

    def money(self, low: int, high: int) -> Decimal:
        """Whole euros from ``low`` to ``high``, now and then with cents."""
        cents = self.pick((0, 0, 50, 99))
        return Decimal(self.integer(low, high) * 100 + cents) / 100

    def factor(self, low: float, high: float) -> float:
        """A number between ``low`` and ``high``, in thousandths."""
        return self.integer(round(low * 1000), round(high * 1000)) / 1000
