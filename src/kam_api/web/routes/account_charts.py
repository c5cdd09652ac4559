"""The account page's charts: inline SVG drawn on the server (no script), each with a title
for screen readers; the page shows the same numbers as a table beside it. Every text in them
is escaped here (the SVG is marked safe as a whole)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 32, 16, 36


@dataclass(frozen=True)
class Series:
    """A line: its name, CSS class and one value per x label (None: no point there)."""

    name: str
    css: str
    values: Sequence[float | None]


def _scale(values: Sequence[float], top: float | None) -> float:
    peak = max([v for v in values if v is not None] or [0.0]) if top is None else top
    return peak if peak > 0 else 1.0


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], *, top: float | None = None
) -> Markup:
    """Lines over ``labels`` (``top``: the y axis's maximum, else the largest value)."""
    values = [v for s in series for v in s.values if v is not None]
    peak = _scale(values, top)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return LEFT + (i * step if len(labels) > 1 else inner_w / 2)

    def y(v: float) -> float:
        return TOP + inner_h - (v / peak) * inner_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for frac in (0, 0.5, 1):
        gy = y(peak * frac)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">'
            f"{escape(_short(peak * frac))}</text>"
        )
    every = max(1, len(labels) // 8)  # at most ~8 labels fit under the axis
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text class="axis" x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    for s in series:
        points = [(x(i), y(v)) for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline class="{escape(s.css)}" fill="none" points="{path}"/>')
        parts.extend(
            f'<circle class="{escape(s.css)}" cx="{px:.1f}" cy="{py:.1f}" r="3"/>'
            for px, py in points
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(value: float) -> str:
    """An axis number: 1.2M, 350k, 80."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}"


def money_value(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
