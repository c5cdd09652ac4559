"""Passwords from the command line: the first run prints the admin's, `kam users
set-password` sets one (and ends the user's sessions), `kam demo` gives its users one."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kam_api.auth import Role
from kam_api.bootstrap import open_services
from kam_api.cli import cli
from kam_api.settings import Settings
from kam_api.web.sessions import SessionStore


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    url = f"sqlite:///{tmp_path}/kam.db"
    monkeypatch.setenv("KAM_DATABASE_URL", url)
    return Settings(database_url=url)


def test_the_first_run_prints_where_to_sign_in_and_the_admins_password(env: Settings) -> None:
    result = CliRunner().invoke(cli, ["users", "bootstrap", "--port", "8123"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Open http://127.0.0.1:8123/ and sign in" in lines[0]
    assert lines[1].split() == ["user", "name:", "admin"]
    password = lines[2].split()[1]
    with open_services(env) as services:
        user = services.users.check_password("admin", password)
        assert user is not None and user.role is Role.ADMIN
        assert services.users.authenticate(lines[-1]) is not None  # the API token too

    again = CliRunner().invoke(cli, ["users", "bootstrap", "--port", "8123"])
    assert "Open http://127.0.0.1:8123/ and sign in" in again.output
    assert password not in again.output


def test_set_password_sets_it_and_ends_the_users_sessions(env: Settings) -> None:
    with open_services(env) as services:
        services.users.add("mia", Role.MANAGER)
        services.users.set_password("mia", "the first password", actor="test")
        user = services.users.check_password("mia", "the first password")
        assert user is not None
        sessions = SessionStore(services.views, env)
        sessions.setup()
        token, _ = sessions.start(user)

    result = CliRunner().invoke(
        cli, ["users", "set-password", "mia", "--password-stdin"], input="a second password\n"
    )
    assert result.exit_code == 0, result.output
    with open_services(env) as services:
        assert services.users.check_password("mia", "the first password") is None
        assert services.users.check_password("mia", "a second password") is not None
        assert SessionStore(services.views, env).find(token) is None

    generated = CliRunner().invoke(cli, ["users", "set-password", "mia", "--generate"])
    assert generated.exit_code == 0, generated.output
    with open_services(env) as services:
        new = generated.output.splitlines()[-1]
        assert services.users.check_password("mia", new) is not None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["nobody", "--password-stdin"], "long enough password\n", "no user named"),
        (["mia", "--password-stdin"], "short\n", "10 to 200 characters"),
        (["mia", "--password-stdin", "--generate"], "", "choose one"),
    ],
)
def test_set_password_refusals(env: Settings, args: list[str], stdin: str, message: str) -> None:
    with open_services(env) as services:
        services.users.add("mia", Role.MANAGER)
    result = CliRunner().invoke(cli, ["users", "set-password", *args], input=stdin)
    assert result.exit_code != 0
    assert message in result.output
