"""Every in-process cache keeps to the bound its setting gives, and ``/metrics`` shows it
(``kam_store.bounded_cache``; README, "Settings"). Small bounds, so a few requests pass them;
the answers stay right after each eviction (an evicted entry is read again)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from kam_api.auth import Role, UserStore
from kam_projections import health_cache
from kam_projections.db import SQL_TEXTS
from kam_projections.freshness import wait_for_position
from kam_store.bounded_cache import BoundedCache
from tests.support import api_app
from tests.web.conftest import add_users, web_settings_for
from tests.web.support import signed_in

BOUNDS: dict[str, Any] = {
    "token_cache_size": 2,
    "session_cache_size": 1,
    "key_cache_size": 2,
    "health_cache_size": 1,
    "page_cache_size": 1,
    "answer_cache_size": 1,
    "sql_cache_size": 40,
    "projector_row_cache_size": 2,
    "projector_owner_cache_size": 1,
    "aggregate_cache_size": 2,
}


@pytest.fixture
def web(database_url: str) -> Iterator[TestClient]:
    settings = web_settings_for(database_url, **BOUNDS)
    with TestClient(
        api_app(settings), raise_server_exceptions=False, follow_redirects=False
    ) as client:
        add_users(client)
        yield client
    SQL_TEXTS.resize(2048)  # the process's: back to the default for the tests after this one


def caught_up(client: TestClient) -> None:
    state: Any = client.app.state  # type: ignore[attr-defined]
    head = state.kam.recorder.max_notification_id() or 0
    assert wait_for_position(state.views, head, 10)


def metrics(client: TestClient, token: str) -> dict[tuple[str, str], float]:
    """``/metrics``' cache samples: (sample name, cache) -> value."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {
        (sample.name, sample.labels["cache"]): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if family.name.startswith("kam_cache_")
    }


def evicted(cache: BoundedCache[Any, Any]) -> int:
    return cache.stats().evictions or 0


def test_every_cache_keeps_to_its_bound_and_the_answers_stay_right(web: TestClient) -> None:
    state: Any = web.app.state  # type: ignore[attr-defined]
    users: UserStore = state.users
    tokens = [users.add(f"reader{i}", Role.DIRECTOR) for i in range(4)]
    accounts = []
    for i, token in enumerate(tokens):
        headers = {"Authorization": f"Bearer {token}"}
        body = {"name": f"Bounded {i}", "industry": "Retail", "region": "EMEA"}
        answer = web.post("/accounts", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        account = answer.json()["id"]
        accounts.append(account)
        person = {"name": f"Person {i}", "email": f"p{i}@example.com", "buying_role": "champion"}
        answer = web.post(
            f"/accounts/{account}/stakeholders", json={**person, "influence": 3}, headers=headers
        )
        assert answer.status_code == 201, answer.text
    caught_up(web)
    for token, account in zip(tokens, accounts, strict=True):
        headers = {"Authorization": f"Bearer {token}"}
        assert web.get(f"/accounts/{account}", headers=headers).json()["id"] == account
        people = web.get(f"/accounts/{account}/stakeholders", headers=headers).json()["items"]
        assert [p["name"] for p in people] == [f"Person {accounts.index(account)}"]

    assert len(users._cache) <= 2 and evicted(users._cache) >= 2
    keys = state.kam.mapper.keys._cache
    assert len(keys) <= 2 and evicted(keys) >= 2
    aggregates = state.kam.repository.cache
    assert len(aggregates.cache) <= 2
    assert len(SQL_TEXTS) <= 40
    owners = state.projector._owners
    assert len(owners) <= 1 and evicted(owners) >= 1
    for model in state.projector.models:
        for table in model.tables:
            assert len(table._rows) <= 2, table.name
    source_rows = next(
        t._rows for m in state.projector.models for t in m.tables if t.name == "rm_sources"
    )
    assert evicted(source_rows) >= 2

    for token in tokens[:2]:
        for path in ("/portfolio", "/portfolio?limit=1", "/portfolio/summary"):
            answer = web.get(path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.text
    answers = state.answer_cache
    assert len(answers) <= 1 and evicted(answers) >= 2

    dora, mia = signed_in(web, "dora"), signed_in(web, "mia")
    for browser in (dora, mia, dora):
        assert browser.get("/app/portfolio").status_code == 200
        assert browser.get("/app/portfolio?q=Bounded").status_code == 200
        for account in accounts[:2]:
            assert browser.get(f"/app/accounts/{account}").status_code == 200
    sessions = state.web_sessions._kept
    assert len(sessions) <= 1 and evicted(sessions) >= 2
    pages = state.portfolio_caches.tables.entries
    assert len(pages) <= 1 and evicted(pages) >= 1
    health = health_cache._cache_of(state.views)
    assert len(health) <= 1 and evicted(health) >= 1

    gc.collect()  # only this app's caches (and the process's) are left to report
    figures = metrics(web, users.add("ops", Role.ADMIN))
    for name, cache in [
        ("api_tokens", users._cache),
        ("web_sessions", sessions),
        ("person_keys", keys),
        ("account_health", health),
        ("portfolio_table_pages", pages),
        ("api_answers", answers),
        ("projector_owners", owners),
        ("projector_rows_rm_sources", source_rows),
    ]:
        stats = cache.stats()
        assert figures[("kam_cache_max_entries", name)] >= stats.maxsize, name
        assert figures[("kam_cache_evictions_total", name)] >= evicted(cache) >= 1, name
        assert figures[("kam_cache_hits_total", name)] >= (stats.hits or 0), name
        assert ("kam_cache_entries", name) in figures
    assert figures[("kam_cache_max_entries", "aggregates")] == 2
    assert figures[("kam_cache_max_entries", "sql_texts")] == 40
