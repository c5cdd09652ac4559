"""Cadences a service profile sets (pure): when the account's next re-evaluation falls due,
and which key people have gone without contact for longer than the profile allows.

``ServiceProfile.reevaluation_cadence_days`` (premium 90, standard 180, light 365) counts from
the latest re-evaluation, or from the registration before the first one.
``ServiceProfile.contact_cadence_days`` (premium 30, standard 60, light 90) applies to each key
person still at the customer: a stakeholder whose buying role is in ``KEY_ROLES``. A key person
never contacted is overdue, with no last contact and no count of days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from kam_domain.values import BuyingRole, ServiceProfile

#: The buying roles of the people an account's profile says to keep in regular contact.
KEY_ROLES = frozenset({BuyingRole.DECISION_MAKER, BuyingRole.ECONOMIC_BUYER, BuyingRole.CHAMPION})


def reevaluation_due_on(
    profile: ServiceProfile, last_reevaluated_on: date | None, registered_on: date
) -> date:
    """The day the next re-evaluation falls due under the profile's cadence."""
    since = last_reevaluated_on if last_reevaluated_on is not None else registered_on
    return since + timedelta(days=profile.reevaluation_cadence_days)


@dataclass(frozen=True)
class KeyPerson:
    """A stakeholder as the contact cadence sees them."""

    stakeholder_id: str
    buying_role: BuyingRole
    left_on: date | None = None


@dataclass(frozen=True)
class ContactOverdue:
    """A key person not contacted within the profile's cadence, as of a day."""

    stakeholder_id: str
    buying_role: BuyingRole
    last_contact_on: date | None  # None: never contacted
    days_overdue: int | None  # days past the cadence; None when never contacted


def contacts_overdue(
    people: Iterable[KeyPerson],
    last_contact: Mapping[str, date],
    profile: ServiceProfile,
    today: date,
) -> list[ContactOverdue]:
    """The key people still at the customer on ``today`` whose last contact
    (``last_contact``: each person's latest contact on or before ``today``, by stakeholder id)
    is more than the profile's contact cadence ago, or who were never contacted; never
    contacted first, then most overdue first."""
    cadence = profile.contact_cadence_days
    overdue = []
    for person in people:
        if person.buying_role not in KEY_ROLES:
            continue
        if person.left_on is not None and person.left_on <= today:
            continue
        last = last_contact.get(person.stakeholder_id)
        if last is None:
            overdue.append(ContactOverdue(person.stakeholder_id, person.buying_role, None, None))
        elif (late := (today - last).days - cadence) > 0:
            overdue.append(ContactOverdue(person.stakeholder_id, person.buying_role, last, late))
    return sorted(
        overdue,
        key=lambda o: (o.days_overdue is not None, -(o.days_overdue or 0), o.stakeholder_id),
    )
