"""One history generator: a deterministic, seed-driven description of a portfolio's life.

- ``steps``: a history is a list of ``Step``s (a command, its envelope, the reference of
  what it creates); one ``Runner`` sends them through ``KamApplication.handle``, resolving
  references to the ids created so far and recording each step's outcome.
- ``accounts``, ``plans``, ``stakeholders``: a planner per aggregate keeps a small model of
  it and proposes plausible next steps on a given day.
- ``story``: the portfolio's life by the calendar (the demo and the benchmarks);
  ``walk``: a random walk through the planners' moves, with deliberate mistakes (the tests).
- ``choices``: every choice comes from one source, ``random.Random(seed)`` or hypothesis.
- ``load``: ``kam demo`` (``load_demo``).

Depends only on ``kam_domain``.
"""

from __future__ import annotations

from kam_api.demo.choices import Choices, Chooser, RandomChoices
from kam_api.demo.load import (
    DemoAlreadyLoadedError,
    DemoSummary,
    demo_account_names,
    demo_story,
    load_demo,
)
from kam_api.demo.steps import (
    ACCEPTED,
    SKIPPED,
    HistoryResult,
    Kind,
    Runner,
    Step,
    parse,
    ref,
    run_history,
)
from kam_api.demo.story import PortfolioStory
from kam_api.demo.walk import random_history

__all__ = [
    "ACCEPTED",
    "SKIPPED",
    "Choices",
    "Chooser",
    "DemoAlreadyLoadedError",
    "DemoSummary",
    "HistoryResult",
    "Kind",
    "PortfolioStory",
    "RandomChoices",
    "Runner",
    "Step",
    "demo_account_names",
    "demo_story",
    "load_demo",
    "parse",
    "random_history",
    "ref",
    "run_history",
]
