"""What the two fuzz tests share: the same app started on each backend, so that every request
hypothesis generates (most of a fuzz test's time is generating them) is sent to both."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.support import api_app, postgres_url_or_skip

from kam_api.auth import Role
from kam_api.settings import Settings

EXAMPLES = int(os.environ.get("KAM_FUZZ_EXAMPLES", "15"))
#: The operations are fuzzed in this many parts, each a test of its own (every PARTS-th
#: operation), so the parts spread over the test processes instead of one taking minutes.
PARTS = 5
#: What of schemathesis' transport arguments the test client takes.
SENT = ("method", "url", "headers", "params", "json", "content", "data")


@dataclass
class Target:
    """One backend's started app, its client, and a director's Authorization header."""

    backend: str
    app: FastAPI
    client: TestClient
    auth: dict[str, str]


@contextmanager
def targets(
    request: pytest.FixtureRequest, tmp_path: Path, settings: Callable[[str], Settings]
) -> Iterator[list[Target]]:
    """The app started on SQLite and, where the server is there (always under CI), on
    PostgreSQL, each with the director dora; ``settings(database_url)`` configures each."""
    urls = {"sqlite": f"sqlite:///{tmp_path / 'kam.db'}"}
    try:
        url = postgres_url_or_skip()  # fails, not skips, where PostgreSQL is required
    except pytest.skip.Exception:
        pass
    else:
        urls["postgres"] = f"{url}?schema={request.getfixturevalue('pg_schema')}"
        request.node.add_marker(pytest.mark.postgres)  # counts as a PostgreSQL test run
    with ExitStack() as stack:
        started = []
        for backend, database_url in urls.items():
            app = api_app(settings(database_url))
            client = stack.enter_context(TestClient(app, raise_server_exceptions=False))
            token = app.state.users.add("dora", Role.DIRECTOR)
            started.append(Target(backend, app, client, {"Authorization": f"Bearer {token}"}))
        yield started
