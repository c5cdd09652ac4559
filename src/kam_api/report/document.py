"""The document the handover report is laid out as (sections of tables, lists and lines), and
the formatting of its values, shared by the layout and the Markdown and HTML writers.

Every piece of user text stays a plain ``str`` here: escaping is the writers' job, which is
what makes both formats safe against any text the history holds. Values are formatted here
(money, percentages, dates) so both formats agree to the character.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit
from uuid import UUID

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
    """Log positions of the events a fact comes from; the writers show each as the event's
    name (``Document.cited``), linked to it where the document has links."""

    positions: tuple[int, ...]


Inline = str | Strong | Note | Mark | Sources
Line = tuple[Inline, ...]  # fragments, shown separated by single spaces


def warn_if(condition: bool, value: str) -> Inline:
    """``value``, marked as a warning when ``condition`` holds."""
    return Mark(value, "warn") if condition else value


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
    number: int | None  # None: an unnumbered section (the first-week summary)
    title: str
    blocks: tuple[Block, ...]
    new_page: bool = False  # printing: start this section on a fresh page
    boxed: bool = False

    @property
    def anchor(self) -> str:
        return "first-week" if self.number is None else f"s{self.number}"

    @property
    def heading(self) -> str:
        return self.title if self.number is None else f"{self.number}. {self.title}"


@dataclass(frozen=True)
class Cited:
    """An event the document cites: its type in words and the day it happened."""

    words: str
    on: date | None

    def title(self, position: int) -> str:
        """What a link's title says of the event: its name, day and log position."""
        day = f", {self.on.isoformat()}" if self.on else ""
        return f"{self.words}{day} (log position {position})"


@dataclass(frozen=True)
class Document:
    account_id: UUID
    account_name: str
    header: Fields
    sections: tuple[Section, ...]
    cited: Mapping[int, Cited]  # by log position

    def cited_as(self, position: int) -> Cited:
        return self.cited.get(position) or Cited("event", None)


def history_link(base_url: str, account_id: UUID, position: int) -> str:
    """Where a reader of the account opens one event: the account's history at its position
    (``GET /accounts/{id}/history?position=``, open to everyone who may read the account)."""
    return f"{base_url.rstrip('/')}/accounts/{account_id}/history?position={position}"


def check_base_url(value: str) -> str:
    """An absolute http(s) address without query or fragment, for the report's links."""
    if _URL_UNSAFE.search(value.strip()):
        raise ValueError("must not hold spaces, quotes, backslashes or angle brackets")
    parsed = urlsplit(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("must be an absolute http(s) URL, e.g. https://kam.example.com")
    if parsed.query or parsed.fragment:
        raise ValueError("must not have a query or a fragment")
    return value.strip().rstrip("/")


#: Event types whose name alone does not say what they act on.
_EVENT_WORDS = {
    "Registered": "account registered",
    "Classified": "account classified",
    "Reevaluated": "account re-evaluated",
    "Exited": "account exited",
    "Drafted": "plan drafted",
    "Reviewed": "plan reviewed",
    "Closed": "plan closed",
    "SharedWithCustomer": "plan shared with the customer",
    "Identified": "stakeholder identified",
    "LeftCompany": "left the company",
    "FeedbackRecorded": "customer feedback recorded",
    "RelationshipAssessed": "relationship assessed",
}
_URL_UNSAFE = re.compile(r"[\s<>\"'\\`]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def event_words(event_type: str) -> str:
    """An event's class name as words: ``ActionCompleted`` (or ``AccountPlan.ActionCompleted``)
    -> ``action completed``."""
    name = event_type.rsplit(".", 1)[-1]
    return _EVENT_WORDS.get(name) or _CAMEL.sub(" ", name).lower()


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
