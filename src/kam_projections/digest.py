"""A manager's digest: what needs their attention as of a day, from the read models.

- Actions: open actions (planned, in progress, blocked) they own or that are on an account
  they manage, overdue (due before today) or due soon (due today or within ``within_days``);
  exited accounts left out.
- Contacts: the key people of their accounts not contacted within the service profile's
  cadence (``kam_projections.cadence``), named (the manager may read their accounts'
  stakeholders) unless the person's data is erased: then by id and role only.
- Handovers: accounts handed over to them that they have not acknowledged yet.
- Reviews and re-evaluations: accounts they manage whose plan review or re-evaluation is
  overdue or falls due within ``within_days``.

Which accounts a manager manages is the portfolio's ``manager`` (the incoming manager from the
handover on). Nothing here is stored: the digest is worked out when asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from kam_projections.actions import OPEN_STATUSES
from kam_projections.cadence import with_contact_cadence
from kam_projections.db import ViewDatabase
from kam_projections.erasure import erased_among

#: ``name_of(stakeholder_id)``: the person's name, or None when it may not be shown.
NameOf = Callable[[UUID], str | None]

_OPEN_SQL = "(" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"


class DigestAction(BaseModel):
    """An open action, overdue or due soon."""

    action_id: UUID
    account_id: UUID
    account_name: str
    what: str
    owner: str
    due_on: str
    status: str
    days_late: int = Field(description="Days past the due date (0: not overdue)")
    days_left: int = Field(description="Days until the due date (0: due today or overdue)")


class DigestPerson(BaseModel):
    """A key person of an account not contacted within its profile's cadence."""

    stakeholder_id: UUID
    name: str | None = Field(description="null once the person's data is erased")
    buying_role: str
    last_contact_on: str | None = Field(description="null: never contacted")
    days_overdue: int | None = Field(description="Days past the cadence; null: never contacted")


class DigestContacts(BaseModel):
    """One account's key people overdue for contact."""

    account_id: UUID
    account_name: str
    contact_cadence_days: int
    people: list[DigestPerson]


class DigestHandover(BaseModel):
    """An account handed over to the manager, waiting for them to acknowledge it."""

    account_id: UUID
    account_name: str
    from_manager: str | None
    effective_on: str | None


class DigestDue(BaseModel):
    """An account whose plan review or re-evaluation is overdue or falls due soon."""

    account_id: UUID
    account_name: str
    due_on: str
    overdue: bool


class Digest(BaseModel):
    """What needs a manager's attention as of ``today``."""

    manager: str
    today: str
    due_within_days: int = Field(description="'Due soon' means due within this many days")
    overdue_actions: list[DigestAction] = Field(description="Most overdue first")
    actions_due_soon: list[DigestAction] = Field(description="Soonest first")
    contacts_overdue: list[DigestContacts]
    handovers_to_acknowledge: list[DigestHandover]
    reviews_due: list[DigestDue] = Field(description="Plan reviews, earliest first")
    reevaluations_due: list[DigestDue] = Field(description="Re-evaluations, earliest first")
    items: int = Field(description="How many things the digest lists (0: nothing to report)")

    @property
    def empty(self) -> bool:
        return self.items == 0


def build_digest(
    views: ViewDatabase,
    manager: str,
    *,
    today: date,
    within_days: int = 7,
    name_of: NameOf | None = None,
) -> Digest:
    """The digest of ``manager`` as of ``today``; ``name_of`` names stakeholders (none: only
    ids). Erased people are never named, whatever ``name_of`` says."""
    horizon = (today + timedelta(days=within_days)).isoformat()
    params = {"manager": manager, "today": today.isoformat(), "horizon": horizon}
    actions = views.query(
        "SELECT a.action_id, a.account_id, p.name AS account_name, a.what, a.owner, a.due_on, "
        "a.status FROM rm_actions a JOIN rm_portfolio p ON p.account_id = a.account_id "
        f"WHERE p.exited = 0 AND a.status IN {_OPEN_SQL} AND a.due_on <= :horizon "
        "AND (a.owner = :manager OR p.manager = :manager) "
        "ORDER BY a.due_on, a.action_id",
        params,
    )
    accounts = views.query(
        "SELECT account_id, name, service_profile, next_review_due, reevaluation_due_on, "
        "pending_handover_from, pending_handover_to, pending_handover_since "
        "FROM rm_portfolio WHERE exited = 0 AND manager = :manager ORDER BY name, account_id",
        params,
    )
    overdue = [_action(a, today) for a in actions if a["due_on"] < params["today"]]
    overdue.sort(key=lambda a: (-a.days_late, a.account_name, a.what))
    soon = [_action(a, today) for a in actions if a["due_on"] >= params["today"]]
    with_contact_cadence(views, accounts, today)
    contacts = _contacts(views, accounts, name_of)
    handovers = [
        DigestHandover(
            account_id=a["account_id"],
            account_name=a["name"],
            from_manager=a["pending_handover_from"],
            effective_on=a["pending_handover_since"],
        )
        for a in accounts
        if a["pending_handover_to"] == manager
    ]
    reviews = _due(accounts, "next_review_due", today, horizon)
    reevaluations = _due(accounts, "reevaluation_due_on", today, horizon)
    items = (
        len(overdue)
        + len(soon)
        + sum(len(c.people) for c in contacts)
        + len(handovers)
        + len(reviews)
        + len(reevaluations)
    )
    return Digest(
        manager=manager,
        today=today.isoformat(),
        due_within_days=within_days,
        overdue_actions=overdue,
        actions_due_soon=soon,
        contacts_overdue=contacts,
        handovers_to_acknowledge=handovers,
        reviews_due=reviews,
        reevaluations_due=reevaluations,
        items=items,
    )


def _action(row: dict[str, Any], today: date) -> DigestAction:
    due = date.fromisoformat(row["due_on"])
    return DigestAction(
        **{k: row[k] for k in ("action_id", "account_id", "account_name", "what", "owner")},
        due_on=row["due_on"],
        status=row["status"],
        days_late=max((today - due).days, 0),
        days_left=max((due - today).days, 0),
    )


def _contacts(
    views: ViewDatabase, accounts: Iterable[dict[str, Any]], name_of: NameOf | None
) -> list[DigestContacts]:
    late = [a for a in accounts if a["contacts_overdue"]]
    ids = [UUID(p["stakeholder_id"]) for a in late for p in a["contacts_overdue"]]
    erased = erased_among(views, ids)

    def name(stakeholder: UUID) -> str | None:
        if name_of is None or stakeholder in erased:
            return None
        return name_of(stakeholder)

    return [
        DigestContacts(
            account_id=a["account_id"],
            account_name=a["name"],
            contact_cadence_days=a["contact_cadence_days"],
            people=[
                DigestPerson(
                    stakeholder_id=p["stakeholder_id"],
                    name=name(UUID(p["stakeholder_id"])),
                    buying_role=p["buying_role"],
                    last_contact_on=p["last_contact_on"],
                    days_overdue=p["days_overdue"],
                )
                for p in a["contacts_overdue"]
            ],
        )
        for a in late
    ]


def _due(
    accounts: Iterable[dict[str, Any]], column: str, today: date, horizon: str
) -> list[DigestDue]:
    due = [
        DigestDue(
            account_id=a["account_id"],
            account_name=a["name"],
            due_on=a[column],
            overdue=a[column] < today.isoformat(),
        )
        for a in accounts
        if a[column] <= horizon
    ]
    return sorted(due, key=lambda d: (d.due_on, d.account_name))
