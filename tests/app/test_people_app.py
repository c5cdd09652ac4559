"""People are real, through ``kam.handle`` on both backends: with the composition root's
people directory (the user store), a command naming someone who is not an active user is
refused before its handler runs (``InvalidValueError`` naming the field, nothing written);
without a directory names are not checked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from kam_api.auth import Role
from kam_api.bootstrap import Services, open_services
from kam_api.settings import Settings
from kam_domain import commands as cmd
from kam_domain.application import KamApplication
from kam_domain.errors import InvalidValueError
from kam_domain.people import KnownPerson
from kam_domain.values import Envelope, KamRole
from kam_store.features import store_features

DORA = Envelope(actor="dora")
WHY = Envelope(actor="dora", reason="the customer asked")


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    with open_services(Settings(database_url=database_url, pg_pool_size=2)) as opened:
        for name, role in {
            "dora": Role.DIRECTOR,
            "mia": Role.MANAGER,
            "max": Role.MANAGER,
            "vic": Role.VIEWER,
        }.items():
            opened.users.add(name, role)
        yield opened


def world(kam: KamApplication) -> dict[str, Any]:
    """An account managed by mia with a plan and a stakeholder."""
    account = kam.handle(
        cmd.RegisterAccount(name="Acme", industry="Retail", region="EMEA"), meta=DORA
    ).id
    kam.handle(cmd.AssignManager(account_id=account, manager="mia"), meta=DORA)
    plan = kam.handle(cmd.DraftPlan(account_id=account, period="2027"), meta=DORA).id
    person = kam.handle(
        cmd.IdentifyStakeholder(account_id=account, name="Grace", buying_role="user", influence=3),
        meta=DORA,
    ).id
    return {"account": account, "plan": plan, "stakeholder": person}


def add_action(plan: Any, owner: str) -> cmd.AddAction:
    return cmd.AddAction(plan_id=plan, what="Call", owner=owner, due_on=date(2027, 3, 1))


def naming(ids: dict[str, Any], who: str) -> list[tuple[str, cmd.Command, Envelope]]:
    """Every command that names a person, naming ``who``: (field, command, envelope)."""
    account, plan = ids["account"], ids["plan"]
    return [
        ("manager", cmd.AssignManager(account_id=account, manager=who), WHY),
        ("to", cmd.HandOver(account_id=account, to=who, effective_on=date(2027, 1, 4)), WHY),
        (
            "member",
            cmd.AddTeamMember(account_id=account, member=who, roles=[KamRole.INNOVATOR]),
            DORA,
        ),
        ("owner", cmd.AssignRelationshipOwner(stakeholder_id=ids["stakeholder"], owner=who), DORA),
        ("owner", add_action(plan, who), DORA),
    ]


@pytest.mark.parametrize("who", ["another ghost", "ghost", "external:"])
def test_an_unknown_person_is_refused_by_every_command_naming_one(
    services: Services, who: str
) -> None:
    kam = services.app
    ids = world(kam)
    head = kam.recorder.max_notification_id()
    for field, command, meta in naming(ids, who):
        with pytest.raises(InvalidValueError) as refused:
            kam.handle(command, meta=meta)
        assert refused.value.field == field, type(command).__name__
        assert repr(who) in refused.value.message or "external:" in refused.value.message
    assert kam.recorder.max_notification_id() == head


def test_an_action_may_be_given_to_someone_outside_the_company_but_an_account_may_not(
    services: Services,
) -> None:
    kam = services.app
    ids = world(kam)
    result = kam.handle(add_action(ids["plan"], "external:Jane Roe (Acme)"), meta=DORA)
    kam.handle(
        cmd.ReassignAction(plan_id=ids["plan"], action_id=result.entity_id, owner="external:Li"),
        meta=DORA,
    )
    plan = kam.get_plan(ids["plan"])
    assert plan.actions[str(result.entity_id)].owner == "external:Li"
    for field, command, meta in naming(ids, "external:Jane Roe")[:4]:
        with pytest.raises(InvalidValueError, match="not an external person") as refused:
            kam.handle(command, meta=meta)
        assert refused.value.field == field


def test_a_manager_must_be_a_user_whose_role_may_manage_accounts(services: Services) -> None:
    kam = services.app
    ids = world(kam)
    with pytest.raises(InvalidValueError, match="may not manage accounts") as refused:
        kam.handle(
            cmd.HandOver(account_id=ids["account"], to="vic", effective_on=date(2027, 1, 4)),
            meta=WHY,
        )
    assert refused.value.field == "to"
    # A viewer may still own a relationship or be on the team (any active user).
    kam.handle(
        cmd.AssignRelationshipOwner(stakeholder_id=ids["stakeholder"], owner="vic"), meta=DORA
    )
    kam.handle(
        cmd.HandOver(account_id=ids["account"], to="dora", effective_on=date(2027, 1, 4)), meta=WHY
    )
    assert kam.get_account(ids["account"]).manager == "dora"


def test_a_revoked_user_is_no_longer_a_valid_new_owner_nor_authenticates(
    services: Services,
) -> None:
    kam, users = services.app, services.users
    ids = world(kam)
    token = users.rotate("max", actor="root")
    assert users.authenticate(token) is not None
    kam.handle(add_action(ids["plan"], "max"), meta=DORA)

    users.revoke("max", actor="root")

    assert users.authenticate(token) is None  # at once, despite the cache
    head = kam.recorder.max_notification_id()
    for field, command, meta in naming(ids, "max"):
        with pytest.raises(InvalidValueError, match="revoked") as refused:
            kam.handle(command, meta=meta)
        assert refused.value.field == field
    assert kam.recorder.max_notification_id() == head


def test_without_a_directory_names_are_not_checked(database_url: str) -> None:
    with open_services(
        Settings(database_url=database_url, pg_pool_size=2), check_people=False
    ) as services:
        kam = services.app
        ids = world(kam)  # "mia" is no user here
        kam.handle(
            cmd.HandOver(
                account_id=ids["account"], to="another ghost", effective_on=date(2027, 1, 4)
            ),
            meta=WHY,
        )
        assert kam.get_account(ids["account"]).manager == "another ghost"


class Directory:
    """A people directory of plain data."""

    def __init__(self, people: dict[str, KnownPerson]) -> None:
        self.people = people
        self.asked: list[str] = []

    def person(self, name: str) -> KnownPerson | None:
        self.asked.append(name)
        return self.people.get(name)


def test_the_application_asks_the_directory_it_was_given(store_env: dict[str, str]) -> None:
    directory = Directory({"mia": KnownPerson("mia", active=True, may_manage=True)})
    kam = KamApplication(env=store_env, store_features=store_features, people=directory)
    try:
        account = kam.handle(
            cmd.RegisterAccount(name="Acme", industry="Retail", region="EMEA"), meta=DORA
        ).id
        kam.handle(cmd.AssignManager(account_id=account, manager=" mia "), meta=DORA)
        with pytest.raises(InvalidValueError, match="'zed' is not a user"):
            kam.handle(
                cmd.HandOver(account_id=account, to="zed", effective_on=date(2027, 1, 4)), meta=WHY
            )
        assert directory.asked == ["mia", "zed"]
        assert kam.get_account(account).manager == "mia"
    finally:
        kam.close()
