"""Where the read models stand, as one small query: what conditional GETs (``ETag``) and the
web app's kept page parts are keyed by.

The state is the tracked models' lowest and highest positions, the sum of their generations
(a rebuild bumps one) and how many there are. Equal states, equal read models: a page read at
one state is the page at any later equal state (given the same question and the same day). A
page's query sends ``STATE_SQL`` first in its round trip, so the state it names is never newer
than the rows it answers with (a write landing between them only makes the next revalidation
answer 200 again, never a stale 304).
"""

from __future__ import annotations

from typing import Any

from kam_projections.db import Row

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
