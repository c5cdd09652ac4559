"""Reading relationship health: one account's health as of any day with its trend, from the
facts dated up to each day (``rm_health_log``), and the stored scores, weakest first. The rows
are written by ``HealthModel`` (``health.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from kam_domain.cadence import KeyPerson
from kam_projections.cadence import contact_cadence
from kam_projections.db import ViewDatabase
from kam_projections.health import TREND_POINTS, score_row
from kam_projections.health_history import FactRow, HealthHistory
from kam_projections.health_model import (
    HealthInputs,
    HealthWeights,
    InteractionFacts,
    compute_health,
)
from kam_projections.pagination import Page, decode_cursor, encode_cursor, position, uuid_text


def _month_ends(today: date, count: int) -> list[date]:
    """``today`` and the ends of the ``count - 1`` months before it, oldest first (fewer in
    January of year 1: the calendar has no earlier months)."""
    points, current = [], today
    for _ in range(count):
        points.append(current)
        first = current.replace(day=1)
        if first == date.min:
            break
        current = first - timedelta(days=1)
    return list(reversed(points))


def account_health(
    views: ViewDatabase, account_id: UUID, *, today: date, weights: HealthWeights | None = None
) -> dict[str, Any] | None:
    """Score, band, components, flags as of ``today`` and the trend over the last 12 months,
    each from the facts that happened up to its day (``rm_health_log``); None for an account
    the health model does not know, or not registered by ``today``."""
    rows = views.query(
        "SELECT on_date, position, kind, subject, data FROM rm_health_log "
        "WHERE account_id = :a AND on_date <= :today ORDER BY on_date, position",
        {"a": str(account_id), "today": today.isoformat()},
    )
    values: dict[str, Any] = {}  # most rows hold one of a few values (a sentiment): parse once
    facts = [
        FactRow(
            date.fromisoformat(r["on_date"]),
            r["position"],
            r["kind"],
            r["subject"],
            values.get(r["data"]) or values.setdefault(r["data"], json.loads(r["data"])),
        )
        for r in rows
    ]
    return health_as_of(str(account_id), facts, today, weights or HealthWeights())


def health_as_of(
    account: str, facts: Sequence[FactRow], today: date, weights: HealthWeights
) -> dict[str, Any] | None:
    """``account_health`` over an account's fact rows (in day, position order): the model
    with each trend day as "today" over the facts dated up to it, in one pass; no point
    before the registration day, and None when ``today`` is before it."""
    history, applied, points = HealthHistory(), 0, []
    # Every point sees the interactions up to ``today`` (the model ignores those after its
    # day), so they are indexed once for the whole trend, and only the other facts are folded.
    contacts = tuple(
        InteractionFacts(f.subject, f.on, f.data["sentiment"])
        for f in facts
        if f.kind == "InteractionLogged"
    )
    others = [f for f in facts if f.kind != "InteractionLogged"]
    first: HealthInputs | None = None
    inputs: HealthInputs | None = None
    for day in _month_ends(today, TREND_POINTS):
        while applied < len(others) and others[applied].on <= day:
            history.apply(others[applied])
            applied += 1
        registered = history.registered_on
        if registered is not None and registered <= day:
            inputs = history.inputs(contacts)
            first = inputs.sharing_contacts(first) if first is not None else inputs
            points.append(compute_health(inputs, day, weights))
    if inputs is None or points[-1].as_of != today:
        return None
    row = score_row(account, points[-1])
    key_people = [
        KeyPerson(s.stakeholder_id, s.buying_role, s.left_on) for s in inputs.stakeholders
    ]
    return {
        **row,
        "components": json.loads(row["components"]),
        "flags": json.loads(row["flags"]),
        "trend": [
            {"on": point.as_of.isoformat(), "score": point.score, "band": point.band}
            for point in points
        ],
        **contact_cadence(
            history.service_profile,
            key_people,
            inputs.contacts.last_per_person(today),
            today,
        ),
    }


def health_list(
    views: ViewDatabase, *, band: str | None = None, limit: int = 50, cursor: str | None = None
) -> Page:
    """Stored scores, weakest first (then by account id), optionally of one band."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1}
    if band:
        clauses.append("band = :band")
        params["band"] = band
    if cursor:
        values = decode_cursor(cursor, position, uuid_text)
        clauses.append("(score > :c_score OR (score = :c_score AND account_id > :c_id))")
        params["c_score"], params["c_id"] = int(values[0]), str(values[1])
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = views.query(
        f"SELECT * FROM rm_health {where} ORDER BY score, account_id LIMIT :limit", params
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {**r, "components": json.loads(r["components"]), "flags": json.loads(r["flags"])}
        for r in rows
    ]
    next_cursor = encode_cursor([rows[-1]["score"], rows[-1]["account_id"]]) if more else None
    return Page(items=items, next_cursor=next_cursor)
