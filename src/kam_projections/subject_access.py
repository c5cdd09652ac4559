"""The read-model rows about one person (a stakeholder), for a subject-access request.

Which rows: their events in the timeline, the labels of their commitments, their health facts
(the stakeholder row, their interactions, and the dated facts of their relationship in the
health log), the sources of their relationship's facts, their search row (name and title), and
the projector's own rows (which account they belong to; whether they were erased).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from kam_projections.db import Row, ViewDatabase


def rows_about_person(
    views: ViewDatabase, account_id: UUID, stakeholder_id: UUID, commitment_ids: Sequence[UUID]
) -> list[tuple[str, Row]]:
    """(table, row) for every read-model row about the person, table by table."""
    params = {"account": str(account_id), "s": str(stakeholder_id)}
    labels = {f"c{i}": str(c) for i, c in enumerate(commitment_ids)}
    in_labels = ", ".join(f":{k}" for k in labels) or "NULL"
    statements = [
        (
            "rm_timeline",
            "SELECT * FROM rm_timeline WHERE account_id = :account AND aggregate_id = :s "
            "ORDER BY position",
            params,
        ),
        (
            "rm_timeline_labels",
            f"SELECT * FROM rm_timeline_labels WHERE entity_id IN ({in_labels}) ORDER BY entity_id",
            labels,
        ),
        (
            "rm_health_stakeholders",
            "SELECT * FROM rm_health_stakeholders WHERE stakeholder_id = :s",
            params,
        ),
        (
            "rm_health_interactions",
            "SELECT * FROM rm_health_interactions WHERE account_id = :account "
            "AND stakeholder_id = :s ORDER BY on_date, interaction_id",
            params,
        ),
        (
            "rm_health_log",
            "SELECT * FROM rm_health_log WHERE account_id = :account AND subject = :s "
            "ORDER BY position",
            params,
        ),
        (
            "rm_sources",
            "SELECT * FROM rm_sources WHERE aggregate_id = :s ORDER BY first_position",
            params,
        ),
        ("rm_search", "SELECT * FROM rm_search WHERE entity_id = :s", params),
        ("rm_owners", "SELECT * FROM rm_owners WHERE aggregate_id = :s", params),
        ("rm_erased", "SELECT * FROM rm_erased WHERE aggregate_id = :s", params),
    ]
    results = views.query_batch([(sql, p) for _, sql, p in statements])
    return [
        (table, row)
        for (table, _, _), rows in zip(statements, results, strict=True)
        for row in rows
    ]
