"""Contact cadence in the read models: which key people of an account have gone without
contact for longer than its service profile allows (``kam_domain.cadence`` decides; this reads
its inputs and shapes its answer).

Every answer carries the same fields: ``contact_cadence_days``, ``contact_overdue`` (any key
person overdue), ``contact_overdue_count`` and ``contacts_overdue`` (per person: stakeholder id,
buying role, last contact day, days overdue; names are personal data and stay out of read
models). The key people and their last contacts come from the health model's stakeholder facts
(``rm_health_stakeholders``), the profile from the portfolio (``rm_portfolio``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from kam_domain.cadence import KEY_ROLES, KeyPerson, contacts_overdue
from kam_domain.values import BuyingRole, ServiceProfile
from kam_projections.db import ViewDatabase


def contact_cadence(
    profile: ServiceProfile,
    people: Iterable[KeyPerson],
    last_contact: Mapping[str, date],
    today: date,
) -> dict[str, Any]:
    """The contact-cadence fields of one account as of ``today``."""
    overdue = contacts_overdue(people, last_contact, profile, today)
    return {
        "contact_cadence_days": profile.contact_cadence_days,
        "contact_overdue": bool(overdue),
        "contact_overdue_count": len(overdue),
        "contacts_overdue": [
            {
                "stakeholder_id": o.stakeholder_id,
                "buying_role": o.buying_role.value,
                "last_contact_on": o.last_contact_on.isoformat() if o.last_contact_on else None,
                "days_overdue": o.days_overdue,
            }
            for o in overdue
        ],
    }


def service_profiles(views: ViewDatabase, accounts: Sequence[str]) -> dict[str, ServiceProfile]:
    """The accounts' current service profiles (from the portfolio)."""
    if not accounts:
        return {}
    names = {f"a{i}": a for i, a in enumerate(accounts)}
    rows = views.query(
        "SELECT account_id, service_profile FROM rm_portfolio "
        f"WHERE account_id IN ({', '.join(':' + n for n in names)})",
        names,
    )
    return {r["account_id"]: ServiceProfile(r["service_profile"]) for r in rows}


def with_contact_cadence(views: ViewDatabase, rows: Sequence[dict[str, Any]], today: date) -> None:
    """Adds the contact-cadence fields as of ``today`` to each row (keyed by ``account_id``;
    its ``service_profile`` is used when it has one), with one or two queries for the page."""
    accounts = [str(r["account_id"]) for r in rows]
    if not accounts:
        return
    profiles = {
        str(r["account_id"]): ServiceProfile(r["service_profile"])
        for r in rows
        if r.get("service_profile")
    }
    if len(profiles) < len(accounts):
        profiles.update(service_profiles(views, [a for a in accounts if a not in profiles]))
    names = {f"a{i}": a for i, a in enumerate(accounts)}
    sql, params = key_people_query(", ".join(":" + n for n in names))
    add_contact_cadence(rows, views.query(sql, {**names, **params}), today, profiles)


def key_people_query(accounts_sql: str) -> tuple[str, dict[str, str]]:
    """The query (and its role parameters) of the key people of the accounts ``accounts_sql``
    lists (a list of parameters, or a subquery naming ``account_id``), whose rows
    ``add_contact_cadence`` takes: a page's query may send it in the same round trip."""
    roles = {f"r{i}": role.value for i, role in enumerate(sorted(KEY_ROLES, key=lambda r: r.value))}
    sql = (
        "SELECT account_id, stakeholder_id, buying_role, last_interaction_on, left_on "
        f"FROM rm_health_stakeholders WHERE account_id IN ({accounts_sql}) "
        f"AND buying_role IN ({', '.join(':' + r for r in roles)})"
    )
    return sql, roles


def add_contact_cadence(
    rows: Sequence[dict[str, Any]],
    people: Iterable[Mapping[str, Any]],
    today: date,
    profiles: Mapping[str, ServiceProfile] | None = None,
) -> None:
    """Adds the contact-cadence fields to each row from its account's key people (rows of
    ``key_people_query``); the profile is ``profiles``' or, failing that, the row's own."""
    by_account: dict[str, list[Mapping[str, Any]]] = {}
    for person in people:
        by_account.setdefault(person["account_id"], []).append(person)
    for row in rows:
        account = str(row["account_id"])
        found = by_account.get(account, [])
        profile = (profiles or {}).get(account) or ServiceProfile(
            row.get("service_profile") or ServiceProfile.STANDARD
        )
        row.update(
            contact_cadence(
                profile,
                [
                    KeyPerson(
                        p["stakeholder_id"],
                        BuyingRole(p["buying_role"]),
                        date.fromisoformat(p["left_on"]) if p["left_on"] else None,
                    )
                    for p in found
                ],
                {
                    p["stakeholder_id"]: date.fromisoformat(p["last_interaction_on"])
                    for p in found
                    if p["last_interaction_on"]
                },
                today,
            )
        )
