"""People are real, over HTTP on both backends: a command naming someone who is not an active
user is refused (422, naming the field), a director cancels a pending handover, a revoked user
neither authenticates nor may be named anew."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem

from kam_domain.application import KamApplication

Auth = dict[str, dict[str, str]]
WHY = "the customer asked"


def post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.post(path, json=body, headers=headers)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def plan(client: TestClient, auth: Auth, account: str) -> str:
    return str(
        ok(post(client, f"/accounts/{account}/plans", {"period": "2027"}, auth["mia"]), 201)["id"]
    )


@pytest.fixture
def stakeholder(client: TestClient, auth: Auth, account: str) -> str:
    body = {"name": "Grace", "buying_role": "user", "influence": 3}
    return str(ok(post(client, f"/accounts/{account}/stakeholders", body, auth["mia"]), 201)["id"])


def naming(
    account: str, plan: str, stakeholder: str, who: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """(field, path, body) of every endpoint naming a person, naming ``who``."""
    return [
        ("manager", f"/accounts/{account}/manager", {"manager": who, "reason": WHY}),
        (
            "to",
            f"/accounts/{account}/handover",
            {"to": who, "effective_on": "2027-01-04", "reason": WHY},
        ),
        ("member", f"/accounts/{account}/team", {"member": who, "roles": ["innovator"]}),
        ("owner", f"/stakeholders/{stakeholder}/owner", {"owner": who}),
        ("owner", f"/plans/{plan}/actions", {"what": "Call", "owner": who, "due_on": "2027-03-01"}),
    ]


def head(client: TestClient) -> int | None:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    return kam.recorder.max_notification_id()


def test_a_command_naming_someone_unknown_is_refused_naming_the_field(
    client: TestClient, auth: Auth, account: str, plan: str, stakeholder: str
) -> None:
    before = head(client)
    for field, path, body in naming(account, plan, stakeholder, "another ghost"):
        problem = assert_problem(post(client, path, body, auth["dora"]), 422, "validation")
        assert problem["errors"][0]["loc"] == ["body", field], path
        assert "'another ghost' is not a user of the service" in problem["detail"]
    assert head(client) == before


def test_an_action_owner_may_be_external_an_account_manager_may_not(
    client: TestClient, auth: Auth, account: str, plan: str, stakeholder: str
) -> None:
    action = ok(
        post(
            client,
            f"/plans/{plan}/actions",
            {"what": "Sign", "owner": "external:Jane Roe", "due_on": "2027-03-01"},
            auth["mia"],
        ),
        201,
    )["entity_id"]
    ok(
        post(
            client,
            f"/plans/{plan}/actions/{action}/reassign",
            {"owner": "external:Li (Acme)"},
            auth["mia"],
        )
    )
    actions = client.get(f"/plans/{plan}", headers=auth["dora"]).json()["actions"]
    assert [a["owner"] for a in actions] == ["external:Li (Acme)"]
    for field, path, body in naming(account, plan, stakeholder, "external:Jane Roe")[:4]:
        problem = assert_problem(post(client, path, body, auth["dora"]), 422, "validation")
        assert problem["errors"][0]["loc"] == ["body", field]
        assert "not an external person" in problem["detail"]


def test_a_viewer_cannot_be_handed_an_account(client: TestClient, auth: Auth, account: str) -> None:
    body = {"to": "vic", "effective_on": "2027-01-04", "reason": WHY}
    problem = assert_problem(post(client, f"/accounts/{account}/handover", body, auth["mia"]), 422)
    assert "may not manage accounts" in problem["detail"]


def test_a_revoked_user_cannot_authenticate_nor_be_named_anew(
    client: TestClient, auth: Auth, account: str, plan: str, stakeholder: str
) -> None:
    ok(
        post(
            client,
            f"/plans/{plan}/actions",
            {"what": "Old", "owner": "max", "due_on": "2027-03-01"},
            auth["mia"],
        ),
        201,
    )
    assert client.get("/accounts", headers=auth["max"]).status_code == 200  # cached now

    revoked = ok(client.post("/users/max/revocation", headers=auth["root"]))

    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    assert_problem(client.get("/accounts", headers=auth["max"]), 401)
    before = head(client)
    for field, path, body in naming(account, plan, stakeholder, "max"):
        problem = assert_problem(post(client, path, body, auth["dora"]), 422, "validation")
        assert problem["errors"][0]["loc"] == ["body", field]
        assert "'max' is a revoked user" in problem["detail"]
    assert head(client) == before
    # What max owns stays his until reassigned.
    assert [
        a["owner"] for a in client.get(f"/plans/{plan}", headers=auth["dora"]).json()["actions"]
    ] == ["max"]


def test_a_director_cancels_a_pending_handover_and_it_can_be_made_again(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given: mia hands her account to someone who will never acknowledge.
    ok(client.post("/users", json={"name": "ghost", "role": "manager"}, headers=auth["root"]), 201)
    handover = {"to": "ghost", "effective_on": "2027-01-04", "reason": "mia moves to APAC"}
    ok(post(client, f"/accounts/{account}/handover", handover, auth["mia"]))
    refused = assert_problem(
        post(client, f"/accounts/{account}/handover/acknowledge", {}, auth["dora"]),
        409,
        "not-incoming-manager",
    )
    assert (
        "only the incoming manager, ghost," in refused["detail"] and "cancel" in refused["detail"]
    )

    # When: the outgoing manager tries to cancel, then a director does.
    cancel = f"/accounts/{account}/handover/cancel"
    assert_problem(post(client, cancel, {"reason": "ghost left"}, auth["mia"]), 403, "forbidden")
    assert_problem(post(client, cancel, {}, auth["dora"]), 409, "reason-required")
    accepted = ok(post(client, cancel, {"reason": "ghost left"}, auth["dora"]))

    # Then: mia manages it again, in the store and the portfolio, and may hand it over anew.
    state = client.get(f"/accounts/{account}", headers=auth["dora"]).json()
    assert state["manager"] == "mia" and state["pending_handover"] is None
    assert [t["manager"] for t in state["manager_history"]] == ["mia"]
    rows = client.get(
        f"/accounts?min_position={accepted['position']}", headers=auth["dora"]
    ).json()["items"]
    assert (rows[0]["manager"], rows[0]["pending_handover_to"]) == ("mia", None)
    assert_problem(
        post(client, cancel, {"reason": "again"}, auth["dora"]), 409, "no-pending-handover"
    )
    ok(post(client, f"/accounts/{account}/handover", {**handover, "to": "max"}, auth["mia"]))
    ok(post(client, f"/accounts/{account}/handover/acknowledge", {}, auth["max"]))
    assert client.get(f"/accounts/{account}", headers=auth["dora"]).json()["manager"] == "max"


def test_the_handover_report_leaves_a_cancelled_handover_out_of_the_ownership_timeline(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given: mia's account handed to zed, cancelled, then handed to max who acknowledges.
    handover = {"effective_on": "2027-01-04", "reason": "mia moves to APAC"}
    ok(post(client, f"/accounts/{account}/handover", {**handover, "to": "zed"}, auth["mia"]))
    ok(post(client, f"/accounts/{account}/handover/cancel", {"reason": "zed left"}, auth["dora"]))
    ok(post(client, f"/accounts/{account}/handover", {**handover, "to": "max"}, auth["mia"]))
    last = ok(post(client, f"/accounts/{account}/handover/acknowledge", {}, auth["max"]))

    # When: the report is read.
    report = client.get(
        f"/accounts/{account}/handover-report",
        params={"min_position": last["position"]},
        headers=auth["dora"],
    )

    # Then: two tenures, each started by its own event; zed's never happened.
    assert report.status_code == 200, report.text
    ownership = report.json()["ownership"]
    assert [(t["manager"], t["how"], t["acknowledged"]) for t in ownership] == [
        ("mia", "assigned", None),
        ("max", "handed over", True),
    ]
