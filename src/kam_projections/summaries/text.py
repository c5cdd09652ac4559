"""How summaries are written: limits, value formatting, the reason suffix."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from uuid import UUID

#: The longest summary, in characters.
MAX_LENGTH = 160

#: How much free text (interaction summaries, answers, outcomes, ...) a summary keeps.
TEXT_LIMIT = 60
#: How much of a label (an action's "what", a risk's title, ...) a summary keeps.
LABEL_LIMIT = 50
#: How much of ``meta.reason`` a summary keeps (less when the rest is long).
REASON_LIMIT = 70

_REASON_SEPARATOR = " — reason: "
_ELLIPSIS = "…"

Data = Mapping[str, Any]
Labels = Mapping[UUID, str]


# --- Formatting helpers -------------------------------------------------------------------


def one_line(text: object) -> str:
    """The text with every run of whitespace (newlines included) turned into one space."""
    return " ".join(str(text).split())


def clip(text: object, limit: int) -> str:
    """The text on one line, cut to ``limit`` characters with "…" (at a word when possible)."""
    line = one_line(text)
    if len(line) <= limit:
        return line
    if limit <= 1:
        return _ELLIPSIS[:limit]
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-—") + _ELLIPSIS


def word(value: object) -> str:
    """An enum or code as lower-case words: ``Stage.ACTION_PLAN`` -> "action plan"."""
    if isinstance(value, Enum):
        value = value.value
    return str(value).replace("_", " ").strip()


def day(value: object) -> str:
    """A date in ISO form (a datetime gives its date)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def num(value: object) -> str:
    """A number with thousands separators; whole numbers without decimals: "1,200,000.50"."""
    number = decimal(value)
    if number is None or not number.is_finite():
        return str(value)
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,f}"


def money(value: object, currency: object) -> str:
    return f"{num(value)} {currency}"


def percent_of_ratio(value: object) -> str:
    """A ratio as a percentage: 0.31 -> "31%", 0.315 -> "31.5%"."""
    number = decimal(value)
    if number is None or not number.is_finite():
        return f"{value}"
    try:
        percent = (number * 100).quantize(Decimal("0.1"))
    except InvalidOperation:
        return f"{num(number * 100)}%"
    return f"{num(percent)}%"


def signed(value: object) -> str:
    """A sentiment as "+2", "-1" or "0"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:+d}" if value else "0"
    return str(value)


def reason_of(data: Data) -> str | None:
    """``meta.reason`` (from an ``Envelope`` or a plain mapping), if it says anything."""
    meta = data.get("meta")
    reason = meta.get("reason") if isinstance(meta, Mapping) else getattr(meta, "reason", None)
    if reason is None:
        return None
    text = one_line(reason)
    return text or None


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def finish(main: str, reason: str | None) -> str:
    """The summary: main text, then " — reason: ..." if any, within ``MAX_LENGTH``."""
    text = one_line(main).rstrip(" .")
    because = clip(reason, REASON_LIMIT).rstrip(" .") if reason else ""
    if because:
        room = MAX_LENGTH - len(_REASON_SEPARATOR) - len(because)
        if len(text) > room:
            text = clip(text, room)
        text = f"{text}{_REASON_SEPARATOR}{because}"
    text = clip(text, MAX_LENGTH).rstrip(" .")
    return capital(text) if text else "Event recorded"


def label_of(labels: Labels, value: object) -> str:
    """The label of an id, as " 'Run the QBR'", if the caller has one; else ""."""
    label = labels.get(value) if isinstance(value, UUID) else None
    return f" '{clip(label, LABEL_LIMIT)}'" if label else ""


def quoted(text: object) -> str:
    return f"'{clip(text, LABEL_LIMIT)}'"


def changed(what: str, previous: object, current: str) -> str:
    """E.g. "Manager assigned: eve" or "Manager changed from ann to eve"."""
    if previous is None or previous == "":
        return f"{what} assigned: {current}"
    return f"{what} changed from {clip(previous, 40)} to {current}"


#: Summarises one event: (its data, labels of things by id) -> the main text.
Summariser = Callable[[Data, Labels], str]
