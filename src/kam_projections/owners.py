"""Which account each plan and stakeholder belongs to, as the read models learnt it
(``rm_owners``, kept by the projector)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from kam_projections.db import ViewDatabase


def owned_by(views: ViewDatabase, account_id: UUID, kind: str) -> list[UUID]:
    """The plans (``AccountPlan``) or stakeholders (``Relationship``) of an account, in the
    order the read models learnt of them."""
    rows = views.query(
        "SELECT aggregate_id FROM rm_owners WHERE account_id = :a AND kind = :k "
        "ORDER BY aggregate_id",
        {"a": str(account_id), "k": kind},
    )
    return [UUID(r["aggregate_id"]) for r in rows]


def owners_of(views: ViewDatabase, aggregate_ids: Iterable[UUID]) -> dict[UUID, UUID]:
    """The account of each of these plans and stakeholders that the read models know."""
    ids = {f"a{i}": str(a) for i, a in enumerate(sorted(set(aggregate_ids), key=str))}
    if not ids:
        return {}
    rows = views.query(
        "SELECT aggregate_id, account_id FROM rm_owners "
        f"WHERE aggregate_id IN ({', '.join(':' + k for k in ids)})",
        ids,
    )
    return {UUID(r["aggregate_id"]): UUID(r["account_id"]) for r in rows}
