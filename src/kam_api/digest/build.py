"""A manager's digest with its stakeholders named from the store (the read models hold no
names): the manager may read their accounts' stakeholders, but an erased person is never
named."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from kam_domain.application import KamApplication
from kam_domain.errors import NotFoundError
from kam_domain.relationships import Relationship
from kam_projections.db import ViewDatabase
from kam_projections.digest import Digest, build_digest

#: ``due_within_days`` when none is asked for.
DEFAULT_WITHIN_DAYS = 7
#: The furthest "due soon" reaches.
MAX_WITHIN_DAYS = 90


def manager_digest(
    kam: KamApplication,
    views: ViewDatabase,
    manager: str,
    *,
    today: date,
    within_days: int = DEFAULT_WITHIN_DAYS,
) -> Digest:
    """``manager``'s digest as of ``today``, key people named unless erased."""

    def name_of(stakeholder_id: UUID) -> str | None:
        try:
            person: Relationship = kam.load(Relationship, stakeholder_id, fresh=False)
        except NotFoundError:
            return None
        if person.erased or person.personal is None:
            return None
        return person.personal.name

    return build_digest(views, manager, today=today, within_days=within_days, name_of=name_of)
