"""Lists over read models: cursor pagination (an opaque cursor holds the sort key of the last
row of a page) and optional filters."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as error:
        raise InvalidCursorError("cursor is not valid") from error
    if not isinstance(values, list) or not values:
        raise InvalidCursorError("cursor is not valid")
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
