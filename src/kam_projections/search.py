"""Search: key accounts and stakeholders by name (and stakeholders by title).

One row per account (its name) and per stakeholder (name and title, personal data: see
``erasure.py``), with ``terms``, the folded text a query is matched against (case and accents
ignored: ``fold``). When a person's data is erased, ``erase`` rewrites their row as their
redacted history reads (the placeholders) and clears ``terms``, so they never match again; a
rebuild over the redacted events writes the same row.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from kam_domain.personal import ERASED
from kam_projections.db import Dialect, Tx, ViewDatabase
from kam_projections.events import KeyAccount, Relationship
from kam_projections.pagination import Page, decode_cursor, encode_cursor, text, uuid_text
from kam_projections.tables import Event, ReadModel

COLUMNS = ("entity_id", "kind", "account_id", "name", "title", "sort_key", "terms", "exited")


def fold(text: str) -> str:
    """Text as searches compare it: accents dropped, case folded, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def like_pattern(query: str) -> str:
    """A LIKE pattern (escape character ``\\``) matching text that contains the folded query."""
    folded = fold(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{folded}%"


#: The condition a ``terms`` column matches the ``:q`` pattern of ``like_pattern`` with.
MATCH_SQL = "LIKE :q ESCAPE '\\'"


def _terms(name: str, title: str | None) -> str:
    """Name and title folded, a line apart (a folded query has no line break, so it matches
    within one of them)."""
    return f"{fold(name)}\n{fold(title)}" if title else fold(name)


class SearchModel(ReadModel):
    name = "search"

    def __init__(self) -> None:
        super().__init__()
        self.rows = self.table("rm_search", ["entity_id"], COLUMNS)
        self.indexes = [("rm_search_sort", "rm_search", "sort_key, entity_id")]

    def ddl(self, dialect: Dialect, suffix: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS rm_search{suffix} (entity_id TEXT PRIMARY KEY, "
            "kind TEXT NOT NULL, account_id TEXT NOT NULL, name TEXT NOT NULL, title TEXT, "
            "sort_key TEXT NOT NULL, terms TEXT, exited INTEGER NOT NULL)"
        ]

    # --- Reactions (the table is ``reactions``, below) ----------------------------------

    def _registered(self, tx: Tx, event: Event, account: str) -> None:
        name = str(event.data["name"])
        self.rows.put(
            {
                "entity_id": account,
                "kind": "account",
                "account_id": account,
                "name": name,
                "title": None,
                "sort_key": fold(name),
                "terms": _terms(name, None),
                "exited": 0,
            }
        )

    def _exited(self, tx: Tx, event: Event, account: str) -> None:
        row = self.rows.get(tx, account)
        if row is not None:
            self.rows.put({**row, "exited": 1})

    def _identified(self, tx: Tx, event: Event, account: str) -> None:
        name, title = event.data["personal"].name, event.data.get("title")
        self.rows.put(
            {
                "entity_id": str(event.aggregate_id),
                "kind": "stakeholder",
                "account_id": account,
                "name": name,
                "title": title,
                "sort_key": fold(name),
                "terms": _terms(name, title),
                "exited": 0,
            }
        )

    def _title_corrected(self, tx: Tx, event: Event, account: str) -> None:
        row = self.rows.get(tx, str(event.aggregate_id))
        if row is not None:
            title = event.data.get("title")
            self.rows.put({**row, "title": title, "terms": _terms(row["name"], title)})

    reactions = {
        KeyAccount.Registered: _registered,
        KeyAccount.Exited: _exited,
        Relationship.Identified: _identified,
        Relationship.TitleCorrected: _title_corrected,
    }

    def erase(
        self, tx: Tx, erasure: Event, history: Sequence[Event], account_id: UUID | None
    ) -> None:
        """The person's row as their redacted history reads (name and title placeholders),
        matching no search."""
        person = str(erasure.aggregate_id)
        row = self.rows.get(tx, person)
        if row is None:
            return
        title = next(
            (
                e.data.get("title")
                for e in reversed(history)
                if e.cls in (Relationship.Identified, Relationship.TitleCorrected)
            ),
            None,
        )
        self.rows.put(
            {**row, "name": ERASED, "title": title, "sort_key": fold(ERASED), "terms": None}
        )


# --- Queries ----------------------------------------------------------------------------

#: The account-name condition the portfolio's ``q`` filter adds (its alias ``p``).
ACCOUNT_MATCH_SQL = (
    "p.account_id IN (SELECT s.entity_id FROM rm_search s "
    f"WHERE s.kind = 'account' AND s.terms {MATCH_SQL})"
)


@dataclass(frozen=True)
class SearchScope:
    """What a search may answer: stakeholders only for those who may read people."""

    people: bool


def search(
    views: ViewDatabase,
    query: str,
    scope: SearchScope,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Accounts (not exited) and, in scope, stakeholders (never an erased one) whose name or
    title contains the query, by name, one page at a time; each with its account's name."""
    clauses = [f"s.terms {MATCH_SQL}", "s.exited = 0"]
    params: dict[str, Any] = {"q": like_pattern(query), "limit": limit + 1}
    if not scope.people:
        clauses.append("s.kind = 'account'")
    if cursor:
        values = decode_cursor(cursor, text, uuid_text)
        clauses.append("(s.sort_key > :c_key OR (s.sort_key = :c_key AND s.entity_id > :c_id))")
        params["c_key"], params["c_id"] = values
    rows = views.query(
        "SELECT s.entity_id, s.kind, s.account_id, s.name, s.title, s.sort_key, "
        "a.name AS account_name FROM rm_search s "
        "LEFT JOIN rm_search a ON a.entity_id = s.account_id "
        f"WHERE {' AND '.join(clauses)} ORDER BY s.sort_key, s.entity_id LIMIT :limit",
        params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        encode_cursor([rows[-1]["sort_key"], rows[-1]["entity_id"]]) if more and rows else None
    )
    for row in rows:
        row.pop("sort_key")
    return Page(items=rows, next_cursor=next_cursor)
