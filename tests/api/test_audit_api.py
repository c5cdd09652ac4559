"""The audit reads over HTTP: an account's history and the global event log, on both backends."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register

Auth = dict[str, dict[str, str]]
MISSING = "00000000-0000-4000-8000-000000000000"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def story(client: TestClient, auth: Auth, account: str) -> dict[str, Any]:
    """Commands on mia's account, one of its plans and one of its stakeholders, through HTTP:
    {position: actor} of every command, the plan and stakeholder ids, the last position."""
    mia, dora = auth["mia"], auth["dora"]
    written: dict[int, str] = {}
    start = client.app.state.kam.recorder.max_notification_id()  # type: ignore[attr-defined]

    def send(path: str, body: dict[str, Any], headers: dict[str, str], status: int = 200) -> Any:
        result = ok(client.post(path, json=body, headers=headers), status)
        written[result["position"]] = "mia" if headers is mia else "dora"
        return result

    send(
        f"/accounts/{account}/classification",
        {"tier": "strategic", "kind": "existing", "rationale": "largest", "reason": "annual"},
        dora,  # directors decide the tier
    )
    plan = send(f"/accounts/{account}/plans", {"period": "2027"}, mia, 201)["id"]
    send(f"/plans/{plan}/direction", {"direction": "Grow the plant business"}, dora)
    send(
        f"/plans/{plan}/actions",
        {"what": "Workshop", "owner": "mia", "due_on": "2027-03-31"},
        mia,
        201,
    )
    person = send(
        f"/accounts/{account}/stakeholders",
        {
            "name": "Grace Hopper",
            "email": "grace@acme.example",
            "title": "CPO",
            "influence": 4,
            "buying_role": "economic_buyer",
        },
        mia,
        201,
    )["id"]
    send(
        f"/stakeholders/{person}/interactions",
        {"kind": "qbr", "on": "2026-03-02", "summary": "QBR", "sentiment": 2},
        mia,
        201,
    )
    send(f"/accounts/{account}/stage", {"to": "research"}, dora)
    return {
        "start": start,
        "written": written,
        "plan": plan,
        "person": person,
        "last": max(written),
    }


def history(
    client: TestClient, headers: dict[str, str], account: str, **params: Any
) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        client.get(f"/accounts/{account}/history", params=params, headers=headers)
    )
    return result


def by_position(items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {i["position"]: i for i in items}


def all_events(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return list(ok(client.get("/events", params={"limit": 1000}, headers=headers))["items"])


def test_every_event_written_through_the_api_is_in_the_history_once_with_its_actor(
    client: TestClient, auth: Auth, account: str, story: dict[str, Any]
) -> None:
    page = history(client, auth["audrey"], account, min_position=story["last"], limit=100)
    items = page["items"]
    positions = [i["position"] for i in items]
    assert page["next_cursor"] is None
    assert positions == sorted(set(positions))
    # Each command answers the position of its last event (maybe an index's, like the tier
    # roster): every event of the account's aggregates up to it is in the history exactly
    # once, with the actor of the command that wrote it.
    ours = {account, story["plan"], story["person"]}
    log = all_events(client, auth["audrey"])
    written = [e for e in log if story["start"] < e["position"] and e["aggregate_id"] in ours]
    assert len(written) >= len(story["written"])
    for event in written:
        assert positions.count(event["position"]) == 1, event
        command = min(p for p in story["written"] if p >= event["position"])
        assert by_position(items)[event["position"]]["actor"] == story["written"][command]
    # Exactly the account's events of the global log: registration, manager, the story.
    assert positions == [e["position"] for e in log if e["account_id"] == account]
    kinds = {i["aggregate_id"]: i["aggregate_type"] for i in items}
    assert kinds == {
        account: "KeyAccount",
        story["plan"]: "AccountPlan",
        story["person"]: "Relationship",
    }
    classified = next(i for i in items if i["type"] == "Classified")
    assert classified["type"] == "Classified" and classified["reason"] == "annual"
    assert classified["data"]["tier"] == "strategic" and "meta" not in classified["data"]
    assert classified["summary"]
    identified = next(i for i in items if i["aggregate_type"] == "Relationship")
    assert "Grace Hopper" in json.dumps(identified["data"])  # personal data is audit record
    assert identified["data"]["account_id"] == account


def test_history_filters_by_type_actor_and_recorded_time(
    client: TestClient, auth: Auth, account: str, story: dict[str, Any]
) -> None:
    audrey = auth["audrey"]
    full = history(client, audrey, account, min_position=story["last"], limit=100)["items"]
    classified = history(client, audrey, account, type="Classified")["items"]
    assert [i["type"] for i in classified] == ["Classified"]
    by_dora = history(client, audrey, account, actor="dora", limit=100)["items"]
    assert by_dora == [i for i in full if i["actor"] == "dora"] and len(by_dora) >= 3
    assert history(client, audrey, account, actor="nobody")["items"] == []
    middle = full[len(full) // 2]["recorded_at"]
    since = history(client, audrey, account, limit=100, recorded_from=middle)["items"]
    before = history(client, audrey, account, limit=100, recorded_to=middle)["items"]
    assert since == [i for i in full if i["recorded_at"] >= middle]
    assert before + since == full and before
    assert history(client, audrey, account, limit=100, recorded_from="2000-01-01")["items"] == full
    assert history(client, audrey, account, recorded_to="2000-01-01T00:00:00")["items"] == []


def test_history_from_and_to_place_a_backdated_interaction_at_its_own_date(
    client: TestClient, auth: Auth, account: str, story: dict[str, Any]
) -> None:
    # Given the story's QBR, logged today with its own date "on": 2026-03-02
    audrey = auth["audrey"]
    full = history(client, audrey, account, min_position=story["last"], limit=100)["items"]
    qbr = next(i for i in full if i["type"] == "InteractionLogged")

    # When the history is filtered by when things happened
    that_day = history(
        client, audrey, account, limit=100, **{"from": "2026-03-02", "to": "2026-03-03"}
    )["items"]
    recorded_that_day = history(
        client, audrey, account, limit=100, recorded_from="2026-03-02", recorded_to="2026-03-03"
    )["items"]

    # Then the interaction happened on its own date, though it was recorded later
    assert qbr["occurred_at"].startswith("2026-03-02T00:00:00")
    assert qbr["recorded_at"] > "2026-03-03"
    assert that_day == [qbr]
    assert recorded_that_day == []
    since = history(client, audrey, account, limit=100, **{"from": "2026-03-03"})["items"]
    assert qbr not in since and since == [i for i in full if i is not qbr and i != qbr]


def test_history_pages_concatenate_to_the_unpaged_list(
    client: TestClient, auth: Auth, account: str, story: dict[str, Any]
) -> None:
    audrey = auth["audrey"]
    full = history(client, audrey, account, min_position=story["last"], limit=100)["items"]
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = history(client, audrey, account, **params)
        assert len(page["items"]) <= 2
        pages += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == full
    mine = history(client, auth["mia"], account, actor="mia", limit=1)
    rest = history(client, auth["mia"], account, actor="mia", limit=100, cursor=mine["next_cursor"])
    assert mine["items"] + rest["items"] == [i for i in full if i["actor"] == "mia"]


def test_the_event_log_is_in_global_order_and_pages_by_position(
    client: TestClient, auth: Auth, account: str, story: dict[str, Any]
) -> None:
    other = register(client, auth["dora"], name="Globex")
    events = all_events(client, auth["audrey"])
    positions = [e["position"] for e in events]
    assert all(a < b for a, b in pairwise(positions))
    assert set(story["written"]) | {other["position"]} <= set(positions)
    kinds = {e["aggregate_type"] for e in events}
    assert {"KeyAccount", "AccountPlan", "Relationship"} <= kinds
    ours = {account, story["plan"], story["person"]}
    for event in events:
        if event["aggregate_id"] in ours:
            assert event["account_id"] == account, event
    registered = next(e for e in events if e["aggregate_id"] == other["id"])
    assert registered["account_id"] == other["id"] and registered["type"] == "Registered"
    assert registered["data"]["name"] == "Globex" and registered["actor"] == "dora"
    assert registered["aggregate_version"] == 1 and registered["correlation_id"]
    index = [e for e in events if e["aggregate_type"] in ("AccountName", "TierRoster")]
    assert index and all(e["account_id"] is None for e in index)
    paged: list[dict[str, Any]] = []
    after = 0
    while True:
        page = ok(client.get("/events", params={"after": after, "limit": 3}, headers=auth["root"]))
        paged += page["items"]
        after = page["next_after"]
        if page["caught_up"]:
            assert len(page["items"]) < 3
            break
    assert paged == events
    tail = ok(client.get("/events", params={"after": positions[-2]}, headers=auth["dora"]))
    assert tail == {"items": [events[-1]], "next_after": positions[-1], "caught_up": True}


def test_the_log_is_for_auditors_and_directors_and_history_not_for_viewers(
    client: TestClient, auth: Auth, account: str
) -> None:
    for name in ("mia", "max", "vic"):
        assert_problem(client.get("/events", headers=auth[name]), 403, "forbidden")
    assert_problem(client.get(f"/accounts/{account}/history", headers=auth["vic"]), 403)
    for name in ("root", "dora", "mia", "max", "audrey"):
        assert client.get(f"/accounts/{account}/history", headers=auth[name]).status_code == 200
    assert_problem(client.get("/events"), 401, "unauthorized")
    assert_problem(client.get(f"/accounts/{account}/history"), 401, "unauthorized")


def test_history_of_an_unknown_account_is_404(client: TestClient, auth: Auth) -> None:
    assert_problem(client.get(f"/accounts/{MISSING}/history", headers=auth["audrey"]), 404)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/events", {"limit": 0}),
        ("/events", {"limit": 1001}),
        ("/events", {"after": -1}),
        ("/events", {"after": "x"}),
        ("history", {"limit": 101}),
        ("history", {"from": "yesterday"}),
        ("history", {"to": "2026-13-01"}),
        ("history", {"type": "no spaces"}),
        ("history", {"actor": "a\u0000b"}),
    ],
)
def test_bad_parameters_are_422(
    client: TestClient, auth: Auth, account: str, path: str, params: dict[str, Any]
) -> None:
    url = f"/accounts/{account}/history" if path == "history" else path
    body = assert_problem(client.get(url, params=params, headers=auth["root"]), 422, "validation")
    assert body["errors"]


def test_a_forged_history_cursor_is_400(client: TestClient, auth: Auth, account: str) -> None:
    for cursor in ("not-a-cursor", "WyJ4Il0", "Wy0xXQ", "WzFlKzMwXQ"):  # ["x"], [-1], [1e+30]
        assert_problem(
            client.get(
                f"/accounts/{account}/history", params={"cursor": cursor}, headers=auth["root"]
            ),
            400,
            "bad-cursor",
        )


def test_the_log_always_answers_where_to_continue_even_at_its_end(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given a log whose last event is at `last`
    last = all_events(client, auth["audrey"])[-1]["position"]
    # When a client reads past the end, from the end and from beyond it
    at_end = ok(client.get("/events", params={"after": last}, headers=auth["audrey"]))
    beyond = ok(client.get("/events", params={"after": last + 10}, headers=auth["audrey"]))
    full = ok(client.get("/events", params={"after": last - 1, "limit": 1}, headers=auth["root"]))
    # Then each page names the position to continue from, never null
    assert at_end == {"items": [], "next_after": last, "caught_up": True}
    assert beyond == {"items": [], "next_after": last + 10, "caught_up": True}
    assert full["next_after"] == last and full["caught_up"] is False
