"""Realistic, deterministic KAM histories for property tests: a hypothesis adapter over the
one history generator (``kam_api.demo``).

A history is a list of ``Step``s from the generator's random walk: commands that name what
they act on by reference ("account 0", "action 1 of plan 0"), resolved when the history runs,
so a shrunk history still means something. Most steps are accepted; some are wrong on purpose
(a missing reason, a stage skipped, a handover acknowledged by the wrong person). Every
choice comes from one ``Choices`` source: ``build_history(random.Random(seed), ...)`` gives
a deterministic history for a seed, and ``histories(...)`` draws the choices from hypothesis.
``apply_history`` runs one through the application (see ``kam_api.demo.steps.Runner``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from kam_api.demo import (
    ACCEPTED,
    SKIPPED,
    HistoryResult,
    RandomChoices,
    Step,
    random_history,
    run_history,
)
from kam_domain.application import KamApplication

__all__ = [
    "ACCEPTED",
    "SKIPPED",
    "HistoryResult",
    "Step",
    "apply_history",
    "build_history",
    "histories",
]


class DrawnChoices:
    """Choices drawn from hypothesis, which shrinks them towards the low, plain ones."""

    def __init__(self, draw: Callable[[st.SearchStrategy[int]], int]) -> None:
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))


def build_history(rng: random.Random, n_accounts: int = 3, n_steps: int = 60) -> list[Step]:
    """A deterministic history for the seed of ``rng``: ``n_steps`` steps over at most
    ``n_accounts`` accounts."""
    return random_history(RandomChoices(rng), n_accounts, n_steps)


@st.composite
def _histories(draw: st.DrawFn, max_accounts: int, max_steps: int) -> list[Step]:
    n_accounts = draw(st.integers(1, max_accounts))
    n_steps = draw(st.integers(0, max_steps))
    return random_history(DrawnChoices(draw), n_accounts, n_steps)


def histories(max_accounts: int = 3, max_steps: int = 60) -> st.SearchStrategy[list[Step]]:
    """Histories of up to ``max_steps`` steps over at most ``max_accounts`` accounts."""
    return _histories(max_accounts, max_steps)


def apply_history(
    app: KamApplication,
    steps: Sequence[Step],
    *,
    namespace: str | None = None,
    after_step: Callable[[Step, str], None] | None = None,
) -> HistoryResult:
    """Runs the steps through the application service, one command each.

    Account names get ``namespace`` appended so several histories fit in one store; by
    default it is derived from the store's current position (empty for an empty store), so
    applying more histories to the same application never collides on names.
    ``after_step(step, outcome)`` is called after each step (e.g. to process a projection
    part-way through a history).
    """
    if namespace is None:
        start = app.recorder.max_notification_id() or 0
        namespace = f"#{start}" if start else ""
    return run_history(app, steps, name_suffix=namespace, after_step=after_step)
