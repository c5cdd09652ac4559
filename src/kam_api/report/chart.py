"""The relationship-health trend as an inline SVG line chart for the printable report.

Plain SVG, no script and no external reference, so it prints and opens offline. Points are
coloured by band and also shaped by band (circle, square, diamond), so the chart still reads
in grey. The band thresholds are read off ``band_for``, the health model's own rule, so the
chart cannot drift from the scores it draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from kam_api.report.document import clean
from kam_projections.handover.model import TrendPointPublic
from kam_projections.health_model import band_for

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 92, 14, 40
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_LABELS = 12
COLOURS = {"green": "#1b7f3b", "amber": "#b36b00", "red": "#c0262d"}
OTHER = "#666666"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
GREEN_FROM = min(score for score in range(101) if band_for(score) == "green")
AMBER_FROM = min(score for score in range(101) if band_for(score) == "amber")


def trend_svg(trend: Sequence[TrendPointPublic]) -> str:
    """The chart for a non-empty trend (the caller says so in words when there is none)."""
    dates = _dates(trend)
    points = sorted(zip(dates, trend, strict=True), key=lambda p: p[0]) if dates else None
    ordered = [p for _, p in points] if points else list(trend)
    xs = _x_by_date([d for d, _ in points]) if points else _x_by_index(len(ordered))
    first, last = ordered[0], ordered[-1]
    title = (
        f"Relationship health trend: {len(ordered)} points from {first.on} to {last.on}; "
        f"latest score {last.score} ({last.band})"
    )
    parts = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'role="img" aria-labelledby="trend-title">',
        f'<title id="trend-title">{escape(clean(title))}</title>',
        *_bands(),
        *_y_axis(),
        *(_x_labels([d for d, _ in points]) if points else _index_labels(ordered, xs)),
        _line(xs, ordered),
        *(_marker(x, p) for x, p in zip(xs, ordered, strict=True)),
        "</svg>",
    ]
    return "\n".join(parts)


def _dates(trend: Sequence[TrendPointPublic]) -> list[date] | None:
    """The points' days, or None when any is not an ISO date (then points are evenly spaced)."""
    try:
        return [date.fromisoformat(p.on[:10]) for p in trend]
    except ValueError:
        return None


def _y(score: int) -> float:
    return TOP + (100 - max(0, min(100, score))) / 100 * PLOT_H


def _x_by_date(days: list[date]) -> list[float]:
    return [_x_at(d, days[0], days[-1]) for d in days]


def _x_at(day: date, first: date, last: date) -> float:
    span = (last - first).days
    return LEFT + PLOT_W / 2 if span == 0 else LEFT + (day - first).days / span * PLOT_W


def _x_by_index(n: int) -> list[float]:
    if n == 1:
        return [LEFT + PLOT_W / 2]
    return [LEFT + i / (n - 1) * PLOT_W for i in range(n)]


def _bands() -> list[str]:
    """Light zones and dashed threshold lines, labelled in words at the right."""
    right = LEFT + PLOT_W
    zones = [("green", 100, GREEN_FROM), ("amber", GREEN_FROM, AMBER_FROM), ("red", AMBER_FROM, 0)]
    out = [
        f'<rect x="{LEFT}" y="{_y(high):.1f}" width="{PLOT_W}" '
        f'height="{_y(low) - _y(high):.1f}" fill="{COLOURS[band]}" fill-opacity="0.08"/>'
        for band, high, low in zones
    ]
    for band, score in (("green", GREEN_FROM), ("amber", AMBER_FROM)):
        y = _y(score)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
            f'stroke="{COLOURS[band]}" stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<text x="{right + 6}" y="{y + 4:.1f}" fill="{COLOURS[band]}" '
            f'font-size="11">{band} ≥ {score}</text>'
        )
    out.append(
        f'<text x="{right + 6}" y="{_y(AMBER_FROM // 2) + 4:.1f}" fill="{COLOURS["red"]}" '
        f'font-size="11">red &lt; {AMBER_FROM}</text>'
    )
    return out


def _y_axis() -> list[str]:
    bottom = TOP + PLOT_H
    out = [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT + PLOT_W}" y2="{bottom}" stroke="#333"/>',
        f'<text x="10" y="{TOP + PLOT_H / 2:.1f}" font-size="11" '
        f'transform="rotate(-90 10 {TOP + PLOT_H / 2:.1f})" text-anchor="middle">score</text>',
    ]
    for score in range(0, 101, 20):
        y = _y(score)
        out.append(f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{LEFT}" y2="{y:.1f}" stroke="#333"/>')
        out.append(
            f'<text x="{LEFT - 7}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{score}</text>'
        )
    return out


def _tick(x: float, text: str) -> list[str]:
    bottom = TOP + PLOT_H
    return [
        f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#333"/>',
        f'<text x="{x:.1f}" y="{bottom + 18}" font-size="11" text-anchor="middle">'
        f"{escape(clean(text))}</text>",
    ]


def _x_labels(days: list[date]) -> list[str]:
    """A tick at the start of each month in the range (thinned to at most a dozen)."""
    first, last = days[0], days[-1]
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        start = date(year, month, 1)
        if start >= first:
            months.append(start)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if not months:  # the whole trend lies inside one month
        return _tick(_x_at(first, first, last), f"{MONTHS[first.month - 1]} {first.year}")
    step = -(-len(months) // MAX_LABELS)
    out: list[str] = []
    for start in months[::step]:
        out += _tick(_x_at(start, first, last), f"{MONTHS[start.month - 1]} {start.year}")
    return out


def _index_labels(points: list[TrendPointPublic], xs: list[float]) -> list[str]:
    step = -(-len(points) // MAX_LABELS)
    out: list[str] = []
    for point, x in list(zip(points, xs, strict=True))[::step]:
        out += _tick(x, point.on[:10])
    return out


def _line(xs: list[float], points: list[TrendPointPublic]) -> str:
    coords = " ".join(f"{x:.1f},{_y(p.score):.1f}" for x, p in zip(xs, points, strict=True))
    return f'<polyline points="{coords}" fill="none" stroke="#444" stroke-width="1.5"/>'


def _marker(x: float, point: TrendPointPublic) -> str:
    y = _y(point.score)
    colour = COLOURS.get(point.band, OTHER)
    tip = f"<title>{escape(clean(f'{point.on}: {point.score} ({point.band})'))}</title>"
    paint = f'fill="{colour}" stroke="#222" stroke-width="0.6"'
    if point.band == "amber":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" {paint}>{tip}</rect>'
    if point.band == "red":
        diamond = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}"
        return f'<polygon points="{diamond}" {paint}>{tip}</polygon>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" {paint}>{tip}</circle>'
