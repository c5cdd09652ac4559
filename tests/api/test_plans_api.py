"""Account plans over HTTP: every plan command's happy path and every error class, on both
backends."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem

from kam_domain.commands import IdentifyStakeholder
from kam_domain.values import BuyingRole, Envelope, PersonalData

Auth = dict[str, dict[str, str]]
MISSING = "00000000-0000-4000-8000-000000000000"


def head(client: TestClient) -> int:
    """The log position of the last stored event (to prove a refused command wrote nothing)."""
    position: int = client.app.state.kam.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
    return position


def post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.post(path, json=body, headers=headers)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def plan(client: TestClient, auth: Auth, account: str) -> str:
    """The 2027 plan of mia's account, drafted by mia."""
    return str(
        ok(post(client, f"/accounts/{account}/plans", {"period": "2027"}, auth["mia"]), 201)["id"]
    )


def add_action(client: TestClient, headers: dict[str, str], plan: str, **fields: Any) -> str:
    body = {"what": "Workshop with the plant manager", "owner": "mia", "due_on": "2027-03-31"}
    return str(
        ok(post(client, f"/plans/{plan}/actions", {**body, **fields}, headers), 201)["entity_id"]
    )


def test_a_plan_journey_through_every_endpoint(
    client: TestClient, auth: Auth, account: str, plan: str
) -> None:
    mia, base = auth["mia"], f"/plans/{plan}"
    kam = client.app.state.kam  # type: ignore[attr-defined]
    grace = kam.handle(
        IdentifyStakeholder.of(
            UUID(account),
            PersonalData(name="Grace Hopper"),
            title="CTO",
            buying_role=BuyingRole.DECISION_MAKER,
            influence=5,
            reports_to=None,
        ),
        meta=Envelope(actor="mia"),
    ).id
    direction = {"direction": "Preferred supplier in EMEA", "priorities": ["Lyon", "Champion"]}
    ok(post(client, f"{base}/direction", direction, mia))
    ok(post(client, f"{base}/sharing", {"agreed": True, "notes": "at the QBR"}, mia))
    ok(
        post(
            client, f"{base}/research-answers", {"question_id": "needs-01", "answer": "Uptime"}, mia
        )
    )
    ok(
        post(
            client, f"{base}/research-answers", {"question_id": "our-team-01", "answer": "Ann"}, mia
        )
    )
    objective = {
        "statement": "Grow revenue 20 %",
        "metric": "revenue (EUR k)",
        "baseline": "1000",
        "target": "1200",
        "due_on": "2027-12-31",
    }
    grow = ok(post(client, f"{base}/objectives", objective, mia), 201)["entity_id"]
    ok(post(client, f"{base}/objectives/{grow}/progress", {"value": "1080", "note": "Q2"}, mia))
    ok(post(client, f"{base}/objectives/{grow}/achieve", {}, mia))
    keep = ok(post(client, f"{base}/objectives", {**objective, "statement": "Keep NPS"}, mia), 201)
    ok(post(client, f"{base}/objectives/{keep['entity_id']}/miss", {"reason": "reorg"}, mia))
    deal = {"kind": "expansion", "title": "Lyon retrofit", "value": "250000", "probability": 40}
    lyon = ok(post(client, f"{base}/opportunities", deal, mia), 201)["entity_id"]
    ok(post(client, f"{base}/opportunities/{lyon}/advance", {"probability": 70, "note": "x"}, mia))
    ok(post(client, f"{base}/opportunities/{lyon}/win", {"value": "240000"}, mia))
    lille = ok(post(client, f"{base}/opportunities", {**deal, "title": "Lille"}, mia), 201)
    ok(post(client, f"{base}/opportunities/{lille['entity_id']}/lose", {"reason": "price"}, mia))
    first = add_action(
        client, mia, plan, stakeholder_ids=[str(grace)], success_measure="scope", objective_id=grow
    )
    second = add_action(client, mia, plan, what="Send the quote")
    ok(post(client, f"{base}/actions/{first}/start", {}, mia))
    ok(post(client, f"{base}/actions/{first}/block", {"reason": "plant closed"}, mia))
    ok(post(client, f"{base}/actions/{first}/unblock", {}, mia))
    ok(post(client, f"{base}/actions/{first}/complete", {"outcome": "scope agreed"}, mia))
    moved = {"due_on": "2027-05-31", "reason": "on leave"}
    ok(post(client, f"{base}/actions/{second}/reschedule", moved, mia))
    ok(post(client, f"{base}/actions/{second}/reassign", {"owner": "bob"}, mia))
    ok(post(client, f"{base}/actions/{second}/cancel", {"reason": "merged"}, mia))
    ok(post(client, f"{base}/reviews", {"notes": "Retrofit won", "kpi_status": "on_track"}, mia))
    closed = post(client, f"{base}/close", {}, auth["dora"])
    assert ok(closed)["version"] == 26 and closed.headers["ETag"] == '"26"'

    state = ok(client.get(base, headers=mia))
    assert state["version"] == 26 and state["closed"] is True
    assert state["direction"] == "Preferred supplier in EMEA"
    assert state["priorities"] == ["Lyon", "Champion"]
    assert state["shared_with_customer"] is True and state["customer_notes"] == "at the QBR"
    assert [a["question_id"] for a in state["research_answers"]] == ["our-team-01", "needs-01"]
    answer = state["research_answers"][1]
    assert answer["category"] == "needs" and answer["answer"] == "Uptime" and answer["question"]
    assert "needs" not in state["unanswered_categories"]
    assert len(state["unanswered_categories"]) == 6
    achieved, missed = state["objectives"]
    assert achieved["id"] == grow and achieved["status"] == "achieved"
    assert achieved["progress"] == ["1080"] and achieved["latest_value"] == "1080"
    assert achieved["baseline"] == "1000" and achieved["due_on"] == "2027-12-31"
    assert missed["status"] == "missed" and missed["latest_value"] == "1000"
    won, lost = state["opportunities"]
    assert won["status"] == "won" and won["value"] == "240000" and won["probability"] == 100
    assert lost["status"] == "lost" and lost["probability"] == 0 and lost["kind"] == "expansion"
    done, cancelled = state["actions"]
    assert done["id"] == first and done["status"] == "completed"
    assert done["outcome"] == "scope agreed" and done["stakeholder_ids"] == [str(grace)]
    assert done["objective_id"] == grow and done["success_measure"] == "scope"
    assert done["blocked_from"] is None
    assert cancelled["status"] == "cancelled" and cancelled["owner"] == "bob"
    assert cancelled["due_on"] == "2027-05-31"
    (review,) = state["reviews"]
    assert review["kpi_status"] == "on_track" and review["reviewed_by"] == "mia"
    assert_problem(
        post(client, f"{base}/reviews", {"notes": "n", "kpi_status": "at_risk"}, mia),
        409,
        "plan-closed",
    )


def test_an_illegal_action_transition_answers_409_and_writes_nothing(
    client: TestClient, auth: Auth, plan: str
) -> None:
    mia, base = auth["mia"], f"/plans/{plan}"
    action = add_action(client, mia, plan)
    ok(post(client, f"{base}/actions/{action}/cancel", {"reason": "not needed"}, mia))
    before = head(client)
    body = assert_problem(
        post(client, f"{base}/actions/{action}/complete", {"outcome": "done"}, mia),
        409,
        "illegal-action-transition",
    )
    assert body["rule"] == "illegal-action-transition"
    for command in ("start", "block", "unblock"):
        assert_problem(
            post(client, f"{base}/actions/{action}/{command}", {"reason": "r"}, mia),
            409,
            "illegal-action-transition",
        )
    assert head(client) == before
    waiting = add_action(client, mia, plan)
    ok(post(client, f"{base}/actions/{waiting}/block", {"reason": "budget freeze"}, mia))
    assert_problem(
        post(client, f"{base}/actions/{waiting}/start", {}, mia), 409, "illegal-action-transition"
    )
    cancelled, blocked = ok(client.get(base, headers=mia))["actions"]
    assert cancelled["status"] == "cancelled" and cancelled["outcome"] is None
    assert blocked["status"] == "blocked" and blocked["blocked_from"] == "planned"


def test_commands_that_need_a_reason_answer_409_without_one(
    client: TestClient, auth: Auth, plan: str
) -> None:
    mia, base = auth["mia"], f"/plans/{plan}"
    action = add_action(client, mia, plan)
    objective = {
        "statement": "s",
        "metric": "m",
        "baseline": 0,
        "target": 1,
        "due_on": "2027-12-31",
    }
    goal = ok(post(client, f"{base}/objectives", objective, mia), 201)["entity_id"]
    deal = {"kind": "renewal", "title": "Renewal", "value": "10", "probability": 50}
    deal_id = ok(post(client, f"{base}/opportunities", deal, mia), 201)["entity_id"]
    before = head(client)
    for path, body in [
        (f"actions/{action}/block", {}),
        (f"actions/{action}/cancel", {"reason": "  "}),
        (f"actions/{action}/reschedule", {"due_on": "2027-06-30"}),
        (f"objectives/{goal}/miss", {}),
        (f"opportunities/{deal_id}/lose", {}),
    ]:
        assert_problem(post(client, f"{base}/{path}", body, mia), 409, "reason-required")
    assert head(client) == before
    ok(post(client, f"{base}/objectives/{goal}/achieve", {}, mia))
    assert_problem(
        post(client, f"{base}/objectives/{goal}/achieve", {}, mia),
        409,
        "objective-already-resolved",
    )
    ok(post(client, f"{base}/opportunities/{deal_id}/win", {}, mia))
    assert_problem(
        post(client, f"{base}/opportunities/{deal_id}/advance", {"probability": 5}, mia),
        409,
        "opportunity-already-closed",
    )


def test_a_second_plan_for_a_period_and_plans_of_an_exited_account_answer_409(
    client: TestClient, auth: Auth, account: str, plan: str
) -> None:
    before = head(client)
    body = assert_problem(
        post(client, f"/accounts/{account}/plans", {"period": " 2027 "}, auth["mia"]),
        409,
        "plan-already-exists",
    )
    assert body["rule"] == "plan-already-exists"
    assert head(client) == before
    ok(post(client, f"/accounts/{account}/exit", {"reason": "no longer key"}, auth["dora"]))
    before = head(client)
    assert_problem(
        post(client, f"/accounts/{account}/plans", {"period": "2028"}, auth["mia"]),
        409,
        "account-exited",
    )
    assert_problem(
        post(client, f"/plans/{plan}/direction", {"direction": "d"}, auth["dora"]),
        409,
        "account-exited",
    )
    assert head(client) == before


def test_if_match_makes_a_plan_command_conditional(
    client: TestClient, auth: Auth, plan: str
) -> None:
    etag = client.get(f"/plans/{plan}", headers=auth["mia"]).headers["ETag"]
    assert etag == '"1"'
    first = client.post(
        f"/plans/{plan}/direction",
        json={"direction": "Grow"},
        headers={**auth["mia"], "If-Match": etag},
    )
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    before = head(client)
    stale = client.post(
        f"/plans/{plan}/actions",
        json={"what": "w", "owner": "mia", "due_on": "2027-01-31"},
        headers={**auth["mia"], "If-Match": etag},
    )
    assert_problem(stale, 412, "precondition-failed")
    assert stale.headers["ETag"] == '"2"'
    assert head(client) == before


def test_unknown_plans_and_entities_answer_404(
    client: TestClient, auth: Auth, account: str, plan: str
) -> None:
    mia, dora, base = auth["mia"], auth["dora"], f"/plans/{plan}"
    before = head(client)
    assert_problem(client.get(f"/plans/{MISSING}", headers=dora), 404, "not-found")
    for headers in (mia, dora):
        assert_problem(post(client, f"/plans/{MISSING}/close", {}, headers), 404, "not-found")
    assert_problem(post(client, f"/accounts/{MISSING}/plans", {"period": "2027"}, dora), 404)
    assert_problem(post(client, f"/accounts/{MISSING}/plans", {"period": "2027"}, mia), 404)
    assert_problem(client.get(f"/accounts/{MISSING}/plans", headers=dora), 404, "not-found")
    for path, body in [
        (f"actions/{MISSING}/start", {}),
        (f"actions/{MISSING}/complete", {"outcome": "o"}),
        (f"objectives/{MISSING}/progress", {"value": 1}),
        (f"objectives/{MISSING}/achieve", {}),
        (f"opportunities/{MISSING}/win", {}),
        (f"opportunities/{MISSING}/advance", {"probability": 10}),
        ("research-answers", {"question_id": "no-such-question", "answer": "a"}),
        ("actions", {"what": "w", "owner": "mia", "due_on": "2027-01-31", "objective_id": MISSING}),
        (
            "actions",
            {"what": "w", "owner": "mia", "due_on": "2027-01-31", "stakeholder_ids": [MISSING]},
        ),
    ]:
        assert_problem(post(client, f"{base}/{path}", body, mia), 404, "not-found")
    assert head(client) == before


def test_bad_input_answers_422_with_field_errors_and_writes_nothing(
    client: TestClient, auth: Auth, account: str, plan: str
) -> None:
    mia, base = auth["mia"], f"/plans/{plan}"
    deal = {"kind": "upsell", "title": "Support tier", "value": "10", "probability": 101}
    objective = {
        "statement": "s",
        "metric": "m",
        "baseline": "5",
        "target": "5",
        "due_on": "2027-12-31",
    }
    before = head(client)
    for path, body, field in [
        (f"{base}/opportunities", deal, "probability"),
        (f"{base}/opportunities", {**deal, "probability": 50, "kind": "bribe"}, "kind"),
        (f"{base}/opportunities", {**deal, "probability": 50, "value": "-1"}, "value"),
        (f"{base}/actions", {"what": "w", "owner": "mia"}, "due_on"),
        (f"{base}/actions", {"what": "w", "owner": "mia", "due_on": "soon"}, "due_on"),
        (f"{base}/actions", {"what": "a\x00b", "owner": "mia", "due_on": "2027-01-31"}, "what"),
        (f"{base}/reviews", {"notes": "n", "kpi_status": "great"}, "kpi_status"),
        (f"{base}/direction", {"direction": "d", "colour": "red"}, "colour"),
        (f"{base}/direction", {"direction": "d", "priorities": "all of them"}, "priorities"),
        (f"{base}/sharing", {"agreed": "perhaps"}, "agreed"),
        (f"{base}/objectives", {**objective, "baseline": "NaN"}, "baseline"),
        (f"{base}/objectives", objective, "target"),  # the domain: target must differ
        (f"{base}/direction", {"direction": "   "}, "direction"),  # the domain: blank text
        (f"{base}/close", {"extra": True}, "extra"),
        (f"/accounts/{account}/plans", {"period": ""}, "period"),
        (f"/accounts/{account}/plans", {"period": "x" * 21}, "period"),
    ]:
        problem = assert_problem(post(client, path, body, mia), 422, "validation")
        assert problem["errors"][0]["loc"][-1] == field, problem
    assert_problem(post(client, "/plans/not-a-uuid/close", {}, mia), 422)
    assert_problem(client.get(f"/accounts/{account}/plans?limit=0", headers=mia), 422)
    assert_problem(client.get(f"/accounts/{account}/plans?cursor=bogus", headers=mia), 400)
    assert head(client) == before


def test_auth_is_required_and_roles_are_enforced(
    client: TestClient, auth: Auth, account: str, plan: str
) -> None:
    action = add_action(client, auth["mia"], plan)
    before = head(client)
    assert_problem(client.get(f"/plans/{plan}"), 401, "unauthorized")
    assert_problem(client.post(f"/plans/{plan}/close", json={}), 401, "unauthorized")
    assert_problem(client.post(f"/accounts/{account}/plans", json={"period": "2028"}), 401)
    for name in ("max", "audrey", "vic"):
        headers = auth[name]
        assert_problem(
            post(client, f"/accounts/{account}/plans", {"period": "2028"}, headers),
            403,
            "forbidden",
        )
        assert_problem(
            post(client, f"/plans/{plan}/direction", {"direction": "d"}, headers), 403, "forbidden"
        )
        assert_problem(
            post(client, f"/plans/{plan}/actions/{action}/start", {}, headers), 403, "forbidden"
        )
    assert_problem(client.get(f"/plans/{plan}", headers=auth["vic"]), 403, "forbidden")
    assert_problem(client.get(f"/accounts/{account}/plans", headers=auth["vic"]), 403)
    assert client.get(f"/plans/{plan}", headers=auth["audrey"]).status_code == 200
    assert client.get(f"/plans/{plan}", headers=auth["max"]).status_code == 200
    assert head(client) == before
    ok(
        post(
            client,
            f"/accounts/{account}/team",
            {"member": "max", "roles": ["innovator"]},
            auth["mia"],
        )
    )
    ok(post(client, f"/plans/{plan}/actions/{action}/start", {}, auth["max"]))  # now on the team


def test_a_drafted_plan_reads_back_and_is_listed_with_min_position(
    client: TestClient, auth: Auth, account: str, plan: str
) -> None:
    body = {"period": "2028", "title": "Grow"}
    response = post(client, f"/accounts/{account}/plans", body, auth["mia"])
    drafted = ok(response, 201)
    assert response.headers["Location"] == f"/plans/{drafted['id']}"
    assert response.headers["ETag"] == '"1"' and drafted["version"] == 1
    listed = ok(
        client.get(
            f"/accounts/{account}/plans?min_position={drafted['position']}", headers=auth["audrey"]
        )
    )
    assert [p["period"] for p in listed["items"]] == ["2028", "2027"]
    assert listed["items"][0]["id"] == drafted["id"] and listed["next_cursor"] is None
    read = client.get(f"/plans/{drafted['id']}", headers=auth["audrey"])
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    state = read.json()
    assert state == listed["items"][0]
    assert state["account_id"] == account and state["title"] == "Grow"
    assert state["direction"] is None and state["priorities"] == []
    assert state["shared_with_customer"] is None and state["closed"] is False
    assert state["objectives"] == state["actions"] == state["research_answers"] == []
    assert len(state["unanswered_categories"]) == 8
    first = ok(client.get(f"/accounts/{account}/plans?limit=1", headers=auth["mia"]))
    assert [p["id"] for p in first["items"]] == [drafted["id"]] and first["next_cursor"]
    rest = ok(
        client.get(
            f"/accounts/{account}/plans?limit=1&cursor={first['next_cursor']}", headers=auth["mia"]
        )
    )
    assert [p["id"] for p in rest["items"]] == [plan] and rest["next_cursor"] is None


def test_the_actions_read_model_shows_a_just_added_past_due_action_as_overdue(
    client: TestClient, auth: Auth, account: str, plan: str
) -> None:
    response = post(
        client,
        f"/plans/{plan}/actions",
        {"what": "Send the quote", "owner": "mia", "due_on": "2020-01-31"},
        auth["mia"],
    )
    added = ok(response, 201)
    rows = ok(
        client.get(f"/actions?plan={plan}&min_position={added['position']}", headers=auth["vic"])
    )
    (row,) = rows["items"]
    assert row["action_id"] == added["entity_id"] and row["account_id"] == account
    assert row["status"] == "planned" and row["overdue"] is True and row["days_late"] > 0
