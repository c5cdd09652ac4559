"""Issue 15 part 1: while PostgreSQL is down every request answers 503 problem+json with
Retry-After (never 500), /readyz says not ready; once it is back, writes and the read models
work again within 5 s. Runs on a cluster of its own, stopped and started by the test."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg.errors import AdminShutdown
from psycopg_pool import PoolTimeout
from tests.pg_cluster import TemporaryCluster, required_binaries
from tests.support import TEST_MASTER_KEY, api_app

from kam_api.auth import Role
from kam_api.errors import PROBLEM_JSON, install_error_handlers
from kam_api.settings import Settings

#: Seconds after PostgreSQL is back by which a write and the read models must work again.
RECOVERY_TARGET = 5.0
#: Seconds within which the four requests made while PostgreSQL is down have all had their 503.
UNAVAILABLE_WITHIN = 5.0


@pytest.fixture
def cluster() -> Iterator[TemporaryCluster]:
    instance = TemporaryCluster(required_binaries())
    try:
        instance.start()
        yield instance
    finally:
        instance.remove()


def outage_settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        embedded_projector=True,
        projector_poll_interval=0.05,
        read_wait_seconds=RECOVERY_TARGET,
        pg_pool_size=2,
        pg_max_overflow=2,
        pg_connect_timeout=1,
        master_key=TEST_MASTER_KEY,
    )


def register(client: TestClient, headers: dict[str, str], name: str) -> Any:
    body = {"name": name, "industry": "Manufacturing", "region": "EMEA"}
    return client.post("/accounts", json=body, headers=headers)


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["status"] == 503


@pytest.mark.postgres
def test_an_outage_answers_503_and_the_service_is_back_within_5_s(
    cluster: TemporaryCluster,
) -> None:
    app = api_app(outage_settings(cluster.url))
    with TestClient(app, raise_server_exceptions=False) as client:
        token = client.app.state.users.add("root", Role.ADMIN)  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {token}"}
        created = register(client, headers, "Before the outage")
        assert created.status_code == 201, created.text
        account = created.json()["id"]
        seen = client.get(f"/portfolio?min_position={created.json()['position']}", headers=headers)
        assert seen.status_code == 200, seen.text

        cluster.stop()
        down = time.monotonic()
        assert_unavailable(client.get(f"/accounts/{account}", headers=headers))  # event store
        assert_unavailable(client.get("/portfolio", headers=headers))  # read models
        assert_unavailable(register(client, headers, "During the outage"))
        ready = client.get("/readyz")
        assert_unavailable(ready)
        assert ready.json()["readiness"] == "unavailable"
        # Told at once, not after the library's ten retries of the pool's timeout (12 s).
        assert time.monotonic() - down <= UNAVAILABLE_WITHIN

        cluster.start()
        back = time.monotonic()
        # The first request once it is back is answered, not refused for the outage just over
        # (the pools try the server again before telling a caller it is unreachable).
        assert client.get("/portfolio", headers=headers).status_code == 200
        attempt = 0
        while True:
            attempt += 1
            written = register(client, headers, f"After the outage {attempt}")
            if written.status_code == 201 or time.monotonic() - back > 30:
                break
            assert_unavailable(written)  # not back yet: still a clean 503
        write_seconds = time.monotonic() - back
        assert written.status_code == 201, written.text
        position = written.json()["position"]
        projected = client.get(f"/portfolio?min_position={position}&limit=50", headers=headers)
        recovered_seconds = time.monotonic() - back
        print(
            f"\nafter the restart: first write in {write_seconds:.2f} s, "
            f"read models caught up in {recovered_seconds:.2f} s"
        )
        assert projected.status_code == 200, projected.text
        assert recovered_seconds <= RECOVERY_TARGET
        names = {row["name"] for row in projected.json()["items"]}
        assert {"Before the outage", f"After the outage {attempt}"} <= names
        assert client.get("/readyz").status_code == 200


STORAGE_ERRORS = {
    "admin-shutdown": AdminShutdown("terminating connection due to administrator command"),
    "pool-timeout": PoolTimeout("couldn't get a connection after 5.00 sec"),
    "connection-closed": psycopg.OperationalError("the connection is closed"),
    "interface": psycopg.InterfaceError("the connection is lost"),
    "sqlite-locked": sqlite3.OperationalError("database is locked"),
    "sqlite-disk": sqlite3.OperationalError("disk I/O error"),
    "store-operational": OperationalError("the event store did not answer"),
}


@pytest.fixture
def failing_client() -> Iterator[TestClient]:
    """An app with the service's error handlers and a route raising the error it is named."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fail/{name}")
    def fail(name: str) -> None:
        if name == "wrong-query":
            raise sqlite3.OperationalError("no such table: rm_nothing")
        raise STORAGE_ERRORS[name]

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("name", sorted(STORAGE_ERRORS))
def test_every_storage_outage_error_answers_503_with_retry_after(
    failing_client: TestClient, name: str
) -> None:
    response = failing_client.get(f"/fail/{name}")
    assert_unavailable(response)
    assert response.json()["type"].endswith("/store-unavailable")


def test_a_wrong_query_is_a_bug_not_an_outage(failing_client: TestClient) -> None:
    assert failing_client.get("/fail/wrong-query").status_code == 500
