"""Issue 15 part 6: the API's GET endpoints may query the read models on a streaming replica
(``KAM_READ_DATABASE_URL``), and read-your-writes still holds: ``min_position`` waits for the
replica to have applied the position. Writes (commands, the projector, users) stay on the
primary. Runs on a primary of the test's own (wal_level=replica) and a hot standby made from
it with ``pg_basebackup -R``, both on free ports; never CI's server.

Why polling the replica's ``rm_tracking`` is enough: the projector writes a batch's rows and
its ``rm_tracking`` update in one transaction, a standby replays transactions whole and in
commit order, and its snapshots only move forward; so once the replica's tracking shows a
position, every later query on that replica sees the rows up to it. The tests pause the
replica's replay to show the wait is on the replica (not the primary) and does not return
early."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from tests.pg_cluster import TemporaryCluster, required_binaries
from tests.support import TEST_MASTER_KEY, api_app

from kam_api.auth import Role
from kam_api.errors import PROBLEM_JSON
from kam_api.settings import Settings
from kam_projections.freshness import wait_for_position


@pytest.fixture(scope="module")
def replicated() -> Iterator[tuple[TemporaryCluster, TemporaryCluster]]:
    """A primary and its streaming replica, both running."""
    bin_dir = required_binaries()
    primary = TemporaryCluster(bin_dir, settings=("wal_level=replica", "max_wal_senders=4"))
    replica: TemporaryCluster | None = None
    try:
        primary.start()
        replica = TemporaryCluster(bin_dir, primary=primary)
        replica.start()
        yield primary, replica
    finally:
        if replica is not None:
            replica.remove()
        primary.remove()


def replica_settings(primary: str, replica: str, *, wait: float = 5.0) -> Settings:
    return Settings(
        database_url=primary,
        read_database_url=replica,
        embedded_projector=True,
        projector_poll_interval=0.05,
        read_wait_seconds=wait,
        pg_pool_size=2,
        pg_max_overflow=2,
        master_key=TEST_MASTER_KEY,
    )


def register(client: TestClient, headers: dict[str, str], name: str) -> int:
    body = {"name": name, "industry": "Manufacturing", "region": "EMEA"}
    created = client.post("/accounts", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return int(created.json()["position"])


def names(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {row["name"] for row in response.json()["items"]}


def set_replay(replica: TemporaryCluster, *, paused: bool) -> None:
    """Pauses (or resumes) the replica's replay of the primary's WAL, and waits until it is."""
    with psycopg.connect(replica.url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            row = conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()
            if (row[0] == "paused") == paused if row else False:
                return
            time.sleep(0.02)
    raise AssertionError(f"the replica's replay did not become {'paused' if paused else 'live'}")


def resume_replay(replica: TemporaryCluster, resumed_at: list[float]) -> None:
    """Resumes the replica's replay, noting when (before asking: nothing replays earlier)."""
    resumed_at.append(time.monotonic())
    set_replay(replica, paused=False)


@pytest.mark.postgres
def test_reads_go_to_the_replica_and_min_position_waits_for_its_replay(
    replicated: tuple[TemporaryCluster, TemporaryCluster],
) -> None:
    primary, replica = replicated
    settings = replica_settings(primary.url, replica.url, wait=1.0)
    with TestClient(api_app(settings), raise_server_exceptions=False) as client:
        state = client.app.state  # type: ignore[attr-defined]
        assert state.read_views is not state.views
        assert state.read_views.conninfo.endswith(f":{replica.port}/postgres")
        # What writes or LISTENs keeps the primary: projector, webhooks, sessions, users.
        for views in (
            state.projector.views,
            state.webhooks.views,
            state.web_sessions.table.views,
            state.users.views,
        ):
            assert views is state.views
        assert state.views.conninfo.endswith(f":{primary.port}/postgres")
        # Users live on the primary (the replica is read-only: adding one there would fail).
        headers = {"Authorization": f"Bearer {state.users.add('root', Role.ADMIN)}"}
        seen = register(client, headers, "Seen through the replica")
        assert "Seen through the replica" in names(
            client.get(f"/portfolio?min_position={seen}", headers=headers)
        )

        set_replay(replica, paused=True)
        resumed_at: list[float] = []
        try:
            position = register(client, headers, "Written while replay is paused")
            # The primary's read models have it ...
            assert wait_for_position(state.views, position, 10)
            # ... the replica's do not: the GET endpoints read there, and tag (and keep) their
            # answers with the replica's state, not the primary's.
            behind = client.get("/portfolio?limit=500", headers=headers)
            assert "Written while replay is paused" not in names(behind)
            assert int(behind.headers["ETag"].strip('"').split("-")[0]) < position
            waited = client.get(f"/portfolio?min_position={position}", headers=headers)
            assert waited.status_code == 503, waited.text
            assert waited.headers["content-type"].startswith(PROBLEM_JSON)
            assert waited.json()["type"].endswith("/not-ready")
            ready = client.get("/readyz").json()
            assert ready["read_models_position"] < position <= ready["position"]
        finally:
            # Resumed while the next read waits: it answers once the replica has replayed.
            resume = threading.Timer(0.3, resume_replay, (replica, resumed_at))
            resume.start()
        settings.read_wait_seconds = 10.0
        after = client.get(f"/portfolio?min_position={position}", headers=headers)
        answered_at = time.monotonic()
        resume.join()
        assert resumed_at and answered_at > resumed_at[0]  # it waited for the replay
        assert "Written while replay is paused" in names(after)
        # The answer kept while the replica was behind is not the answer now.
        assert "Written while replay is paused" in names(
            client.get("/portfolio?limit=500", headers=headers)
        )


@pytest.mark.postgres
def test_every_write_is_read_back_through_the_replica_with_min_position(
    replicated: tuple[TemporaryCluster, TemporaryCluster],
) -> None:
    """Read-your-writes through the replica under continuous replication: each account
    written is in the very next read that names its position (no retry)."""
    primary, replica = replicated
    settings = replica_settings(primary.url, replica.url)
    with TestClient(api_app(settings), raise_server_exceptions=False) as client:
        users = client.app.state.users  # type: ignore[attr-defined]
        token = users.add("rita", Role.DIRECTOR)
        headers = {"Authorization": f"Bearer {token}"}
        for number in range(12):
            name = f"Replica round {number}"
            position = register(client, headers, name)
            found = client.get(
                "/search", params={"q": name, "min_position": position}, headers=headers
            )
            assert found.status_code == 200, found.text
            assert name in {hit["name"] for hit in found.json()["items"]}, found.json()
            summary = client.get(f"/portfolio/summary?min_position={position}", headers=headers)
            assert summary.status_code == 200, summary.text


def test_a_read_replica_must_be_postgresql_of_a_postgresql_store_in_its_schema() -> None:
    primary = "postgresql://kam@db:5432/kam?schema=tenant"
    assert Settings(database_url=primary).read_database is None
    replica = Settings(database_url=primary, read_database_url="postgresql://kam@replica/kam")
    assert replica.read_database is not None and replica.read_database.is_postgres
    same = Settings(
        database_url=primary, read_database_url="postgresql://kam@replica/kam?schema=tenant"
    )
    assert same.read_database is not None
    refused = [
        ("sqlite:///./kam.db", "postgresql://kam@replica/kam"),
        (primary, "sqlite:///./replica.db"),
        (primary, "postgresql://kam@replica/kam?schema=other"),
        (primary, "mysql://kam@replica/kam"),
    ]
    for database_url, read_database_url in refused:
        with pytest.raises(ValidationError, match=r"read_database_url|scheme"):
            Settings(database_url=database_url, read_database_url=read_database_url)


def test_without_a_replica_the_reads_use_the_read_models_own_database(tmp_path: Any) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/kam.db")
    with TestClient(api_app(settings)) as client:
        state = client.app.state  # type: ignore[attr-defined]
        assert state.read_views is state.views
