"""Web forms carry a fresh idempotency key each time they are rendered, so a double submit, or
the browser's retry after a lost answer, is applied once (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from kam_api.settings import Settings
from tests.web.conftest import web_settings_for
from tests.web.work_seed import TODAY, hidden_fields, history, log_head, seed_account

Client = Callable[[str], TestClient]


@pytest.fixture
def web_settings(database_url: str) -> Settings:
    return web_settings_for(database_url, today=TODAY)


def test_a_form_sent_twice_is_applied_once(web: TestClient, as_user: Client) -> None:
    seeded = seed_account(web)
    mia = as_user("mia")
    page = f"/app/accounts/{seeded.account_id}/update"
    target = f"{page}/interaction"
    opened = mia.get(page).text
    hidden = hidden_fields(opened, target)
    key = hidden["idempotency_key"]
    assert len(key) == 32
    # Each rendering gives each form a key of its own.
    assert hidden_fields(mia.get(page).text, target)["idempotency_key"] != key
    assert hidden_fields(opened, f"{page}/action")["idempotency_key"] != key
    fields = {
        **hidden,
        "stakeholder_id": str(seeded.stakeholder_id),
        "kind": "call",
        "on": "2026-03-09",
        "summary": "Talked renewal terms",
        "sentiment": "1",
    }
    before = log_head(web)
    first = mia.post(target, data=fields)
    assert first.status_code == 303, first.text
    second = mia.post(target, data=fields)  # the double click, or the retry
    assert second.status_code == 303, second.text
    assert second.headers["location"] == first.headers["location"]
    written = [e for e in history(web, seeded.account_id) if e["position"] > before]
    assert [e["event_type"] for e in written] == ["InteractionLogged"]
    # The same key with other values is refused, and writes nothing.
    head = log_head(web)
    other = mia.post(target, data={**fields, "summary": "Something else"})
    assert other.status_code == 422 and "already sent with other values" in other.text
    # A damaged key is refused too.
    damaged = mia.post(target, data={**fields, "idempotency_key": "not a key"})
    assert damaged.status_code == 400
    assert log_head(web) == head
