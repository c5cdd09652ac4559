"""Stored events are append-only, enforced by the database: triggers refuse every change of a
stored event for every role (SQLite and PostgreSQL), and on PostgreSQL the service's own role
(``kam db-setup``) may only read and append, yet runs the whole service."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier
from tests.support import postgres_url_or_skip
from typer.testing import CliRunner

from kam_api.auth import Role
from kam_api.bootstrap import StoreNotSetUpError, StoreSetupRefusedError, open_services
from kam_api.cli import cli
from kam_api.settings import Settings
from kam_domain.application import KamApplication
from kam_domain.commands import DraftPlan, RegisterAccount, SetFocus
from kam_domain.values import Envelope, ServiceProfile
from kam_projections.db import READ_MODEL_TABLE_PATTERNS, PostgresViews
from kam_projections.freshness import wait_for_position
from kam_projections.rebuild import rebuild
from kam_projections.standalone import StandaloneProjector
from kam_store.append_only import APPEND_ONLY_MESSAGE
from kam_store.features import store_features
from kam_store.roles import SERVICE_TABLE_PRIVILEGES, DatabaseSetupError, setup_database

ANN = Envelope(actor="ann")
#: The test service role's password (in its URL, for servers that ask for one).
SERVICE_PASSWORD = "s3cret"


def register(app: KamApplication, name: str) -> int:
    """Registers an account; returns the position of its last event."""
    command = RegisterAccount(
        name=name, industry="x", region="y", service_profile=ServiceProfile.LIGHT
    )
    return app.handle(command, meta=ANN).position


# --- Every role: the triggers -------------------------------------------------------------


def test_the_triggers_refuse_to_change_stored_events_for_every_role(
    app: KamApplication, database_url: str, tmp_path: Path
) -> None:
    """The application's own connection (a superuser's on PostgreSQL) cannot change events."""
    register(app, "Kept Co")
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(tmp_path / "kam.db", isolation_level=None)
        try:
            for statement in (
                "UPDATE stored_events SET topic = 'forged'",
                "DELETE FROM stored_events WHERE originator_version = 1",
                "DELETE FROM stored_events",
            ):
                with pytest.raises(sqlite3.IntegrityError, match=APPEND_ONLY_MESSAGE):
                    conn.execute(statement)
            count = conn.execute("SELECT count(*) FROM stored_events").fetchone()[0]
        finally:
            conn.close()
    else:
        schema = database_url.rpartition("?schema=")[2]
        with _connect(postgres_url_or_skip(), schema) as conn:
            for statement in (
                "UPDATE kam_events SET topic = 'forged'",
                "DELETE FROM kam_events WHERE originator_version = 1",
                "TRUNCATE kam_events",
                "TRUNCATE kam_events CASCADE",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match=APPEND_ONLY_MESSAGE):
                    conn.execute(statement)
            count = _one(conn, "SELECT count(*) FROM kam_events")
    assert count >= 1
    # Appending still works, through the application.
    register(app, "Next Co")


def test_setting_up_the_store_again_keeps_one_set_of_triggers(
    store_env: dict[str, str], database_url: str
) -> None:
    for _ in range(2):
        KamApplication(env=store_env, store_features=store_features).close()
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path)
        try:
            names = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ]
        finally:
            conn.close()
        assert sorted(names) == [
            "kam_destroy_person_key",
            "stored_events_append_only_delete",
            "stored_events_append_only_update",
            "stored_events_chain_append_only_delete",
            "stored_events_chain_append_only_update",
            "stored_events_checkpoints_append_only_delete",
            "stored_events_checkpoints_append_only_update",
        ]
    else:
        schema = database_url.rpartition("?schema=")[2]
        with _connect(postgres_url_or_skip(), schema) as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'kam_events'::regclass "
                    "AND NOT tgisinternal ORDER BY tgname"
                )
            ]
        assert names == [
            "kam_append_only",
            "kam_append_only_truncate",
            "kam_destroy_person_key",
            "kam_events_chain_append",
        ]


# --- PostgreSQL: the owner and the service roles ------------------------------------------


@dataclass(frozen=True)
class Roles:
    """A schema of its own with the store set up by ``kam db-setup``'s function."""

    admin_url: str
    schema: str
    owner: str
    service: str

    @property
    def admin_store_url(self) -> str:
        return f"{self.admin_url}?schema={self.schema}"

    @property
    def service_conninfo(self) -> str:
        """The service role's connection."""
        return _as_role(self.admin_url, self.service, SERVICE_PASSWORD)

    @property
    def service_url(self) -> str:
        """The service's ``KAM_DATABASE_URL``."""
        return f"{self.service_conninfo}?schema={self.schema}"

    def setup(self) -> list[str]:
        report = setup_database(
            self.admin_store_url,
            owner=self.owner,
            service=self.service,
            service_password=SERVICE_PASSWORD,
            service_tables=READ_MODEL_TABLE_PATTERNS,
        )
        return list(report.actions)


@pytest.fixture
def roles(pg_schema: str) -> Iterator[Roles]:
    """Unique owner and service roles (roles are cluster-wide), dropped afterwards with
    everything they own, before the schema is dropped."""
    admin_url = postgres_url_or_skip()
    suffix = uuid.uuid4().hex[:10]
    roles = Roles(admin_url, pg_schema, f"t_owner_{suffix}", f"t_service_{suffix}")
    try:
        yield roles
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for role in (roles.service, roles.owner):
                if _exists_role(conn, role):
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                        (role,),
                    )
                    conn.execute(SQL("DROP OWNED BY {} CASCADE").format(Identifier(role)))
                    conn.execute(SQL("DROP ROLE {}").format(Identifier(role)))


@pytest.mark.postgres
def test_the_service_role_may_read_and_append_events_but_never_change_them(roles: Roles) -> None:
    roles.setup()
    with _connect(roles.service_conninfo, roles.schema) as conn:
        assert _one(conn, "SELECT current_user") == roles.service
        conn.execute(
            "INSERT INTO kam_events (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, 'test:Appended', '\\x7b7d')",
            (uuid.uuid4(),),
        )
        assert _one(conn, "SELECT count(*) FROM kam_events") == 1
        conn.execute(
            "INSERT INTO kam_snapshots (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, 'test:Snapshot', '\\x7b7d')",
            (uuid.uuid4(),),
        )
        for statement in (
            "UPDATE kam_events SET topic = 'forged'",
            "DELETE FROM kam_events",
            "TRUNCATE kam_events",
            # Nor can it take the triggers away or switch them off.
            "ALTER TABLE kam_events DISABLE TRIGGER kam_append_only",
            "DROP TRIGGER kam_append_only ON kam_events",
            "SET session_replication_role = replica",
            "DROP TABLE kam_events",
            # (Which is why the insert functions take the table lock as the owner.)
            "LOCK TABLE kam_events IN EXCLUSIVE MODE",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)
        assert _one(conn, "SELECT count(*) FROM kam_events") == 1
    with _connect(roles.admin_url, roles.schema) as conn:
        owners = dict(
            conn.execute(
                "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = %s",
                (roles.schema,),
            ).fetchall()
        )
        assert owners == {grant.table: roles.owner for grant in SERVICE_TABLE_PRIVILEGES}
        assert not _one(conn, "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", roles.owner)
        assert _one(
            conn,
            "SELECT rolpassword LIKE 'SCRAM-SHA-256$%%' FROM pg_authid WHERE rolname = %s",
            roles.service,
        )


@pytest.mark.postgres
def test_the_service_runs_commands_reads_and_the_projector_as_the_service_role(
    roles: Roles,
) -> None:
    roles.setup()
    settings = Settings(
        database_url=roles.service_url, database_setup=False, pg_pool_size=4, snapshot_interval=2
    )
    with open_services(settings) as services:
        app = services.app
        account = app.handle(RegisterAccount(name="Role Co", industry="x", region="y"), meta=ANN).id
        for weight in (40, 50, 60):
            app.handle(
                SetFocus(
                    account_id=account, penetration=weight, expansion=20, protection=80 - weight
                ),
                meta=ANN,
            )
        last = app.handle(DraftPlan(account_id=account, period="2027"), meta=ANN).position
        assert app.get_account(account).name == "Role Co"
        projector = services.projector
        projector.setup()
        projector.catch_up()
        assert projector.position() == last
        assert rebuild(app, services.views) == last  # fresh tables swapped in by the service
        # `kam project`: the standalone projector, woken by the insert function's NOTIFY.
        views = services.views
        assert isinstance(views, PostgresViews)
        runner = StandaloneProjector(
            projector, views, channel=app.recorder.channel_name, poll_interval=0.2
        )
        thread = threading.Thread(target=runner.run, name="standalone-as-service", daemon=True)
        thread.start()
        try:
            later = register(app, "Later Co")
            assert wait_for_position(views, later, timeout=10)
        finally:
            runner.stop()
            thread.join(10)
        assert not thread.is_alive()
        assert services.users.authenticate(services.users.add("ann", Role.VIEWER)) is not None
    with _connect(roles.admin_url, roles.schema) as conn:
        assert _one(conn, "SELECT count(*) FROM kam_snapshots") >= 1  # written by the service
        read_model_owners = {
            owner
            for (owner,) in conn.execute(
                "SELECT tableowner FROM pg_tables WHERE schemaname = %s "
                "AND (tablename LIKE 'rm\\_%%' OR tablename = 'kam_users')",
                (roles.schema,),
            )
        }
        assert read_model_owners == {roles.service}


@pytest.mark.postgres
def test_the_service_role_cannot_set_up_the_store_itself(roles: Roles) -> None:
    roles.setup()
    settings = Settings(database_url=roles.service_url, database_setup=True, pg_pool_size=2)
    with (
        pytest.raises(StoreSetupRefusedError, match="KAM_DATABASE_SETUP=false"),
        open_services(settings) as services,
    ):
        _ = services.app


@pytest.mark.postgres
def test_without_set_up_the_service_says_to_run_db_setup_first(pg_schema: str) -> None:
    url = f"{postgres_url_or_skip()}?schema={pg_schema}"
    settings = Settings(database_url=url, database_setup=False, pg_pool_size=2)
    with (
        pytest.raises(StoreNotSetUpError, match="kam db-setup"),
        open_services(settings) as services,
    ):
        _ = services.app


@pytest.mark.postgres
def test_db_setup_is_idempotent_and_adopts_a_store_another_role_created(roles: Roles) -> None:
    # A database from before the roles: everything created by the administrator's role.
    with open_services(Settings(database_url=roles.admin_store_url, pg_pool_size=2)) as services:
        first = register(services.app, "Early Co")
        services.projector.setup()
        services.projector.catch_up()
        services.users.add("ann", Role.VIEWER)
    actions = roles.setup()
    assert f"kam_events: owner postgres -> {roles.owner}" in actions
    assert f"rm_tracking: owner postgres -> {roles.service}" in actions
    assert f"kam_users: owner postgres -> {roles.service}" in actions
    # A function the service creates in the schema later never becomes the owner's.
    with _connect(roles.service_conninfo, roles.schema) as conn:
        conn.execute(
            "CREATE FUNCTION kam_events_kam_mine() RETURNS void LANGUAGE sql "
            "SECURITY DEFINER AS 'DELETE FROM kam_events'"
        )
    again = roles.setup()
    assert not [action for action in again if " -> " in action or "created" in action]
    with _connect(roles.admin_url, roles.schema) as conn:
        assert (
            _one(
                conn,
                "SELECT pg_get_userbyid(proowner) FROM pg_proc "
                "WHERE proname = 'kam_events_kam_mine'",
            )
            == roles.service
        )
    settings = Settings(database_url=roles.service_url, database_setup=False, pg_pool_size=2)
    with open_services(settings) as services:
        later = register(services.app, "Later Co")
        assert later > first
        services.projector.catch_up()
        assert services.projector.position() == later
        assert services.users.count() == 1


@pytest.mark.postgres
def test_the_db_setup_command_creates_the_roles(roles: Roles) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "db-setup",
            "--owner",
            roles.owner,
            "--service-role",
            roles.service,
        ],
        env={"KAM_ADMIN_DATABASE_URL": roles.admin_store_url, "KAM_SERVICE_PASSWORD": "pw"},
    )
    assert result.exit_code == 0, result.output
    assert f"created role {roles.service} (LOGIN)" in result.output
    assert "KAM_DATABASE_SETUP=false" in result.output
    with _connect(roles.admin_url, roles.schema) as conn:
        assert _one(
            conn,
            "SELECT rolpassword LIKE 'SCRAM-SHA-256$%%' FROM pg_authid WHERE rolname = %s",
            roles.service,
        )


@pytest.mark.postgres
def test_an_administrator_with_createrole_owning_the_schema_may_set_up(roles: Roles) -> None:
    admin = f"t_admin_{uuid.uuid4().hex[:10]}"
    with _connect(roles.admin_url, roles.schema) as conn:
        conn.execute(SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD 'a'").format(Identifier(admin)))
        conn.execute(
            SQL("ALTER SCHEMA {} OWNER TO {}").format(Identifier(roles.schema), Identifier(admin))
        )
    try:
        admin_url = _as_role(roles.admin_url, admin, "a")
        for _ in range(2):
            setup_database(
                f"{admin_url}?schema={roles.schema}",
                owner=roles.owner,
                service=roles.service,
                service_password=SERVICE_PASSWORD,
            )
        settings = Settings(database_url=roles.service_url, database_setup=False, pg_pool_size=2)
        with open_services(settings) as services:
            register(services.app, "Delegated Co")
    finally:
        with _connect(roles.admin_url, roles.schema) as conn:
            conn.execute(
                SQL("ALTER SCHEMA {} OWNER TO CURRENT_USER").format(Identifier(roles.schema))
            )
            conn.execute(
                SQL("REVOKE {} FROM {}").format(Identifier(roles.owner), Identifier(admin))
            )
            conn.execute(SQL("DROP OWNED BY {} CASCADE").format(Identifier(admin)))
            conn.execute(SQL("DROP ROLE {}").format(Identifier(admin)))


@pytest.mark.postgres
@pytest.mark.parametrize("which", ["owner", "service"])
def test_db_setup_refuses_the_superuser_as_either_role(roles: Roles, which: str) -> None:
    chosen = {"owner": roles.owner, "service": roles.service, which: "postgres"}
    with pytest.raises(DatabaseSetupError, match="postgres"):
        setup_database(roles.admin_store_url, owner=chosen["owner"], service=chosen["service"])
    with _connect(roles.admin_url, roles.schema) as conn:
        assert _one(
            conn, "SELECT rolcanlogin AND rolsuper FROM pg_roles WHERE rolname = 'postgres'"
        )
        assert _one(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = %s", roles.schema) == 0


def test_the_db_setup_command_reports_a_database_that_refuses() -> None:
    result = CliRunner().invoke(
        cli, ["db-setup", "--admin-url", "postgresql://postgres@127.0.0.1:1/test"]
    )
    assert result.exit_code == 1
    assert "the database refused the set-up" in result.output


def test_the_db_setup_command_refuses_sqlite(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["db-setup", "--admin-url", f"sqlite:///{tmp_path}/kam.db"], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "PostgreSQL" in result.output


# --- Helpers ------------------------------------------------------------------------------


def _as_role(url: str, role: str, password: str) -> str:
    """``url`` with another role and password."""
    return f"postgresql://{role}:{password}@{url.split('@', 1)[1]}"


def _connect(url: str, schema: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}")


def _one(conn: psycopg.Connection[Any], query: str, *params: object) -> Any:
    row = conn.execute(query, params or None).fetchone()
    assert row is not None
    return row[0]


def _exists_role(conn: psycopg.Connection[Any], role: str) -> bool:
    return conn.execute("SELECT FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None
