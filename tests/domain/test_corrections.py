"""Corrections of a stakeholder's record and of a team member's roles: given an aggregate built
by commands, when a correction, then its event (reason required) and the corrected state."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from tests.domain.test_relationships import (
    ANN,
    BOSS,
    NO_REASON,
    WHY,
    assert_refused,
    given,
    identify,
)

from kam_domain.base import replay
from kam_domain.errors import (
    CorrectionUnchangedError,
    InvalidValueError,
    PersonalDataErasedError,
    ReasonRequiredError,
    TeamMemberNotFoundError,
    TeamRolesUnchangedError,
)
from kam_domain.key_accounts import KeyAccount
from kam_domain.personal import ERASED, restore_event, split_event
from kam_domain.relationships import Relationship
from kam_domain.values import Envelope, KamRole, PersonalData, ServiceProfile

OTHER = UUID("00000000-0000-4000-8000-0000000000cc")
WHY_ACCOUNT = Envelope(actor="ann", occurred_on=datetime(2027, 1, 4), reason="new contract")


def erasure(s: Relationship) -> None:
    s.erase_personal_data(meta=WHY)


def only(stakeholder: Relationship | KeyAccount) -> Any:
    events = stakeholder.collect_events()
    assert len(events) == 1
    return events[0]


# --- Title ------------------------------------------------------------------------------


def test_correcting_the_title_records_it_with_the_reason() -> None:
    stakeholder = given()

    stakeholder.correct_title(title="  Chief Technology Officer ", meta=WHY)

    event = only(stakeholder)
    assert isinstance(event, Relationship.TitleCorrected)
    assert (event.title, event.meta) == ("Chief Technology Officer", WHY)
    assert stakeholder.title == "Chief Technology Officer"


def test_correcting_the_title_to_nothing_clears_it() -> None:
    stakeholder = given()
    stakeholder.correct_title(title="", meta=WHY)
    assert only(stakeholder).title is None
    assert stakeholder.title is None


def test_correcting_the_title_needs_a_reason_a_change_and_a_valid_title() -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        ReasonRequiredError,
        lambda: stakeholder.correct_title(title="CEO", meta=NO_REASON),
    )
    assert_refused(
        stakeholder,
        CorrectionUnchangedError,
        lambda: stakeholder.correct_title(title="CTO", meta=WHY),
    )
    assert_refused(
        stakeholder, InvalidValueError, lambda: stakeholder.correct_title(title="x" * 201, meta=WHY)
    )


# --- Contact details ----------------------------------------------------------------------


def test_correcting_the_contact_details_replaces_email_and_phone_and_keeps_name_and_notes() -> None:
    stakeholder = given()

    stakeholder.correct_contact_details(email="ann.lee@new.example", phone=None, meta=WHY)

    event = only(stakeholder)
    assert isinstance(event, Relationship.ContactDetailsCorrected)
    assert (event.email, event.phone) == ("ann.lee@new.example", None)
    assert stakeholder.personal == PersonalData(
        name=ANN.name, email="ann.lee@new.example", phone=None, notes=ANN.notes
    )


def test_correcting_the_contact_details_needs_a_reason_and_a_change() -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        ReasonRequiredError,
        lambda: stakeholder.correct_contact_details(email="a@b.c", phone=None, meta=NO_REASON),
    )
    assert_refused(
        stakeholder,
        CorrectionUnchangedError,
        lambda: stakeholder.correct_contact_details(email=ANN.email, phone=ANN.phone, meta=WHY),
    )


@pytest.mark.parametrize(
    "correct",
    [
        lambda s: s.correct_title(title="CEO", meta=WHY),
        lambda s: s.correct_contact_details(email="a@b.c", phone=None, meta=WHY),
    ],
)
def test_personal_data_cannot_be_corrected_once_erased(correct: Any) -> None:
    stakeholder = given(erasure)
    assert_refused(stakeholder, PersonalDataErasedError, lambda: correct(stakeholder))


def test_a_correction_before_the_erasure_is_cleared_by_it() -> None:
    stakeholder = given(
        lambda s: s.correct_title(title="CEO", meta=WHY),
        lambda s: s.correct_contact_details(email="a@b.c", phone="+1", meta=WHY),
    )
    erasure(stakeholder)
    assert (stakeholder.title, stakeholder.personal) == (None, None)


# --- Reports to ---------------------------------------------------------------------------


def test_correcting_whom_the_stakeholder_reports_to_records_the_previous_line() -> None:
    stakeholder = given()

    stakeholder.correct_reports_to(reports_to=OTHER, meta=WHY)

    event = only(stakeholder)
    assert isinstance(event, Relationship.ReportsToCorrected)
    assert (event.previous, event.reports_to) == (BOSS, OTHER)
    assert stakeholder.reports_to == OTHER


def test_the_reporting_line_can_be_cleared_and_corrected_after_erasure() -> None:
    stakeholder = given(erasure)
    stakeholder.correct_reports_to(reports_to=None, meta=WHY)
    assert stakeholder.reports_to is None


def test_correcting_the_reporting_line_is_refused_without_reason_change_or_to_oneself() -> None:
    stakeholder = given()
    assert_refused(
        stakeholder,
        ReasonRequiredError,
        lambda: stakeholder.correct_reports_to(reports_to=OTHER, meta=NO_REASON),
    )
    assert_refused(
        stakeholder,
        CorrectionUnchangedError,
        lambda: stakeholder.correct_reports_to(reports_to=BOSS, meta=WHY),
    )
    assert_refused(
        stakeholder,
        InvalidValueError,
        lambda: stakeholder.correct_reports_to(reports_to=stakeholder.id, meta=WHY),
    )


def test_replaying_corrections_rebuilds_the_corrected_relationship() -> None:
    stakeholder = identify()
    stakeholder.correct_title(title="CEO", meta=WHY)
    stakeholder.correct_contact_details(email=None, phone="+44 2", meta=WHY)
    stakeholder.correct_reports_to(reports_to=None, meta=WHY)

    rebuilt = replay(stakeholder.collect_events())

    assert rebuilt is not None
    assert (rebuilt.title, rebuilt.personal, rebuilt.reports_to) == (
        "CEO",
        PersonalData(name=ANN.name, email=None, phone="+44 2", notes=ANN.notes),
        None,
    )


# --- The personal-data boundary -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "state", "taken"),
    [
        ("TitleCorrected", {"title": "CEO"}, {"title": "CEO"}),
        ("TitleCorrected", {"title": None}, {}),
        (
            "ContactDetailsCorrected",
            {"email": "a@b.c", "phone": "+1"},
            {"email": "a@b.c", "phone": "+1"},
        ),
        ("ContactDetailsCorrected", {"email": None, "phone": "+1"}, {"phone": "+1"}),
        ("ReportsToCorrected", {"previous": BOSS, "reports_to": OTHER}, {}),
    ],
)
def test_a_corrections_personal_fields_and_reason_are_inside_the_boundary(
    name: str, state: dict[str, Any], taken: dict[str, Any]
) -> None:
    given_state = {**state, "meta": WHY}

    redacted, secrets = split_event(name, given_state)

    assert secrets == {**taken, "meta.reason": WHY.reason}
    assert redacted["meta"].reason == ERASED
    for field, value in state.items():
        assert redacted[field] == (ERASED if field in taken else value)
    assert restore_event(redacted, secrets) == given_state


# --- Team roles -----------------------------------------------------------------------------


def account_with_dan() -> KeyAccount:
    account = KeyAccount.register_account(
        name="Acme",
        industry="Retail",
        region="EMEA",
        service_profile=ServiceProfile.STANDARD,
        meta=WHY_ACCOUNT,
    )
    account.add_team_member(
        member="dan", roles=[KamRole.INNOVATOR, KamRole.COLLABORATOR], meta=WHY_ACCOUNT
    )
    account.collect_events()
    return account


def test_changing_a_team_members_roles_replaces_them_in_place() -> None:
    account = account_with_dan()

    account.change_team_roles(member=" dan ", roles=[KamRole.PROJECT_MANAGER], meta=WHY_ACCOUNT)

    event = only(account)
    assert isinstance(event, KeyAccount.TeamRolesChanged)
    assert (event.member, event.previous_roles, event.roles) == (
        "dan",
        [KamRole.INNOVATOR, KamRole.COLLABORATOR],
        [KamRole.PROJECT_MANAGER],
    )
    assert event.meta.reason == "new contract"
    assert account.team == {"dan": [KamRole.PROJECT_MANAGER]}


@pytest.mark.parametrize(
    ("member", "roles", "meta", "error"),
    [
        ("eve", [KamRole.INNOVATOR], WHY_ACCOUNT, TeamMemberNotFoundError),
        ("dan", [], WHY_ACCOUNT, InvalidValueError),
        ("dan", [KamRole.INNOVATOR, KamRole.INNOVATOR], WHY_ACCOUNT, InvalidValueError),
        ("dan", ["innovator"], WHY_ACCOUNT, InvalidValueError),
        ("dan", [KamRole.COLLABORATOR, KamRole.INNOVATOR], WHY_ACCOUNT, TeamRolesUnchangedError),
        ("dan", [KamRole.INNOVATOR], Envelope(actor="ann"), ReasonRequiredError),
    ],
)
def test_changing_team_roles_is_refused_when_it_does_not_make_sense(
    member: str, roles: Any, meta: Envelope, error: type[Exception]
) -> None:
    account = account_with_dan()
    before = dict(account.team)
    with pytest.raises(error):
        account.change_team_roles(member=member, roles=roles, meta=meta)
    assert account.collect_events() == []
    assert account.team == before
