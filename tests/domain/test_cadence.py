"""Cadences a service profile sets: given people, contacts and a day, then who is overdue."""

from __future__ import annotations

from datetime import date

import pytest

from kam_domain.cadence import ContactOverdue, KeyPerson, contacts_overdue, reevaluation_due_on
from kam_domain.values import BuyingRole, ServiceProfile

TODAY = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("profile", "contact", "reevaluation"),
    [
        (ServiceProfile.PREMIUM, 30, 90),
        (ServiceProfile.STANDARD, 60, 180),
        (ServiceProfile.LIGHT, 90, 365),
    ],
)
def test_each_profile_sets_its_cadences(
    profile: ServiceProfile, contact: int, reevaluation: int
) -> None:
    assert (profile.contact_cadence_days, profile.reevaluation_cadence_days) == (
        contact,
        reevaluation,
    )


def test_the_reevaluation_falls_due_a_cadence_after_the_last_one_or_the_registration() -> None:
    registered = date(2026, 1, 1)
    assert reevaluation_due_on(ServiceProfile.PREMIUM, None, registered) == date(2026, 4, 1)
    assert reevaluation_due_on(ServiceProfile.LIGHT, date(2026, 3, 1), registered) == date(
        2027, 3, 1
    )


def test_only_key_people_still_there_and_out_of_cadence_are_overdue() -> None:
    people = [
        KeyPerson("dm", BuyingRole.DECISION_MAKER),
        KeyPerson("eb", BuyingRole.ECONOMIC_BUYER),
        KeyPerson("champ", BuyingRole.CHAMPION),
        KeyPerson("gone", BuyingRole.CHAMPION, left_on=date(2026, 6, 1)),
        KeyPerson("user", BuyingRole.USER),
        KeyPerson("new", BuyingRole.CHAMPION),
    ]
    last = {
        "dm": date(2026, 4, 20),  # 71 days ago: 11 past a 60-day cadence
        "eb": date(2026, 5, 1),  # 60 days ago: on the edge, not overdue
        "champ": date(2026, 3, 1),  # 121 days ago: 61 past
        "gone": date(2026, 1, 1),
        "user": date(2025, 1, 1),
    }

    overdue = contacts_overdue(people, last, ServiceProfile.STANDARD, TODAY)

    assert overdue == [
        ContactOverdue("new", BuyingRole.CHAMPION, None, None),
        ContactOverdue("champ", BuyingRole.CHAMPION, date(2026, 3, 1), 61),
        ContactOverdue("dm", BuyingRole.DECISION_MAKER, date(2026, 4, 20), 11),
    ]


def test_a_lighter_profile_tolerates_longer_silences() -> None:
    people = [KeyPerson("dm", BuyingRole.DECISION_MAKER)]
    last = {"dm": date(2026, 4, 20)}  # 71 days ago
    assert contacts_overdue(people, last, ServiceProfile.LIGHT, TODAY) == []
    assert contacts_overdue(people, last, ServiceProfile.PREMIUM, TODAY) == [
        ContactOverdue("dm", BuyingRole.DECISION_MAKER, date(2026, 4, 20), 41)
    ]


def test_a_key_person_who_leaves_later_still_counts_before_that_day() -> None:
    people = [KeyPerson("dm", BuyingRole.DECISION_MAKER, left_on=date(2026, 7, 15))]
    assert len(contacts_overdue(people, {}, ServiceProfile.STANDARD, TODAY)) == 1
