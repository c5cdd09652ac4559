"""Test support for conftest and test modules: where PostgreSQL is, whether it must run, and
the API app as the tests build it (``api_app``)."""

from __future__ import annotations

import dataclasses
import os

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.routing import _IncludedRouter

from kam_api.bootstrap import open_read_models
from kam_api.main import create_app
from kam_api.settings import Settings
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


#: Whether the server answered this test process once (then it is not asked again per test).
_REACHED: list[bool] = []


def postgres_url_or_skip() -> str:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("KAM_REQUIRE_POSTGRES is set but KAM_TEST_POSTGRES_URL is not")
        pytest.skip(HOW_TO_ENABLE)
    if _REACHED:
        return POSTGRES_URL
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            pass
    except psycopg.OperationalError as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable ({error}); {HOW_TO_ENABLE}")
    _REACHED.append(True)
    return POSTGRES_URL


def open_views(database_url: str) -> ViewDatabase:
    """The read-model database that goes with the store at ``database_url``, as the
    composition root opens it."""
    return open_read_models(DatabaseURL.parse(database_url))


#: The included routers every app of this test process shares (see ``api_app``).
_SHARED_ROUTERS: dict[tuple[object, ...], _IncludedRouter] = {}


def api_app(settings: Settings) -> FastAPI:
    """``create_app(settings)``, its routes shared with every app this test process built.

    FastAPI (0.165) works out each included router's routes (their dependencies, parameters
    and response models) on an app's first request, again for every app: about a CPU-second
    here, once per test, where the test itself often takes a tenth of that. A server builds
    one app and pays it once. Every app ``create_app`` builds includes the same module-level
    routers with the same prefix and app-wide dependencies, so the tests give each app the
    process's included router of that shape, whose routes are worked out once. (No test
    overrides dependencies, so the shared routes need no app to look overrides up in.)"""
    app = create_app(settings)
    routes = app.router.routes
    for index, route in enumerate(routes):
        if not isinstance(route, _IncludedRouter):
            continue
        context = route.include_context
        key = (
            id(route.original_router),
            context.prefix,
            tuple(depends.dependency for depends in context.dependencies),
        )
        if key not in _SHARED_ROUTERS:
            _SHARED_ROUTERS[key] = _IncludedRouter(
                original_router=route.original_router,
                include_context=dataclasses.replace(context, dependency_overrides_provider=None),
            )
        routes[index] = _SHARED_ROUTERS[key]
    return app
