"""When things happened, over HTTP (both backends): a fact is dated by its own date (an
interaction's ``on``), else the command's ``occurred_on``, else when it was recorded; health as
of a day is what happened up to that day, and there is none before the registration.

"Today" is the service's clock: the system date, as no clock is fixed here (recorded times are
the system's too)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register

Auth = dict[str, dict[str, str]]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


def stakeholder(client: TestClient, auth: Auth, account: str, **fields: Any) -> str:
    body = {"name": "Grace Hopper", "buying_role": "decision_maker", "influence": 5, **fields}
    return str(post(client, f"/accounts/{account}/stakeholders", body, auth["mia"])["id"])


def interaction(
    client: TestClient, auth: Auth, person: str, on: date, summary: str, sentiment: int = 1
) -> int:
    body = {"kind": "meeting", "on": on.isoformat(), "summary": summary, "sentiment": sentiment}
    return int(post(client, f"/stakeholders/{person}/interactions", body, auth["mia"])["position"])


def report(client: TestClient, auth: Auth, account: str, position: int) -> Any:
    return ok(
        client.get(
            f"/accounts/{account}/handover-report",
            params={"min_position": position},
            headers=auth["dora"],
        )
    )


def test_an_undated_first_manager_and_assessment_are_dated_when_recorded(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given the `account` fixture's first manager, and an assessment, sent without a date
    assessed = post(
        client,
        f"/accounts/{account}/assessments",
        {"engagement": "engaged", "trust": 4, "satisfaction": 4, "partner_rating": 8},
        auth["mia"],
    )

    # When the account and its handover report are read
    state = ok(client.get(f"/accounts/{account}", headers=auth["dora"]))
    body = report(client, auth, account, assessed["position"])

    # Then both carry the day they were recorded, and the report does not miss the assessment
    history = ok(
        client.get(f"/accounts/{account}/history", params={"limit": 100}, headers=auth["dora"])
    )["items"]
    recorded = {i["type"]: i["recorded_at"][:10] for i in history}
    assert state["manager_history"][0]["since"] == recorded["ManagerAssigned"]
    assert state["latest_assessment"]["occurred_on"][:10] == recorded["RelationshipAssessed"]
    assert body["ownership"][0]["since"] == recorded["ManagerAssigned"]
    assert "no_recent_assessment" not in [gap["code"] for gap in body["gaps"]]
    assert f"({recorded['RelationshipAssessed']})" in body["risks"]["latest_assessment"]


def test_a_backdated_interaction_is_placed_at_its_own_date(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given two meetings logged today: first one of 5 days ago, then one of 20 days ago
    today = date.today()
    person = stakeholder(client, auth, account)
    interaction(client, auth, person, today - timedelta(days=5), "Recent meeting")
    last = interaction(client, auth, person, today - timedelta(days=20), "Older meeting, late")

    # When the history, the timeline by date and the report are read
    older = today - timedelta(days=20)
    that_day = ok(
        client.get(
            f"/accounts/{account}/history",
            params={
                "from": older.isoformat(),
                "to": (older + timedelta(days=1)).isoformat(),
                "min_position": last,
            },
            headers=auth["dora"],
        )
    )["items"]
    body = report(client, auth, account, last)

    # Then the late-logged meeting happened 20 days ago, and the recent list is newest first
    assert [i["type"] for i in that_day] == ["InteractionLogged"]
    assert that_day[0]["occurred_at"][:10] == older.isoformat()
    assert that_day[0]["position"] == last
    recent = body["recent"]["interactions"]
    assert [r["occurred_at"][:10] for r in recent] == [
        (today - timedelta(days=5)).isoformat(),
        older.isoformat(),
    ]
    assert [r["position"] for r in recent] == [last - 1, last]


def health(client: TestClient, auth: Auth, account: str, **params: Any) -> Any:
    return client.get(f"/accounts/{account}/health", params=params, headers=auth["dora"])


def test_there_is_no_health_before_the_registration_and_no_trend_point_before_it(
    client: TestClient, auth: Auth
) -> None:
    # Given an account registered in the world 70 days ago, and one registered today
    today = date.today()
    registered_on = today - timedelta(days=70)
    older = register(client, auth["dora"], "Older Co", occurred_on=registered_on.isoformat())
    young = register(client, auth["dora"], "Young Co")
    wait = {"min_position": young["position"]}

    # When their health is read, as of before and on the registration, and today
    before = health(client, auth, older["id"], as_of=(registered_on - timedelta(days=1)), **wait)
    on_the_day = ok(health(client, auth, older["id"], as_of=registered_on.isoformat(), **wait))
    now = ok(health(client, auth, older["id"], **wait))
    young_now = ok(health(client, auth, young["id"], **wait))

    # Then none before it existed, and every trend starts no earlier than the registration
    assert_problem(before, 404, "not-found")
    assert [p["on"] for p in on_the_day["trend"]] == [registered_on.isoformat()]
    days = [p["on"] for p in now["trend"]]
    assert days[-1] == today.isoformat() and min(days) >= registered_on.isoformat()
    assert 3 <= len(days) <= 4  # the month ends since, and today
    assert [p["on"] for p in young_now["trend"]] == [today.isoformat()]


def test_health_as_of_a_past_day_uses_what_was_known_that_day(
    client: TestClient, auth: Auth
) -> None:
    # Given an account registered 100 days ago whose decision maker, identified today, was
    # met 10 days ago (logged today)
    today = date.today()
    account = str(
        register(
            client,
            auth["dora"],
            "Past Co",
            occurred_on=(today - timedelta(days=100)).isoformat(),
        )["id"]
    )
    post(client, f"/accounts/{account}/manager", {"manager": "mia"}, auth["dora"])
    person = stakeholder(client, auth, account)
    last = interaction(client, auth, person, today - timedelta(days=10), "Met", sentiment=2)
    wait = {"min_position": last}

    # When the health is read as of 20 days ago, 5 days ago, and today
    then = ok(health(client, auth, account, as_of=(today - timedelta(days=20)).isoformat(), **wait))
    later = ok(health(client, auth, account, as_of=(today - timedelta(days=5)).isoformat(), **wait))

    # Then 20 days ago nobody was known or met; 5 days ago the meeting counts (sentiment), but
    # the stakeholder identified today was not yet known (coverage)
    def component(body: Any, name: str) -> Any:
        return next(c for c in body["components"] if c["name"] == name)

    assert "0 of 3 key roles" in component(then, "coverage")["explanation"]
    assert "over 0 interactions" in component(then, "sentiment")["explanation"]
    assert "over 1 interaction " in component(later, "sentiment")["explanation"]
    assert "0 of 3 key roles" in component(later, "coverage")["explanation"]
    now = ok(health(client, auth, account, **wait))
    assert "1 of 3 key roles" in component(now, "coverage")["explanation"]
