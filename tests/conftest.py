"""Shared fixtures: the same application tests run on SQLite and on real PostgreSQL.

PostgreSQL tests carry the ``postgres`` marker and use ``KAM_TEST_POSTGRES_URL``. Without it
(and without ``KAM_REQUIRE_POSTGRES``) they skip with a message saying how to enable them; under
CI (``KAM_REQUIRE_POSTGRES=1``) they must run, and the session fails if none did (under
pytest-xdist, counted by the controller over all workers).

Each PostgreSQL test gets a schema of its own: a new one, or, for a test that starts the whole
app through ``api_settings`` or ``web_settings`` or the event store through ``app`` (and is not
marked ``fresh_schema``), one an earlier such test of the process used, emptied
(``tests/schema_pool.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.dependencies import models as fastapi_dependencies

from kam_domain.application import KamApplication
from kam_store.crypto import MasterKey, personal_data_mapper
from kam_store.env import library_env
from kam_store.features import store_features
from tests import schema_pool
from tests.support import POSTGRES_URL, REQUIRE_POSTGRES, TEST_MASTER_KEY, postgres_url_or_skip

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]

_postgres_tests_run = 0

#: The fixtures that start the whole app on ``database_url`` (``schema_pool.Kind.APP``).
APP_SETTINGS = frozenset({"api_settings", "web_settings"})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _postgres_tests_run
    if report.when == "call" and report.passed and "postgres" in report.keywords:
        _postgres_tests_run += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if POSTGRES_URL:
        schema_pool.drop_free(POSTGRES_URL)
    if hasattr(session.config, "workerinput"):
        # An xdist worker runs only its share; the controller gets every worker's reports
        # (pytest_runtest_logreport above) and judges the whole run.
        return
    if REQUIRE_POSTGRES and exitstatus == 0 and _postgres_tests_run == 0:
        session.exitstatus = 1
        print("\nKAM_REQUIRE_POSTGRES is set but no PostgreSQL test ran")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After each test, FastAPI forgets the callables it classified (its ``lru_cache`` of
    4096, keyed by the callable): an app's own endpoints (the docs pages', ``/healthz``) are
    closures over the app, so the cache kept ~1,000 apps of earlier tests alive (5 GB, and
    minutes of garbage collection, at the end of a run above all)."""
    try:
        return (yield)
    finally:
        for cached in vars(fastapi_dependencies).values():
            if callable(getattr(cached, "cache_clear", None)):
                cached.cache_clear()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    url = postgres_url_or_skip()
    schema = schema_pool.new_schema(url)
    try:
        yield schema
    finally:
        schema_pool.drop(url, schema)


def _kind(request: pytest.FixtureRequest) -> schema_pool.Kind | None:
    """What the test sets up in its schema, if it is a kind of ``schema_pool``."""
    if request.node.get_closest_marker("fresh_schema") is not None:
        return None
    names = set(request.fixturenames)
    if APP_SETTINGS & names:
        return schema_pool.Kind.APP
    return schema_pool.Kind.STORE if "app" in names else None


@pytest.fixture
def pooled_schema(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL schema as the test's kind sets it up, emptied, or a new one; emptied again
    afterwards for the next such test, or dropped if the test changed it."""
    kind = _kind(request)
    assert kind is not None
    url = postgres_url_or_skip()
    schema = schema_pool.take(url, kind)
    try:
        yield schema
    finally:
        schema_pool.release(url, schema, kind)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for an empty store on the backend of the test's parameter."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kam.db'}"
    pooled = _kind(request) is not None
    schema = request.getfixturevalue("pooled_schema" if pooled else "pg_schema")
    return f"{postgres_url_or_skip()}?schema={schema}"


@pytest.fixture
def store_env(database_url: str) -> dict[str, str]:
    return library_env(database_url, pool_size=4, max_overflow=16)


@pytest.fixture
def app(store_env: dict[str, str]) -> Iterator[KamApplication]:
    application = KamApplication(
        env=store_env,
        snapshot_interval=5,
        store_features=store_features,
        mapper=personal_data_mapper(MasterKey.from_base64(TEST_MASTER_KEY)),
    )
    try:
        yield application
    finally:
        application.close()
