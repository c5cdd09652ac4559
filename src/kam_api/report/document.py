"""The document the handover report is laid out as (sections of tables, lists and lines), and
the formatting of its values, shared by the layout and the Markdown and HTML writers.

Every piece of user text stays a plain ``str`` here: escaping is the writers' job, which is
what makes both formats safe against any text the history holds. Values are formatted here
(money, percentages, dates) so both formats agree to the character.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from kam_projections.handover.model import TrendPointPublic

BANDS = ("green", "amber", "red")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")
DASH = "—"
NONE_RECORDED = "None recorded."
NO_TREND = "No health trend recorded yet."


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Note:
    """Text about the data rather than data (``erased``, ``present``): shown in italics."""

    text: str


@dataclass(frozen=True)
class Mark:
    """A label the reader must not miss; ``kind`` is one of ours, never user text."""

    text: str
    kind: str  # reassign | warn | green | amber | red | unknown


@dataclass(frozen=True)
class Sources:
    positions: tuple[int, ...]


Inline = str | Strong | Note | Mark | Sources
Line = tuple[Inline, ...]  # fragments, shown separated by single spaces


@dataclass(frozen=True)
class Fields:
    items: tuple[tuple[str, Line], ...]


@dataclass(frozen=True)
class Row:
    cells: tuple[Line, ...]
    mark: str | None = None  # reassign: the row itself stands out


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    empty: str = NONE_RECORDED


@dataclass(frozen=True)
class Bullets:
    items: tuple[Line, ...]
    empty: str = NONE_RECORDED


@dataclass(frozen=True)
class Para:
    line: Line


@dataclass(frozen=True)
class Sub:
    title: str


@dataclass(frozen=True)
class Chart:
    """The health trend: an SVG chart in HTML, a table in Markdown."""

    trend: tuple[TrendPointPublic, ...]


Block = Fields | Table | Bullets | Para | Sub | Chart


@dataclass(frozen=True)
class Section:
    number: int
    title: str
    blocks: tuple[Block, ...]
    new_page: bool = False  # printing: start this section on a fresh page
    boxed: bool = False


@dataclass(frozen=True)
class Document:
    account_name: str
    header: Fields
    sections: tuple[Section, ...]


# --- values ------------------------------------------------------------------------------


def clean(value: str) -> str:
    """Control characters dropped, runs of white space (line breaks too) made one space: the
    writers' first step, so no text can break a line, a table row or the XML of the chart."""
    return _SPACE.sub(" ", _CONTROL.sub("", value)).strip()


def src(positions: Iterable[int]) -> Sources:
    return Sources(tuple(sorted(set(positions))))


def label(value: str | None) -> str:
    """A stored code as words: ``action_plan`` -> ``action plan``."""
    return DASH if value is None else value.replace("_", " ")


def text(value: str | None) -> str:
    return DASH if value is None or not value.strip() else value


def day(value: date | None) -> str:
    return DASH if value is None else value.isoformat()


def moment(value: datetime) -> str:
    return value.isoformat(sep=" ", timespec="minutes")


def yes_no(value: bool | None) -> str:
    return DASH if value is None else "yes" if value else "no"


def number(value: float) -> str:
    """Thousands separators; decimals only when the value has them (up to two)."""
    if not math.isfinite(value):
        return DASH
    value += 0.0  # no "-0"
    if value == round(value) and abs(value) < 1e15:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def money(value: float | None, currency: str | None) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    return f"{number(value)} {currency}" if currency else number(value)


def ratio(value: float | None) -> str:
    """A fraction as a percentage with one decimal: 0.345 -> ``34.5 %``."""
    pct = None if value is None else value * 100 + 0.0
    return DASH if pct is None or not math.isfinite(pct) else f"{pct:.1f} %"


def percent(value: int | None) -> str:
    return DASH if value is None else f"{value} %"


def cols(spec: str) -> tuple[str, ...]:
    """Table headers written as one line: ``"Plan | Due"``."""
    return tuple(name.strip() for name in spec.split("|"))


def row(*cells: Inline | Line, mark: str | None = None) -> Row:
    """A table row; a cell is one fragment or a line of them."""
    return Row(tuple(c if isinstance(c, tuple) else (c,) for c in cells), mark)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
