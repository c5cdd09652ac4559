"""Issue 14 part 5: a page after a cursor is the rest of the list, in order, with nothing lost
or repeated: the portfolio (ties in the sort key broken by account id, the cursor bounding the
index range) and an account's history, walked one small page at a time. Both backends."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import register

Auth = dict[str, dict[str, str]]


def _walk(
    client: TestClient, path: str, headers: dict[str, str], limit: int, **query: str
) -> list[Any]:
    """Every item of a list, page by page."""
    items: list[Any] = []
    cursor = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": limit, **query}
        if cursor:
            params["cursor"] = cursor
        page = client.get(path, params=params, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the list did not end")


@pytest.mark.parametrize("sort", ["revenue", "name", "health", "rank"])
def test_portfolio_pages_walk_the_whole_list_in_order(
    client: TestClient, auth: Auth, sort: str
) -> None:
    last = 0
    for n in range(13):
        registered = register(client, auth["dora"], name=f"Deep {n:02d}")
        account, last = registered["id"], max(last, registered["position"])
        if n % 4:  # four accounts without revenue; the rest in three ties
            last = client.post(
                f"/accounts/{account}/financials",
                json={"period": "2026", "revenue": str(100 * (n % 3 + 1)), "currency": "EUR"},
                headers=auth["dora"],
            ).json()["position"]
    whole = client.get(
        "/portfolio", params={"sort": sort, "limit": 500, "min_position": last}, headers=auth["vic"]
    ).json()["items"]
    assert len(whole) == 13
    walked = _walk(client, "/portfolio", auth["vic"], 2, sort=sort)
    assert [r["account_id"] for r in walked] == [r["account_id"] for r in whole]
    if sort in ("revenue", "rank"):
        keys = [(-(r["revenue"] or 0), r["account_id"]) for r in walked]
        assert keys == sorted(keys)
    if sort == "name":
        assert [r["name"] for r in walked] == sorted(r["name"] for r in walked)


def test_history_pages_after_a_cursor_continue_where_the_last_one_ended(
    client: TestClient, auth: Auth
) -> None:
    account = register(client, auth["dora"])["id"]
    last = 0
    for n in range(40):
        last = client.post(
            f"/accounts/{account}/competitors",
            json={"name": f"Rival {n}", "threat": "low"},
            headers=auth["dora"],
        ).json()["position"]
    path = f"/accounts/{account}/history"
    whole = client.get(
        path, params={"limit": 100, "min_position": last}, headers=auth["audrey"]
    ).json()["items"]
    assert len(whole) == 41
    walked = _walk(client, path, auth["audrey"], 3)
    positions = [e["position"] for e in walked]
    assert positions == [e["position"] for e in whole]
    assert positions == sorted(set(positions))
