"""Lists over read models: cursor pagination (an opaque cursor holds the sort key of the last
row of a page) and optional filters."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID


class InvalidCursorError(ValueError):
    """The cursor was not produced by this service (or is for another sort)."""


@dataclass(frozen=True)
class Page:
    """One page of rows and the cursor of the next page (None on the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


#: A check of one value of a cursor: true when the value is of the expected shape.
Part = Callable[[Any], bool]
_MAX_BIGINT = 2**63 - 1


def position(value: Any) -> bool:
    """A log position or other non-negative whole number that fits a BIGINT."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_BIGINT


def number(value: Any) -> bool:
    """A finite number of a sort key (revenue, score)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and abs(value) < 1e300


def text(value: Any) -> bool:
    """A string a text column can hold (no NUL), of a sane length."""
    return isinstance(value, str) and len(value) <= 1000 and "\x00" not in value


def uuid_text(value: Any) -> bool:
    """A UUID in its string form."""
    if not isinstance(value, str) or len(value) > 36:
        return False
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def iso_day(value: Any) -> bool:
    """A day as YYYY-MM-DD."""
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def equal_to(expected: Any) -> Part:
    """The value is exactly ``expected`` (e.g. the sort the cursor was made for)."""
    return lambda value: isinstance(value, type(expected)) and value == expected


def decode_cursor(cursor: str, *shape: Part) -> list[Any]:
    """The values a cursor holds, checked as a whole against ``shape`` (one check per value):
    a cursor not made by this list (another sort, another list, edited) is an
    ``InvalidCursorError`` (400), never a failing query."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, RecursionError) as error:
        raise InvalidCursorError("cursor is not valid") from error
    if not isinstance(values, list) or len(values) != len(shape) or not shape:
        raise InvalidCursorError("cursor is not valid for this list")
    if not all(check(value) for check, value in zip(shape, values, strict=True)):
        raise InvalidCursorError("cursor is not valid for this list")
    return values


def add_filters(
    clauses: list[str], params: dict[str, Any], filters: Mapping[str, tuple[str, object]]
) -> None:
    """Adds each filter that is set (truthy), given as ``{parameter: (condition, value)}`` with
    the condition naming its parameter (``"p.tier = :tier"``), to a query's clauses and
    parameters."""
    for name, (condition, value) in filters.items():
        if value:
            clauses.append(condition)
            params[name] = value
