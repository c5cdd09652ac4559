"""API test fixtures: the app on each backend (embedded projector on), and a token per role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.openapi_check import Observed
from tests.support import TEST_MASTER_KEY, api_app

from kam_api.auth import Role, UserStore
from kam_api.settings import Settings

#: name -> role of the users every API test can act as.
USERS = {
    "root": Role.ADMIN,
    "dora": Role.DIRECTOR,
    "mia": Role.MANAGER,  # manages the accounts the tests register through `account` fixtures
    "max": Role.MANAGER,  # manages nothing
    "audrey": Role.AUDITOR,
    "vic": Role.VIEWER,
}
#: Colleagues the tests name as managers, team members and owners but never act as (no
#: tokens): commands may name only users of the service (``kam_domain.people``).
COLLEAGUES = (
    "ann", "bob", "ben", "cleo", "cy", "dan", "eve", "lars", "mia2", "sam", "tom", "zed"
)  # fmt: skip


@pytest.fixture
def api_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        embedded_projector=True,
        projector_poll_interval=0.05,
        read_wait_seconds=10,
        # One client sends one request at a time: 4 kept open (10 more under load) is plenty,
        # and two test processes stay far from the server's 100 connections.
        pg_pool_size=4,
        master_key=TEST_MASTER_KEY,
    )


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    """The app, with the COLLEAGUES as managers (no tokens). Every answer it gets must be one
    the OpenAPI document allows for its operation (status, and a 409's type and rule)."""
    app = api_app(api_settings)
    observed = Observed(app)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.event_hooks["response"].append(observed.hook)
        users: UserStore = test_client.app.state.users  # type: ignore[attr-defined]
        for name in COLLEAGUES:
            users.add(name, Role.MANAGER)
        yield test_client
    problems = observed.undocumented()
    assert not problems, "answers the OpenAPI document does not allow:\n" + "\n".join(problems)


@pytest.fixture
def auth(client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers per user name (see USERS)."""
    users: UserStore = client.app.state.users  # type: ignore[attr-defined]
    return {
        name: {"Authorization": f"Bearer {users.add(name, role)}"} for name, role in USERS.items()
    }


def register(
    client: TestClient, headers: dict[str, str], name: str = "Acme Industrial", **fields: Any
) -> dict[str, Any]:
    """Registers an account; returns the command response."""
    body = {"name": name, "industry": "Manufacturing", "region": "EMEA", **fields}
    response = client.post("/accounts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def account(client: TestClient, auth: dict[str, dict[str, str]]) -> str:
    """An account managed by mia, with max nowhere near it."""
    account_id = str(register(client, auth["dora"])["id"])
    response = client.post(
        f"/accounts/{account_id}/manager", json={"manager": "mia"}, headers=auth["dora"]
    )
    assert response.status_code == 200, response.text
    return account_id


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and type slug)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and "detail" in body
    if slug is not None:
        assert body["type"].endswith("/" + slug), body["type"]
    return body
