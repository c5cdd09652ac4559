"""Where the read models stand, as one small query: what conditional GETs (``ETag``) and the
web app's kept page parts are keyed by; and waiting until they pass a position
(``wait_for_position``, read-your-writes).

The state is the tracked models' lowest and highest positions, the sum of their generations
(a rebuild bumps one) and how many there are. Equal states, equal read models: a page read at
one state is the page at any later equal state (given the same question and the same day). A
page's query sends ``STATE_SQL`` first in its round trip, so the state it names is never newer
than the rows it answers with (a write landing between them only makes the next revalidation
answer 200 again, never a stale 304).
"""

from __future__ import annotations

import time
from typing import Any

from kam_projections.db import Row, ViewDatabase

STATE_SQL = (
    "SELECT MIN(position) AS low, MAX(position) AS high, SUM(generation) AS builds, "
    "COUNT(*) AS models FROM rm_tracking"
)

#: ``(low, high, builds, models)``
ModelsState = tuple[Any, ...]


def state_of(rows: list[Row]) -> ModelsState:
    """The state in the rows ``STATE_SQL`` answered."""
    row = rows[0]
    return (row["low"], row["high"], row["builds"], row["models"])


def wait_for_position(views: ViewDatabase, position: int, timeout: float) -> bool:
    """Read-your-writes: waits (polling) until every read model has passed ``position``."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        rows = views.query("SELECT MIN(position) AS position FROM rm_tracking")
        if rows and rows[0]["position"] is not None and rows[0]["position"] >= position:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)


def models_state(views: ViewDatabase) -> tuple[Any, ...]:
    """Where the read models stand: their lowest and highest positions, their generations
    (bumped by a rebuild) and how many there are. Equal states, equal read models: what the
    web app's kept page parts are keyed by."""
    return state_of(views.query(STATE_SQL))
