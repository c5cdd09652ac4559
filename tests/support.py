"""Test support for conftest and test modules: where PostgreSQL is, whether it must run."""

from __future__ import annotations

import os

import psycopg
import pytest

from kam_api.bootstrap import open_read_models
from kam_projections.db import ViewDatabase
from kam_store.url import DatabaseURL

POSTGRES_URL = os.environ.get("KAM_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("KAM_REQUIRE_POSTGRES", "") not in ("", "0", "false")
#: The master key the tests run with (base64 of 32 bytes), so the API stores personal data sealed.
TEST_MASTER_KEY = "a2FtLWxlZGdlci10ZXN0LW1hc3Rlci1rZXktMzJieXQ="
HOW_TO_ENABLE = (
    "PostgreSQL tests need a server: set KAM_TEST_POSTGRES_URL="
    "postgresql://postgres@127.0.0.1:5432/test (CI does this via .ci/run)"
)


def postgres_url_or_skip() -> str:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("KAM_REQUIRE_POSTGRES is set but KAM_TEST_POSTGRES_URL is not")
        pytest.skip(HOW_TO_ENABLE)
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            pass
    except psycopg.OperationalError as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable ({error}); {HOW_TO_ENABLE}")
    return POSTGRES_URL


def open_views(database_url: str) -> ViewDatabase:
    """The read-model database that goes with the store at ``database_url``, as the
    composition root opens it."""
    return open_read_models(DatabaseURL.parse(database_url))
