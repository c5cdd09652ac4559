"""What the portfolio page shows beside its table: the summary and the charts' geometry
(matrix, Pareto curve, tiers against caps, managers' load), kept while the read models stand
still.

The summary and charts read every live account (10,000 in a large portfolio), the table only a
page of them: they are computed once per state of the read models (the projector's positions
and generations), day and filter, and reused until a new event is projected.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from kam_api.settings import Settings
from kam_api.web.templating import Pages
from kam_projections.db import ViewDatabase
from kam_projections.freshness import models_state
from kam_projections.portfolio_charts import managers, matrix, pareto_curve, pending_handovers
from kam_projections.portfolio_reads import PortfolioFilter, portfolio_summary
from kam_store.bounded_cache import BoundedCache

#: The matrix's plot area in its viewBox (0 0 MATRIX_SIZE MATRIX_SIZE).
MATRIX_SIZE = 400
MATRIX_LEFT, MATRIX_TOP, MATRIX_PLOT = 48, 12, 336
#: The Pareto chart's viewBox (0 0 PARETO_WIDTH PARETO_HEIGHT) and plot area.
PARETO_WIDTH, PARETO_HEIGHT = 400, 260
PARETO_LEFT, PARETO_TOP, PARETO_PLOT_W, PARETO_PLOT_H = 48, 12, 336, 200
#: At most this many accounts are drawn one by one in the matrix (the largest by revenue).
MATRIX_POINTS = 400


def _x(value: float) -> float:
    return round(MATRIX_LEFT + MATRIX_PLOT * value / 100, 1)


def _y(value: float) -> float:
    return round(MATRIX_TOP + MATRIX_PLOT * (1 - value / 100), 1)


def matrix_chart(views: ViewDatabase, where: PortfolioFilter) -> dict[str, Any]:
    """The matrix with each point and grid cell placed in the viewBox."""
    found = matrix(views, where, limit=MATRIX_POINTS)
    size = found["cell_size"]
    busiest = max((c["accounts"] for c in found["cells"]), default=1)
    found["points"] = [
        {**p, "x": _x(p["attractiveness"]), "y": _y(p["health"])} for p in found["points"]
    ]
    found["cells"] = [
        {
            **c,
            "x": _x(c["attractiveness_from"]),
            "y": _y(c["health_from"] + size),
            "size": round(MATRIX_PLOT * size / 100, 1),
            # Darker for busier cells, never fully opaque (the points stay readable on top).
            "opacity": round(0.08 + 0.5 * c["accounts"] / busiest, 2),
        }
        for c in found["cells"]
    ]
    found["sampled"] = found["scored"] > len(found["points"])
    found["split"] = {"x": _x(50), "y": _y(50)}
    found["ticks"] = [{"value": v, "x": _x(v), "y": _y(v)} for v in (0, 25, 50, 75, 100)]
    return found


def pareto_chart(views: ViewDatabase) -> dict[str, Any]:
    """The Pareto curve as a polyline, with the top 20 % shaded."""
    found = pareto_curve(views)
    ranked = found["ranked"]

    def x(rank: float) -> float:
        return round(PARETO_LEFT + PARETO_PLOT_W * rank / ranked, 1) if ranked else PARETO_LEFT

    def y(share: float) -> float:
        return round(PARETO_TOP + PARETO_PLOT_H * (1 - share), 1)

    curve = found["curve"]
    line = [(PARETO_LEFT, y(0))] + [(x(c["rank"]), y(c["cumulative_share"])) for c in curve]
    top_share = next((c["cumulative_share"] for c in curve if c["rank"] == found["top20"]), 0.0)
    found.update(
        polyline=" ".join(f"{px},{py}" for px, py in line),
        top20_x=x(found["top20"]),
        top20_share=top_share,
        top20_y=y(top_share),
        ticks=[{"share": s, "y": y(s)} for s in (0, 0.25, 0.5, 0.75, 1)],
        base_y=y(0),
        right=PARETO_LEFT + PARETO_PLOT_W,
    )
    return found


def summary_view(views: ViewDatabase, settings: Settings) -> dict[str, Any]:
    """The portfolio summary, tiers against their caps and managers' load with bar widths."""
    summary = portfolio_summary(views, settings.tier_caps, settings.reporting_currency)
    for tier in summary["tiers"]:
        cap = tier["cap"]
        tier["over"] = cap > 0 and tier["accounts"] > cap
        tier["fill"] = min(100, round(100 * tier["accounts"] / cap)) if cap else 0
    most = max((m["accounts"] for m in summary["accounts_per_manager"]), default=1)
    for load in summary["accounts_per_manager"]:
        load["fill"] = round(100 * load["accounts"] / most)
    summary["handovers"] = pending_handovers(views)
    summary["managers"] = managers(views)
    summary["pareto"] = pareto_chart(views)
    return summary


@dataclass
class _Entry:
    state: tuple[Any, ...]
    value: Any


class StateCache:
    """Values computed from the read models, each kept under a key until the read models
    move on (``state``: the projector's positions and generations, read per request); at
    most ``size``, the most recently used."""

    def __init__(self, name: str, size: int = 64) -> None:
        self.entries: BoundedCache[Hashable, _Entry] = BoundedCache(name, size)

    state = staticmethod(models_state)

    def get(self, key: Hashable, state: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """The value kept under ``key`` if computed in this ``state``, else ``compute()``."""
        entry = self.entries.get(key)
        if entry is not None and entry.state == state:
            return entry.value
        value = compute()
        self.entries.put(key, _Entry(state, value))
        return value


@dataclass(frozen=True)
class TablePart:
    """One page of the table, rendered, and the cursor of the next."""

    html: Markup
    next_cursor: str | None


class PortfolioCaches:
    """The portfolio page's parts, each kept while the read models stand still: the summary
    (per day), the rendered summary and charts (per day and filter) and pages of the table
    (per day, filter, sort and cursor). None holds anything of the user who asked."""

    def __init__(self, size: int = 256) -> None:
        self.summaries = StateCache("portfolio_summaries", max(1, size // 64) if size else 0)
        self.fragments = StateCache("portfolio_fragments", max(1, size // 8) if size else 0)
        self.tables = StateCache("portfolio_table_pages", size)

    state = staticmethod(StateCache.state)


def fragment(pages: Pages, template: str, context: dict[str, Any]) -> Markup:
    """A part of a page, rendered (autoescaped) for reuse inside the page's template."""
    return Markup(pages.env.get_template(template).render(context))
