"""The tests' reused PostgreSQL schemas (``tests/schema_pool.py``): a schema handed out again
holds no row of the test before and numbers events from 1; one a test changed is dropped."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from kam_api.settings import Settings
from tests import schema_pool
from tests.api.conftest import USERS
from tests.support import TEST_MASTER_KEY, api_app, postgres_url_or_skip

pytestmark = pytest.mark.postgres


def register_one(url: str, schema: str) -> int:
    """Starts the app on the schema, registers an account; returns the command's position."""
    settings = Settings(
        database_url=f"{url}?schema={schema}", pg_pool_size=2, master_key=TEST_MASTER_KEY
    )
    with TestClient(api_app(settings)) as client:
        token = client.app.state.users.add("dora", USERS["dora"])  # type: ignore[attr-defined]
        response = client.post(
            "/accounts",
            json={"name": "Pool Co", "industry": "x", "region": "y"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        position: int = response.json()["position"]
        return position


def count(conn: psycopg.Connection, schema: str, table: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def exists(conn: psycopg.Connection, schema: str) -> bool:
    found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return found is not None


def test_a_schema_handed_out_again_is_as_empty_as_a_new_one() -> None:
    url = postgres_url_or_skip()
    schema = schema_pool.take(url, schema_pool.Kind.APP)
    first = register_one(url, schema)
    schema_pool.release(url, schema, schema_pool.Kind.APP)
    assert (
        schema_pool.take(url, schema_pool.Kind.APP) == schema
    )  # the last one emptied is the next handed out
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for table in ("kam_events", "kam_events_chain", "kam_users", "rm_portfolio"):
                assert count(conn, schema, table) == 0, table
        assert register_one(url, schema) == first  # numbered from 1 again
        with psycopg.connect(url, autocommit=True) as conn:
            ids = sql.SQL("SELECT min(notification_id) FROM {}").format(
                sql.Identifier(schema, "kam_events")
            )
            assert conn.execute(ids).fetchone() == (1,)
    finally:
        schema_pool.release(url, schema, schema_pool.Kind.APP)


def test_a_schema_a_test_changed_is_dropped_not_reused() -> None:
    url = postgres_url_or_skip()
    schema = schema_pool.take(url, schema_pool.Kind.APP)
    register_one(url, schema)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP TRIGGER kam_append_only_truncate ON {}").format(
                sql.Identifier(schema, "kam_events")
            )
        )
    schema_pool.release(url, schema, schema_pool.Kind.APP)
    with psycopg.connect(url, autocommit=True) as conn:
        assert not exists(conn, schema)
