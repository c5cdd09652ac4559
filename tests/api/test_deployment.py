"""docker-compose.yml cannot run here (no Docker engine): check it agrees with the code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient
from tests.support import api_app
from typer.main import get_command

from kam_api.auth import Role, UserStore
from kam_api.cli import cli
from kam_api.settings import Settings
from kam_domain.commands import AddAction, DraftPlan, RegisterAccount
from kam_domain.values import Envelope, ServiceProfile
from kam_store.roles import SERVICE_ROLE

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_postgres_with_a_healthcheck_and_a_volume() -> None:
    postgres = compose()["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pgdata" in compose()["volumes"]


def test_compose_sets_up_the_roles_as_the_superuser_before_anything_else_starts() -> None:
    services = compose()["services"]
    setup = services["db-setup"]
    assert setup["command"] == ["kam", "db-setup"]
    assert "db-setup" in get_command(cli).commands  # type: ignore[attr-defined]
    assert setup["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert setup.get("restart", "no") == "no"  # one shot
    db = services["postgres"]["environment"]
    assert setup["environment"]["KAM_ADMIN_DATABASE_URL"] == (
        f"postgresql://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@postgres:5432/"
        f"{db['POSTGRES_DB']}"
    )
    for name in ("api", "projector"):
        depends_on = services[name]["depends_on"]
        assert depends_on["db-setup"]["condition"] == "service_completed_successfully"
        assert depends_on["postgres"]["condition"] == "service_healthy"


def test_compose_api_runs_a_real_kam_command_as_the_service_role() -> None:
    services = compose()["services"]
    api = services["api"]
    program, command, *_ = api["command"]
    assert program == "kam"
    assert command in get_command(cli).commands  # type: ignore[attr-defined]
    env = api["environment"]
    db = services["postgres"]["environment"]
    password = services["db-setup"]["environment"]["KAM_SERVICE_PASSWORD"]
    assert env["KAM_DATABASE_URL"] == (
        f"postgresql://{SERVICE_ROLE}:{password}@postgres:5432/{db['POSTGRES_DB']}"
    )
    # The service role may not replace the owner's functions: it must not set the store up.
    assert Settings(**settings_fields(env)).database_setup is False


def test_compose_runs_the_standalone_projector_against_the_same_database() -> None:
    services = compose()["services"]
    projector = services["projector"]
    assert projector["command"][:2] == ["kam", "project"]
    assert "project" in get_command(cli).commands  # type: ignore[attr-defined]
    assert (
        projector["environment"]["KAM_DATABASE_URL"]
        == (services["api"]["environment"]["KAM_DATABASE_URL"])
    )
    assert Settings(**settings_fields(projector["environment"])).database_setup is False
    assert projector["depends_on"]["postgres"]["condition"] == "service_healthy"
    # Both read sealed personal data: the same master key.
    assert (
        projector["environment"]["KAM_MASTER_KEY"]
        == (services["api"]["environment"]["KAM_MASTER_KEY"])
    )
    # On PostgreSQL the API must not also run an embedded projector.
    api_env = services["api"]["environment"]
    assert api_env.get("KAM_EMBEDDED_PROJECTOR", "false") in ("false", False)


def test_every_compose_kam_variable_is_a_setting_or_an_option_of_its_command() -> None:
    fields = {f"KAM_{name.upper()}" for name in Settings.model_fields}
    commands = get_command(cli).commands  # type: ignore[attr-defined]
    for service in compose()["services"].values():
        command = service.get("command", [None, None])
        options = (
            {param.envvar for param in commands[command[1]].params if param.envvar}
            if command[0] == "kam"
            else set()
        )
        for key in service.get("environment", {}):
            if key.startswith("KAM_"):
                assert key in fields | options, key


def settings_fields(environment: dict[str, str]) -> dict[str, str]:
    """The settings a service's ``KAM_*`` environment gives."""
    return {
        key.removeprefix("KAM_").lower(): value
        for key, value in environment.items()
        if key.startswith("KAM_")
    }


def test_the_service_answers_liveness_and_readiness(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/kam.db")
    with TestClient(api_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_readiness_is_a_problem_when_the_read_models_lag(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/kam.db", embedded_projector=False, readiness_max_lag=0
    )
    with TestClient(api_app(settings)) as client:
        kam = client.app.state.kam  # type: ignore[attr-defined]
        kam.handle(
            RegisterAccount(
                name="Lagging Co", industry="x", region="y", service_profile=ServiceProfile.LIGHT
            ),
            meta=Envelope(actor="ann"),
        )
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    body = ready.json()
    assert body["type"].endswith("/read-models-lagging") and body["status"] == 503
    assert body["title"] and body["detail"]
    assert body["readiness"] == "lagging"
    assert (body["read_models_position"], body["lag"]) == (0, body["position"])
    assert body["lag"] >= 1


def test_readiness_is_a_problem_when_the_store_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/kam.db")
    with TestClient(api_app(settings)) as client:
        projector = client.app.state.projector  # type: ignore[attr-defined]

        def unavailable() -> int:
            raise OperationalError("connection refused")

        monkeypatch.setattr(projector, "position", unavailable)
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    body = ready.json()
    assert body["type"].endswith("/store-unavailable") and body["status"] == 503
    assert (body["readiness"], body["store"]) == ("unavailable", "OperationalError")


@pytest.mark.parametrize("today", [date(2027, 3, 1), date(2027, 3, 31)])
def test_today_is_the_settings_clock_for_overdue_actions(tmp_path: Path, today: date) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/kam.db", today=today)
    with TestClient(api_app(settings)) as client:
        kam = client.app.state.kam  # type: ignore[attr-defined]
        users: UserStore = client.app.state.users  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {users.add('dora', Role.DIRECTOR)}"}
        dora = Envelope(actor="dora")
        account = kam.handle(
            RegisterAccount(name="Clock Co", industry="x", region="y"), meta=dora
        ).id
        plan = kam.handle(DraftPlan(account_id=account, period="2027"), meta=dora).id
        last = kam.handle(
            AddAction(plan_id=plan, what="Call", owner="dora", due_on=date(2027, 3, 15)),
            meta=dora,
        )
        rows = client.get(
            "/actions", params={"min_position": last.position}, headers=headers
        ).json()["items"]
    assert [row["overdue"] for row in rows] == [today > date(2027, 3, 15)]
