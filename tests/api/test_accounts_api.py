"""Accounts over HTTP: every command's happy path and every error class, on both backends."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register

Auth = dict[str, dict[str, str]]


def test_registering_an_account_answers_its_id_version_and_position(
    client: TestClient, auth: Auth
) -> None:
    result = register(client, auth["dora"])
    assert result["version"] == 1 and result["position"] >= 1
    account = client.get(f"/accounts/{result['id']}", headers=auth["audrey"])
    assert account.status_code == 200
    assert account.headers["ETag"] == '"1"'
    assert account.json()["name"] == "Acme Industrial"


def test_every_account_command_round_trips(client: TestClient, auth: Auth, account: str) -> None:
    mia, dora = auth["mia"], auth["dora"]
    # The director decides (classification, criteria, re-evaluation); mia does the rest.
    decisions = [
        ("classification", {"tier": "strategic", "kind": "existing", "rationale": "largest"}),
        (
            "criteria",
            dict.fromkeys(
                [
                    "current_revenue",
                    "growth_potential",
                    "renewal_likelihood",
                    "win_now_grow_later",
                    "relative_effort",
                    "relationship_strength",
                    "fit",
                    "logo_attractiveness",
                ],
                4,
            ),
        ),
    ]
    work = [
        ("team", {"member": "bob", "roles": ["technical_expert"]}),
        ("focus", {"penetration": 50, "expansion": 30, "protection": 20}),
        ("stage", {"to": "research"}),
        (
            "financials",
            {"period": "2026", "revenue": "1200000.50", "gross_margin": "0.31", "currency": "EUR"},
        ),
        ("feedback", {"nps": 9, "csat": 4}),
        (
            "assessments",
            {"engagement": "engaged", "trust": 4, "satisfaction": 4, "partner_rating": 8},
        ),
        ("competitors", {"name": "Globex", "threat": "high"}),
    ]
    review = [("reevaluations", {"decision": "retain", "rationale": "still strategic"})]
    steps = [(dora, *d) for d in decisions] + [(mia, *w) for w in work]
    for headers, path, body in steps + [(dora, *r) for r in review]:
        response = client.post(f"/accounts/{account}/{path}", json=body, headers=headers)
        assert response.status_code == 200, (path, response.text)
    risk = client.post(
        f"/accounts/{account}/risks",
        json={"title": "Budget freeze", "severity": "medium", "revenue_at_risk": "5000"},
        headers=mia,
    )
    assert risk.status_code == 201
    risk_id = risk.json()["entity_id"]
    assert (
        client.post(
            f"/accounts/{account}/risks/{risk_id}/mitigation",
            json={"mitigation": "multi-year deal"},
            headers=mia,
        ).status_code
        == 200
    )
    assert client.delete(f"/accounts/{account}/team/bob", headers=mia).status_code == 200
    handed = client.post(
        f"/accounts/{account}/handover",
        json={"to": "max", "effective_on": "2027-01-01", "reason": "leaving"},
        headers=mia,
    )
    assert handed.status_code == 200, handed.text
    acked = client.post(
        f"/accounts/{account}/handover/acknowledge", json={"notes": "read it"}, headers=auth["max"]
    )
    assert acked.status_code == 200, acked.text
    state = client.get(f"/accounts/{account}", headers=auth["dora"]).json()
    assert state["tier"] == "strategic" and state["stage"] == "research"
    assert state["manager"] == "max" and state["pending_handover"] is None
    assert state["financials"]["2026"]["revenue"] == "1200000.50"
    assert state["latest_feedback"]["nps"] == 9 and state["risks"][0]["mitigation"]
    exited = client.post(
        f"/accounts/{account}/exit", json={"reason": "no longer key"}, headers=auth["dora"]
    )
    assert exited.status_code == 200
    assert client.get(f"/accounts/{account}", headers=auth["dora"]).json()["exited"] is True


def test_the_actor_of_every_event_is_the_authenticated_user(
    client: TestClient, auth: Auth, account: str
) -> None:
    client.post(f"/accounts/{account}/stage", json={"to": "research"}, headers=auth["mia"])
    kam = client.app.state.kam  # type: ignore[attr-defined]
    from uuid import UUID

    actors = [e.meta.actor for e in kam.events.get(UUID(account))]
    assert actors == ["dora", "dora", "mia"]


def test_bad_input_answers_422_with_field_errors_and_writes_nothing(
    client: TestClient, auth: Auth, account: str
) -> None:
    kam = client.app.state.kam  # type: ignore[attr-defined]
    before = kam.recorder.max_notification_id()
    body = assert_problem(
        client.post(f"/accounts/{account}/feedback", json={"nps": 11}, headers=auth["mia"]),
        422,
        "validation",
    )
    assert body["errors"] and body["errors"][0]["loc"][-1] == "nps"
    assert_problem(
        client.post(f"/accounts/{account}/feedback", json={}, headers=auth["mia"]),
        422,
        "validation",
    )  # the domain refuses feedback without NPS or CSAT
    assert_problem(
        client.post(
            f"/accounts/{account}/focus",
            json={"penetration": 50, "expansion": 30, "protection": 30},
            headers=auth["mia"],
        ),
        422,
    )
    assert_problem(
        client.post("/accounts/not-a-uuid/stage", json={"to": "research"}, headers=auth["mia"]), 422
    )
    assert_problem(
        client.post(
            f"/accounts/{account}/stage",
            content=b"{not json",
            headers={**auth["mia"], "Content-Type": "application/json"},
        ),
        422,
    )
    assert kam.recorder.max_notification_id() == before


def test_unknown_things_answer_404(client: TestClient, auth: Auth) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(client.get(f"/accounts/{missing}", headers=auth["dora"]), 404, "not-found")
    assert_problem(
        client.post(f"/accounts/{missing}/stage", json={"to": "research"}, headers=auth["dora"]),
        404,
        "not-found",
    )
    assert_problem(client.get("/no-such-path", headers=auth["dora"]), 404)


def test_a_business_rule_violation_answers_409_naming_the_rule(
    client: TestClient, auth: Auth, account: str
) -> None:
    body = assert_problem(
        client.post(f"/accounts/{account}/stage", json={"to": "review"}, headers=auth["mia"]),
        409,
        "illegal-stage-transition",
    )
    assert body["rule"] == "illegal-stage-transition"
    assert_problem(
        client.post(
            "/accounts",
            json={"name": "ACME industrial", "industry": "x", "region": "y"},
            headers=auth["dora"],
        ),
        409,
        "account-name-taken",
    )
    assert_problem(
        client.post(
            f"/accounts/{account}/handover",
            json={"to": "max", "effective_on": "2027-01-01"},
            headers=auth["mia"],
        ),
        409,
        "reason-required",
    )


def test_if_match_makes_a_change_conditional(client: TestClient, auth: Auth, account: str) -> None:
    etag = client.get(f"/accounts/{account}", headers=auth["mia"]).headers["ETag"]
    first = client.post(
        f"/accounts/{account}/stage",
        json={"to": "research"},
        headers={**auth["mia"], "If-Match": etag},
    )
    assert first.status_code == 200 and first.headers["ETag"] == '"3"'
    stale = client.post(
        f"/accounts/{account}/focus",
        json={"penetration": 100, "expansion": 0, "protection": 0},
        headers={**auth["mia"], "If-Match": etag},
    )
    assert_problem(stale, 412, "precondition-failed")
    assert stale.headers["ETag"] == '"3"'
    assert_problem(
        client.post(
            f"/accounts/{account}/stage",
            json={"to": "action_plan"},
            headers={**auth["mia"], "If-Match": "yesterday"},
        ),
        400,
    )


def test_auth_is_required_and_roles_are_enforced(
    client: TestClient, auth: Auth, account: str
) -> None:
    assert_problem(client.get(f"/accounts/{account}"), 401, "unauthorized")
    assert_problem(
        client.get(f"/accounts/{account}", headers={"Authorization": "Bearer wrong"}), 401
    )
    assert_problem(client.get(f"/accounts/{account}", headers={"Authorization": "Basic x"}), 401)
    assert_problem(client.get(f"/accounts/{account}", headers=auth["vic"]), 403, "forbidden")
    assert_problem(
        client.post(f"/accounts/{account}/stage", json={"to": "research"}, headers=auth["audrey"]),
        403,
    )
    assert_problem(
        client.post(f"/accounts/{account}/stage", json={"to": "research"}, headers=auth["max"]), 403
    )  # not his account
    assert_problem(
        client.post(
            "/accounts", json={"name": "N", "industry": "x", "region": "y"}, headers=auth["mia"]
        ),
        403,
    )  # managers do not register accounts


def test_a_read_with_min_position_sees_the_write(
    client: TestClient, auth: Auth, account: str
) -> None:
    result = client.post(
        f"/accounts/{account}/financials",
        json={"period": "2026", "revenue": "900", "currency": "EUR"},
        headers=auth["mia"],
    ).json()
    rows = client.get(f"/portfolio?min_position={result['position']}", headers=auth["vic"])
    assert rows.status_code == 200
    assert rows.json()["items"][0]["last_revenue"] == 900
    listed = client.get(f"/accounts?min_position={result['position']}", headers=auth["vic"])
    assert listed.json()["items"][0]["account_id"] == account


def test_a_read_waiting_for_a_position_not_yet_projected_answers_503(
    database_url: str, tmp_path: object
) -> None:
    from tests.support import api_app

    from kam_api.auth import Role
    from kam_api.settings import Settings

    settings = Settings(
        database_url=database_url, embedded_projector=False, read_wait_seconds=0.2, pg_pool_size=4
    )
    with TestClient(api_app(settings), raise_server_exceptions=False) as client:
        token = client.app.state.users.add("dora", Role.DIRECTOR)  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {token}"}
        position = register(client, headers)["position"]
        response = client.get(f"/portfolio?min_position={position}", headers=headers)
        assert_problem(response, 503, "not-ready")
        assert response.headers["Retry-After"] == "1"


def test_a_position_beyond_the_log_is_a_bad_request(client: TestClient, auth: Auth) -> None:
    assert_problem(
        client.get("/portfolio?min_position=999999", headers=auth["vic"]), 400, "bad-min-position"
    )


def test_control_characters_in_text_are_refused(client: TestClient, auth: Auth) -> None:
    assert_problem(
        client.post(
            "/accounts",
            json={"name": "Nul\u0000Co", "industry": "x", "region": "y"},
            headers=auth["dora"],
        ),
        422,
    )
    account = register(client, auth["dora"])["id"]
    assert_problem(
        client.post(
            f"/accounts/{account}/stage",
            json={"to": "research", "reason": "why\u0000"},
            headers=auth["dora"],
        ),
        422,
    )


def test_as_of_shows_the_account_plan_and_stakeholder_as_they_were(
    client: TestClient, auth: Auth, account: str
) -> None:
    import time
    from datetime import UTC, datetime

    time.sleep(0.01)
    before = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    client.post(f"/accounts/{account}/stage", json={"to": "research"}, headers=auth["mia"])
    then = client.get(f"/accounts/{account}", params={"as_of": before}, headers=auth["audrey"])
    now = client.get(f"/accounts/{account}", headers=auth["audrey"])
    assert then.status_code == 200 and then.json()["stage"] == "strategy"
    assert then.json()["version"] == 2 and "ETag" not in then.headers
    assert now.json()["stage"] == "research"
    assert_problem(
        client.get(
            f"/accounts/{account}", params={"as_of": "2000-01-01T00:00:00Z"}, headers=auth["audrey"]
        ),
        404,
    )
    health = client.get(
        f"/accounts/{account}/health",
        params={"as_of": before, "min_position": 1},
        headers=auth["vic"],
    )
    assert health.status_code == 200 and health.json()["as_of"] == before[:10]
