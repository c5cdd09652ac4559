"""Users and tokens: the admin-only ``/users`` API and ``kam users list|revoke|rotate``, on
both backends. Every change to a user is logged with its actor and time; a token is shown
once and no answer ever holds a token hash."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import USERS, assert_problem
from typer.testing import CliRunner

from kam_api.auth import Role, UserStore, hash_token
from kam_api.bootstrap import open_services
from kam_api.cli import cli, cli_actor
from kam_api.settings import Settings

Auth = dict[str, dict[str, str]]
AT = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)


def store(client: TestClient) -> UserStore:
    users: UserStore = client.app.state.users  # type: ignore[attr-defined]
    return users


@pytest.fixture
def clocked(client: TestClient) -> UserStore:
    """The app's user store, its clock fixed at AT."""
    users = store(client)
    users.now = lambda: AT
    return users


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


USER_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/users", None),
    ("POST", "/users", {"name": "newbie", "role": "viewer"}),
    ("GET", "/users/mia", None),
    ("POST", "/users/max/revocation", None),
    ("POST", "/users/max/token", None),
    ("PUT", "/users/max/email", {"email": "max@example.com"}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), USER_ROUTES, ids=[f"{m} {p}" for m, p, _ in USER_ROUTES]
)
def test_only_admins_may_touch_users(
    client: TestClient, auth: Auth, method: str, path: str, body: dict[str, Any] | None
) -> None:
    log = len(store(client).log())
    for name in USERS:
        if USERS[name] is Role.ADMIN:
            continue
        response = client.request(method, path, json=body, headers=auth[name])
        assert_problem(response, 403, "forbidden")
    assert_problem(client.request(method, path, json=body), 401)
    assert len(store(client).log()) == log  # nothing changed
    assert client.request(method, path, json=body, headers=auth["root"]).status_code in (200, 201)


def test_an_admin_creates_a_user_whose_token_is_shown_once(
    client: TestClient, auth: Auth, clocked: UserStore
) -> None:
    created = client.post("/users", json={"name": "eva", "role": "manager"}, headers=auth["root"])
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/users/eva"
    body = created.json()
    assert (body["name"], body["role"], body["status"]) == ("eva", "manager", "active")
    assert body["created_at"] == AT.isoformat()
    token = body["token"]
    assert client.get("/accounts", headers=bearer(token)).status_code == 200

    listed = client.get("/users", headers=auth["root"])
    assert listed.status_code == 200
    eva = next(u for u in listed.json()["items"] if u["name"] == "eva")
    assert eva == {
        "name": "eva",
        "role": "manager",
        "status": "active",
        "created_at": AT.isoformat(),
        "revoked_at": None,
        "email": None,
    }
    for answer in (listed.text, client.get("/users/eva", headers=auth["root"]).text):
        assert (
            token not in answer and hash_token(token) not in answer and "token_hash" not in answer
        )

    assert_problem(
        client.post("/users", json={"name": "eva", "role": "viewer"}, headers=auth["root"]),
        409,
        "user-exists",
    )
    assert_problem(
        client.post("/users", json={"name": "no spaces", "role": "viewer"}, headers=auth["root"]),
        422,
    )
    assert_problem(
        client.post("/users", json={"name": "ok", "role": "emperor"}, headers=auth["root"]), 422
    )


def test_rotating_a_token_retires_the_old_one_at_once(client: TestClient, auth: Auth) -> None:
    old = auth["max"]
    assert client.get("/accounts", headers=old).status_code == 200  # cached now
    rotated = client.post("/users/max/token", headers=auth["root"])
    assert rotated.status_code == 200, rotated.text
    assert_problem(client.get("/accounts", headers=old), 401)
    assert client.get("/accounts", headers=bearer(rotated.json()["token"])).status_code == 200


def test_revocation_refusals(client: TestClient, auth: Auth) -> None:
    assert_problem(client.post("/users/nobody/revocation", headers=auth["root"]), 404)
    assert_problem(client.post("/users/nobody/token", headers=auth["root"]), 404)
    last_admin = assert_problem(
        client.post("/users/root/revocation", headers=auth["root"]), 409, "user-change-refused"
    )
    assert "last active admin" in last_admin["detail"]
    assert client.post("/users/vic/revocation", headers=auth["root"]).status_code == 200
    assert_problem(
        client.post("/users/vic/revocation", headers=auth["root"]), 409, "user-change-refused"
    )
    assert_problem(
        client.post("/users/vic/token", headers=auth["root"]), 409, "user-change-refused"
    )
    listed = {
        u["name"]: u["status"] for u in client.get("/users", headers=auth["root"]).json()["items"]
    }
    assert listed["vic"] == "revoked" and listed["root"] == "active"


def test_the_users_log_records_who_changed_whom_and_when(
    client: TestClient, auth: Auth, clocked: UserStore
) -> None:
    client.post("/users", json={"name": "eva", "role": "director"}, headers=auth["root"])
    client.post("/users/eva/token", headers=auth["root"])
    client.post("/users/eva/revocation", headers=auth["root"])

    user = client.get("/users/eva", headers=auth["root"]).json()

    assert (user["status"], user["revoked_at"]) == ("revoked", AT.isoformat())
    assert [(c["change"], c["actor"], c["at"], c["role"]) for c in user["log"]] == [
        ("created", "root", AT.isoformat(), "director"),
        ("token-rotated", "root", AT.isoformat(), "director"),
        ("revoked", "root", AT.isoformat(), "director"),
    ]
    seqs = [c["seq"] for c in user["log"]]
    assert seqs == sorted(seqs)
    assert_problem(client.get("/users/nobody", headers=auth["root"]), 404)


def test_the_users_log_refuses_updates_and_deletes(client: TestClient, auth: Auth) -> None:
    views = store(client).views
    before = store(client).log()
    statements = ["UPDATE kam_users_log SET actor = 'x'", "DELETE FROM kam_users_log"]
    if views.dialect == "postgres":
        statements.append("TRUNCATE kam_users_log")
    for statement in statements:
        refused = (sqlite3.DatabaseError, psycopg.Error)
        with pytest.raises(refused, match="append-only"), views.transaction() as tx:
            tx.execute(statement)
    assert store(client).log() == before
    assert len(before) == len(store(client).all())  # one "created" each


# --- The command line --------------------------------------------------------------------------


def test_kam_users_list_revoke_and_rotate(database_url: str) -> None:
    runner = CliRunner()
    env = {"KAM_DATABASE_URL": database_url, "KAM_PG_POOL_SIZE": "2"}
    added = runner.invoke(cli, ["users", "add", "eva", "--role", "manager"], env=env)
    assert added.exit_code == 0, added.output
    first = added.stdout.strip().splitlines()[-1]
    runner.invoke(cli, ["users", "add", "root", "--role", "admin"], env=env)

    rotated = runner.invoke(cli, ["users", "rotate", "eva"], env=env)
    assert rotated.exit_code == 0, rotated.output
    second = rotated.stdout.strip().splitlines()[-1]
    assert second.startswith("kam_") and second != first
    with open_services(Settings(database_url=database_url, pg_pool_size=2)) as services:
        assert services.users.authenticate(first) is None
        assert services.users.authenticate(second) is not None

    revoked = runner.invoke(cli, ["users", "revoke", "eva"], env=env)
    assert revoked.exit_code == 0, revoked.output
    again = runner.invoke(cli, ["users", "revoke", "eva"], env=env)
    assert again.exit_code == 1 and "revoked already" in again.stderr
    assert runner.invoke(cli, ["users", "rotate", "nobody"], env=env).exit_code == 1
    assert runner.invoke(cli, ["users", "revoke", "root"], env=env).exit_code == 1  # last admin

    listed = runner.invoke(cli, ["users", "list", "--log"], env=env)
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("eva\tmanager\trevoked ")
    assert lines[1].startswith("root\tadmin\tactive\tcreated ")
    assert second not in listed.stdout and hash_token(second) not in listed.stdout
    changes = [line.split("\t") for line in lines[2:]]
    assert [(c[2], c[3], c[4]) for c in changes] == [
        (cli_actor(), "created", "eva (manager)"),
        (cli_actor(), "created", "root (admin)"),
        (cli_actor(), "token-rotated", "eva (manager)"),
        (cli_actor(), "revoked", "eva (manager)"),
    ]
    assert all(datetime.fromisoformat(c[1]).tzinfo is not None for c in changes)


def test_kam_demo_creates_the_people_it_names_without_printing_tokens(database_url: str) -> None:
    from kam_api.demo.words import DIRECTOR, MANAGERS, SPECIALISTS

    env = {"KAM_DATABASE_URL": database_url, "KAM_PG_POOL_SIZE": "2", "KAM_TODAY": "2026-06-30"}
    loaded = CliRunner().invoke(cli, ["demo", "--accounts", "2"], env=env)

    assert loaded.exit_code == 0, loaded.output
    assert "refused" not in loaded.stdout  # every manager and owner it names is a user
    assert not re.search(r"kam_[A-Za-z0-9_-]{40}", loaded.stdout)  # no token
    with open_services(Settings(database_url=database_url, pg_pool_size=2)) as services:
        roles = {row.name: row.role for row in services.users.all()}
    assert roles[DIRECTOR] == "director"
    assert {roles[name] for name in (*MANAGERS, *SPECIALISTS)} == {"manager"}


def test_a_users_table_from_before_revocation_is_brought_up_to_date(database_url: str) -> None:
    # Given: the users table as it was before revocation and the log, with one user.
    settings = Settings(database_url=database_url, pg_pool_size=2)
    with open_services(settings) as services:
        with services.views.transaction() as tx:
            tx.execute(
                "CREATE TABLE kam_users (name TEXT PRIMARY KEY, role TEXT NOT NULL, "
                "token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)"
            )
            tx.execute(
                "INSERT INTO kam_users VALUES ('old', 'manager', :hash, '2025-01-01T00:00:00')",
                {"hash": hash_token("kam_old-token")},
            )
        # When: the service opens its user store.
        users = services.users
        # Then: the old user is active, authenticates, and can be revoked (and that is logged).
        assert users.authenticate("kam_old-token") is not None
        users.revoke("old", actor="root")
        assert users.authenticate("kam_old-token") is None
        assert [(c.change, c.actor) for c in users.log("old")] == [("revoked", "root")]


def test_a_users_email_address_is_set_changed_and_removed_and_logged_without_it(
    client: TestClient, auth: Auth
) -> None:
    # Given: a user created with an address.
    body = {"name": "eva", "role": "manager", "email": "eva@example.com"}
    created = client.post("/users", json=body, headers=auth["root"])
    assert created.status_code == 201 and created.json()["email"] == "eva@example.com"

    # When: an admin changes it, then removes it.
    changed = client.put(
        "/users/eva/email", json={"email": "eva@kam.example"}, headers=auth["root"]
    )
    assert changed.status_code == 200 and changed.json()["email"] == "eva@kam.example"
    same = client.put("/users/eva/email", json={"email": "eva@kam.example"}, headers=auth["root"])
    removed = client.put("/users/eva/email", json={"email": None}, headers=auth["root"])

    # Then: the user shows the address they have, and the log says what changed, not to what.
    assert_problem(same, 409, "user-change-refused")
    assert removed.status_code == 200 and removed.json()["email"] is None
    shown = client.get("/users/eva", headers=auth["root"]).json()
    assert shown["email"] is None
    assert [(c["change"], c["actor"]) for c in shown["log"]] == [
        ("created", "root"),
        ("email-set", "root"),
        ("email-set", "root"),
        ("email-removed", "root"),
    ]
    assert "example" not in str(shown["log"])
    listed = client.get("/users", headers=auth["root"]).json()["items"]
    assert {u["name"]: u["email"] for u in listed}["eva"] is None


@pytest.mark.parametrize(
    "email",
    [
        "not an address",
        "eva@example.com\r\nBcc: all@example.com",
        "Eva <eva@example.com>",
        "eva@example.com, bob@example.com",
        "eva@localhost",
        "évá@example.com",
        "@example.com",
        "eva@",
        "",
        "e" * 250 + "@example.com",
    ],
)
def test_an_address_that_is_not_one_is_refused_and_changes_nothing(
    client: TestClient, auth: Auth, email: str
) -> None:
    log = len(store(client).log())

    made = client.post(
        "/users", json={"name": "eva", "role": "manager", "email": email}, headers=auth["root"]
    )
    changed = client.put("/users/mia/email", json={"email": email}, headers=auth["root"])

    assert_problem(made, 422) and assert_problem(changed, 422)
    assert len(store(client).log()) == log and store(client).get("eva") is None
    assert_problem(
        client.put("/users/nobody/email", json={"email": "a@b.example"}, headers=auth["root"]),
        404,
        "not-found",
    )


def test_kam_users_add_and_set_email(database_url: str) -> None:
    runner = CliRunner()
    env = {"KAM_DATABASE_URL": database_url, "KAM_PG_POOL_SIZE": "2"}

    added = runner.invoke(
        cli, ["users", "add", "eva", "--role", "manager", "--email", "eva@example.com"], env=env
    )
    bad = runner.invoke(cli, ["users", "add", "bob", "--role", "manager", "--email", "x"], env=env)
    changed = runner.invoke(cli, ["users", "set-email", "eva", "eva@kam.example"], env=env)
    listed = runner.invoke(cli, ["users", "list"], env=env)
    removed = runner.invoke(cli, ["users", "set-email", "eva", "--remove"], env=env)
    neither = runner.invoke(cli, ["users", "set-email", "eva"], env=env)
    unknown = runner.invoke(cli, ["users", "set-email", "nobody", "n@kam.example"], env=env)

    assert added.exit_code == 0, added.output
    assert bad.exit_code == 1 and "not an e-mail address" in bad.stderr
    assert changed.exit_code == 0 and "eva@kam.example" in changed.stdout
    assert listed.stdout.splitlines()[0].endswith("\teva@kam.example")
    assert removed.exit_code == 0, removed.output
    assert neither.exit_code == 2 and unknown.exit_code == 1
    with open_services(Settings(database_url=database_url, pg_pool_size=2)) as services:
        assert services.users.get("eva").email is None  # type: ignore[union-attr]
        assert services.users.get("bob") is None
        changes = [c.change for c in services.users.log("eva")]
    assert changes == ["created", "email-set", "email-set", "email-removed"]
