"""An agenda: what is due on which day in a story, as handlers that write steps."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from itertools import count
from typing import Any

from kam_api.demo.choices import Chooser
from kam_api.demo.steps import Step

Handler = Callable[..., Iterable[Step]]


class Agenda:
    """Handlers due on given days, called in day order (then in the order they were put on
    the agenda); a handler writes the day's steps and may put more on the agenda."""

    def __init__(self, choose: Chooser) -> None:
        self.choose = choose
        self.entries: list[tuple[date, int, Handler, tuple[Any, ...]]] = []
        self.order = count()

    def on(self, day: date, handler: Handler, *args: Any) -> None:
        heapq.heappush(self.entries, (day, next(self.order), handler, args))

    def within(self, day: date, low: int, high: int, handler: Handler, *args: Any) -> None:
        """Puts ``handler`` on the agenda ``low`` to ``high`` days after ``day``."""
        self.on(self.choose.days_after(day, low, high), handler, *args)

    def __iter__(self) -> Iterator[tuple[date, Handler, tuple[Any, ...]]]:
        while self.entries:
            day, _, handler, args = heapq.heappop(self.entries)
            yield day, handler, args
