"""Lists as CSV (RFC 4180), streamed: chosen by ``Accept: text/csv`` or ``?format=csv``.

The rows are fetched a page at a time (the list's own keyset pagination) and written as they
come, so an export of the whole portfolio never holds it in memory. Each row is the list's JSON
item (its public schema, in field order; lists and objects as compact JSON); a text cell that
a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return) is prefixed with ``'`` (CSV injection). Numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, TypeAdapter

from kam_projections.pagination import Page

MEDIA_TYPE = "text/csv"
#: Rows fetched per page when exporting.
EXPORT_PAGE = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Format = Annotated[
    Literal["json", "csv"] | None,
    Query(
        description="csv: the whole list (every page from ``cursor`` on, ``limit`` ignored) as "
        "text/csv; the same as sending ``Accept: text/csv``"
    ),
]

#: The OpenAPI description of a list's text/csv answer (beside its JSON one).
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            MEDIA_TYPE: {
                "schema": {"type": "string"},
                "example": "account_id,name\r\n5f0c…,Acme Industrial\r\n",
            }
        },
        "description": "The list; as CSV (a header row, then every matching row, streamed) "
        "when asked with ``Accept: text/csv`` or ``format=csv``.",
    }
}


def wants_csv(request: Request, format: str | None) -> bool:
    """Whether the answer is CSV: ``format`` decides if given, else the Accept header (text/csv
    accepted, and preferred to JSON)."""
    if format is not None:
        return format == "csv"
    weights: dict[str, float] = {}
    for part in request.headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media.lower()] = max(weight, weights.get(media.lower(), 0.0))
    csv_weight = weights.get(MEDIA_TYPE, 0.0)
    json_weight = max(weights.get("application/json", 0.0), weights.get("*/*", 0.0))
    return csv_weight > 0 and csv_weight >= json_weight


def cell(value: Any) -> Any:
    """One CSV cell: collections as JSON, text guarded against formulas."""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if isinstance(value, (list, dict)):
        return cell(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    return value


def csv_lines(columns: list[str], rows: Iterable[Sequence[Mapping[str, Any]]]) -> Iterator[str]:
    """The header, then each batch of rows, as CSV text (CRLF line ends, minimal quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for batch in rows:
        writer.writerows([cell(row.get(c)) for c in columns] for row in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def pages(fetch: Callable[[str | None, int], Page], cursor: str | None) -> Iterator[Page]:
    """Every page of a list from ``cursor`` on, ``EXPORT_PAGE`` rows at a time."""
    while True:
        page = fetch(cursor, EXPORT_PAGE)
        yield page
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def csv_response(
    name: str,
    schema: type[BaseModel],
    fetch: Callable[[str | None, int], Page],
    cursor: str | None = None,
    *,
    exclude: frozenset[str] = frozenset(),
) -> StreamingResponse:
    """The list as a streamed CSV attachment ``name.csv``: ``fetch(cursor, size)`` gives a
    page of rows (as the JSON list's items), ``schema`` their public schema. The first page is read
    before answering, so a bad cursor or filter is still a problem+json answer."""
    columns = [f for f in schema.model_fields if f not in exclude]
    every = pages(fetch, cursor)
    first = next(every)
    rows = TypeAdapter(list[schema])  # type: ignore[valid-type]

    def public(page: Page) -> list[dict[str, Any]]:
        dumped: list[dict[str, Any]] = rows.dump_python(
            rows.validate_python(page.items), mode="json"
        )
        return dumped

    def batches() -> Iterator[list[dict[str, Any]]]:
        yield public(first)
        for page in every:
            yield public(page)

    return StreamingResponse(
        csv_lines(columns, batches()),
        media_type=f"{MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
