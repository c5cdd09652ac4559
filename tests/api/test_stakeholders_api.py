"""Stakeholder relationships over HTTP: every command's happy path and every error class, on
both backends."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register

Auth = dict[str, dict[str, str]]
MISSING = "00000000-0000-4000-8000-000000000000"
GRACE = {
    "name": "Grace Hopper",
    "email": "grace@acme.example",
    "phone": "+44 20 7946 0000",
    "personal_notes": "Prefers early meetings",
    "title": "CPO",
    "buying_role": "economic_buyer",
    "influence": 4,
}


def identify(
    client: TestClient, headers: dict[str, str], account: str, **fields: Any
) -> dict[str, Any]:
    """Identifies a stakeholder (Grace unless overridden); returns the command response."""
    response = client.post(
        f"/accounts/{account}/stakeholders", json={**GRACE, **fields}, headers=headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def head(client: TestClient) -> int:
    """The log position of the last stored event (a refused command leaves it unchanged)."""
    kam = client.app.state.kam  # type: ignore[attr-defined]
    position: int = kam.recorder.max_notification_id() or 0
    return position


def test_an_identified_stakeholder_is_at_its_location_and_in_the_read_models(
    client: TestClient, auth: Auth, account: str
) -> None:
    response = client.post(f"/accounts/{account}/stakeholders", json=GRACE, headers=auth["mia"])
    assert response.status_code == 201, response.text
    result = response.json()
    assert response.headers["Location"] == f"/stakeholders/{result['id']}"
    assert response.headers["ETag"] == '"1"' and result["version"] == 1
    got = client.get(response.headers["Location"], headers=auth["audrey"])
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    state = got.json()
    assert state["account_id"] == account and state["name"] == "Grace Hopper"
    assert state["email"] == "grace@acme.example" and state["personal_notes"]
    assert state["buying_role"] == "economic_buyer" and state["influence"] == 4
    assert state["disposition"] == "neutral" and state["erased"] is False
    assert state["commitments"] == [] and state["last_interaction"] is None
    listed = client.get(
        f"/accounts/{account}/stakeholders?min_position={result['position']}",
        headers=auth["audrey"],
    )
    assert listed.status_code == 200, listed.text
    assert [s["id"] for s in listed.json()["items"]] == [result["id"]]
    logged = client.post(
        f"/stakeholders/{result['id']}/interactions",
        json={"kind": "qbr", "on": "2026-03-02", "summary": "QBR", "sentiment": 2},
        headers=auth["mia"],
    )
    assert logged.status_code == 201, logged.text
    rows = client.get(
        f"/portfolio?min_position={logged.json()['position']}", headers=auth["vic"]
    ).json()["items"]
    assert rows[0]["account_id"] == account and rows[0]["last_interaction_on"] == "2026-03-02"


def test_a_stakeholder_journey_through_every_command(
    client: TestClient, auth: Auth, account: str
) -> None:
    mia = auth["mia"]
    boss = identify(client, mia, account, name="Ada", buying_role="decision_maker")["id"]
    sid = identify(client, mia, account, reports_to=boss)["id"]
    successor = identify(client, mia, account, name="Alan", email=None)["id"]

    def post(path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        response = client.post(f"/stakeholders/{sid}/{path}", json=body, headers=mia)
        assert response.status_code == status, (path, response.text)
        assert response.headers["ETag"] == f'"{response.json()["version"]}"'
        result: dict[str, Any] = response.json()
        return result

    post("disposition", {"disposition": "supporter", "reason": "backed the renewal"})
    post("role", {"buying_role": "champion", "influence": 5})
    post("owner", {"owner": "mia"})
    logged = post(
        "interactions",
        {"kind": "meeting", "on": "2026-03-02", "summary": "renewal terms", "sentiment": 1},
        201,
    )
    promised = post("commitments", {"description": "send pilot plan", "due_on": "2026-03-16"}, 201)
    post(f"commitments/{promised['entity_id']}/fulfilment", {"note": "sent"})
    post("commitments", {"description": "invite to the user day"}, 201)
    post("departure", {"left_on": "2026-06-30", "successor_id": successor})
    state = client.get(f"/stakeholders/{sid}", headers=auth["dora"]).json()
    assert state["reports_to"] == boss and state["disposition"] == "supporter"
    assert state["buying_role"] == "champion" and state["influence"] == 5
    assert state["owner"] == "mia" and state["interaction_count"] == 1
    assert state["last_interaction"] == {
        "interaction_id": logged["entity_id"],
        "kind": "meeting",
        "on": "2026-03-02",
        "summary": "renewal terms",
        "sentiment": 1,
    }
    assert state["last_interaction_on"] == "2026-03-02"
    assert state["commitments"][0] == {
        "commitment_id": promised["entity_id"],
        "description": "send pilot plan",
        "due_on": "2026-03-16",
        "fulfilled": True,
        "fulfilment_note": "sent",
    }
    assert state["commitments"][1]["due_on"] is None and state["open_commitments"] == 1
    assert state["left_on"] == "2026-06-30" and state["successor_id"] == successor

    erased = post("erasure", {"reason": "erasure request of 2026-07-01"})
    response = client.get(f"/stakeholders/{sid}", headers=auth["audrey"])
    assert response.headers["ETag"] == f'"{erased["version"]}"'
    state = response.json()
    assert state["name"] == "(erased)" and state["erased"] is True
    assert state["email"] is None and state["phone"] is None and state["personal_notes"] is None
    assert "Grace" not in response.text and "grace@" not in response.text
    assert state["buying_role"] == "champion" and state["open_commitments"] == 1
    health = client.get(
        f"/accounts/{account}/health?min_position={erased['position']}", headers=auth["vic"]
    )
    assert health.status_code == 200, health.text
    listed = client.get(
        f"/accounts/{account}/stakeholders?min_position={erased['position']}&limit=2",
        headers=mia,
    ).json()
    rest = client.get(
        f"/accounts/{account}/stakeholders?cursor={listed['next_cursor']}", headers=mia
    ).json()
    assert rest["next_cursor"] is None
    assert sorted(s["id"] for s in listed["items"] + rest["items"]) == sorted(
        [boss, sid, successor]
    )


def test_business_rule_violations_answer_409_naming_the_rule_and_write_nothing(
    client: TestClient, auth: Auth, account: str
) -> None:
    mia = auth["mia"]
    sid = identify(client, mia, account)["id"]
    before = head(client)
    cases = [
        ("disposition", {"disposition": "neutral", "reason": "x"}, "disposition-unchanged"),
        ("disposition", {"disposition": "detractor"}, "reason-required"),
        ("role", {"buying_role": "economic_buyer", "influence": 4}, "role-unchanged"),
        ("erasure", {}, "reason-required"),
    ]
    for path, body, rule in cases:
        problem = assert_problem(
            client.post(f"/stakeholders/{sid}/{path}", json=body, headers=mia), 409, rule
        )
        assert problem["rule"] == rule
    assert head(client) == before

    promise = client.post(
        f"/stakeholders/{sid}/commitments", json={"description": "call back"}, headers=mia
    ).json()["entity_id"]
    fulfil = f"/stakeholders/{sid}/commitments/{promise}/fulfilment"
    assert client.post(fulfil, json={}, headers=mia).status_code == 200
    assert_problem(client.post(fulfil, json={}, headers=mia), 409, "commitment-already-fulfilled")
    left = client.post(
        f"/stakeholders/{sid}/departure", json={"left_on": "2026-06-30"}, headers=mia
    )
    assert left.status_code == 200
    erased = client.post(f"/stakeholders/{sid}/erasure", json={"reason": "asked"}, headers=mia)
    assert erased.status_code == 200, erased.text
    before = head(client)
    meeting = {"kind": "call", "on": "2026-07-01", "summary": "hello", "sentiment": 0}
    assert_problem(
        client.post(f"/stakeholders/{sid}/interactions", json=meeting, headers=mia),
        409,
        "stakeholder-left",
    )
    assert_problem(
        client.post(f"/stakeholders/{sid}/erasure", json={"reason": "again"}, headers=mia),
        409,
        "personal-data-erased",
    )
    assert head(client) == before

    exited = client.post(
        f"/accounts/{account}/exit", json={"reason": "off the list"}, headers=auth["dora"]
    )
    assert exited.status_code == 200
    before = head(client)
    assert_problem(
        client.post(f"/accounts/{account}/stakeholders", json=GRACE, headers=auth["dora"]),
        409,
        "account-exited",
    )
    assert head(client) == before


def test_if_match_makes_a_change_conditional(client: TestClient, auth: Auth, account: str) -> None:
    sid = identify(client, auth["mia"], account)["id"]
    etag = client.get(f"/stakeholders/{sid}", headers=auth["mia"]).headers["ETag"]
    first = client.post(
        f"/stakeholders/{sid}/owner",
        json={"owner": "mia"},
        headers={**auth["mia"], "If-Match": etag},
    )
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    before = head(client)
    stale = client.post(
        f"/stakeholders/{sid}/role",
        json={"buying_role": "champion", "influence": 3},
        headers={**auth["mia"], "If-Match": etag},
    )
    assert_problem(stale, 412, "precondition-failed")
    assert stale.headers["ETag"] == '"2"'
    assert_problem(
        client.post(
            f"/stakeholders/{sid}/erasure",
            json={"reason": "asked"},
            headers={**auth["mia"], "If-Match": "yesterday"},
        ),
        400,
    )
    assert head(client) == before


def test_unknown_things_answer_404(client: TestClient, auth: Auth, account: str) -> None:
    dora = auth["dora"]
    sid = identify(client, dora, account)["id"]
    before = head(client)
    assert_problem(client.get(f"/stakeholders/{MISSING}", headers=dora), 404, "not-found")
    for headers in (dora, auth["mia"]):
        assert_problem(
            client.post(f"/stakeholders/{MISSING}/owner", json={"owner": "mia"}, headers=headers),
            404,
            "not-found",
        )
        assert_problem(
            client.post(f"/accounts/{MISSING}/stakeholders", json=GRACE, headers=headers),
            404,
            "not-found",
        )
    assert_problem(
        client.post(
            f"/stakeholders/{sid}/commitments/{MISSING}/fulfilment", json={}, headers=auth["mia"]
        ),
        404,
        "not-found",
    )
    assert_problem(client.get(f"/accounts/{MISSING}/stakeholders", headers=dora), 404)
    assert_problem(
        client.get(f"/accounts/{account}/stakeholders?cursor=bogus", headers=dora),
        400,
        "bad-cursor",
    )
    assert head(client) == before


def test_bad_input_answers_422_with_field_errors_and_writes_nothing(
    client: TestClient, auth: Auth, account: str
) -> None:
    mia = auth["mia"]
    sid = identify(client, mia, account)["id"]
    other_account = register(client, auth["dora"], name="Globex")["id"]
    stranger = identify(client, auth["dora"], other_account, name="Hans")["id"]
    before = head(client)
    meeting = {"kind": "meeting", "on": "2026-03-02", "summary": "hi", "sentiment": 0}
    cases: list[tuple[str, dict[str, Any], str]] = [
        (f"/stakeholders/{sid}/interactions", {**meeting, "sentiment": 3}, "sentiment"),
        (f"/stakeholders/{sid}/interactions", {**meeting, "on": "2026-13-45"}, "on"),
        (f"/stakeholders/{sid}/interactions", {**meeting, "on": 0}, "on"),
        (f"/stakeholders/{sid}/interactions", {**meeting, "sentiment": True}, "sentiment"),
        (f"/stakeholders/{sid}/interactions", {**meeting, "kind": "lunch"}, "kind"),
        (f"/stakeholders/{sid}/role", {"buying_role": "champion", "influence": 0}, "influence"),
        (f"/stakeholders/{sid}/role", {"buying_role": "ceo", "influence": 3}, "buying_role"),
        (f"/stakeholders/{sid}/owner", {"owner": "mia", "colour": "red"}, "colour"),
        (f"/stakeholders/{sid}/departure", {"left_on": "soon"}, "left_on"),
        (f"/accounts/{account}/stakeholders", {**GRACE, "influence": 0}, "influence"),
        (f"/accounts/{account}/stakeholders", {**GRACE, "email": "not an email"}, "email"),
        (f"/accounts/{account}/stakeholders", {**GRACE, "name": ""}, "name"),
        (f"/accounts/{account}/stakeholders", {**GRACE, "title": "CPO\x00"}, "title"),
        (f"/stakeholders/{sid}/interactions", {**meeting, "summary": "a\x00b"}, "summary"),
        (
            f"/stakeholders/{sid}/departure",
            {"left_on": "2026-06-30", "successor_id": stranger},
            "successor_id",
        ),
        (f"/accounts/{account}/stakeholders", {**GRACE, "reports_to": stranger}, "reports_to"),
    ]
    for path, body, field in cases:
        problem = assert_problem(client.post(path, json=body, headers=mia), 422, "validation")
        assert problem["errors"][0]["loc"][-1] == field, (path, problem)
    assert_problem(
        client.post("/stakeholders/not-a-uuid/owner", json={"owner": "mia"}, headers=mia), 422
    )
    assert head(client) == before


def test_auth_is_required_and_roles_are_enforced(
    client: TestClient, auth: Auth, account: str
) -> None:
    sid = identify(client, auth["dora"], account)["id"]
    before = head(client)
    writes: list[tuple[str, dict[str, Any]]] = [
        (f"/accounts/{account}/stakeholders", GRACE),
        (f"/stakeholders/{sid}/disposition", {"disposition": "supporter", "reason": "x"}),
        (f"/stakeholders/{sid}/role", {"buying_role": "champion", "influence": 3}),
        (f"/stakeholders/{sid}/owner", {"owner": "max"}),
        (
            f"/stakeholders/{sid}/interactions",
            {"kind": "call", "on": "2026-03-02", "summary": "hi", "sentiment": 0},
        ),
        (f"/stakeholders/{sid}/commitments", {"description": "call back"}),
        (f"/stakeholders/{sid}/commitments/{MISSING}/fulfilment", {}),
        (f"/stakeholders/{sid}/departure", {"left_on": "2026-06-30"}),
        (f"/stakeholders/{sid}/erasure", {"reason": "asked"}),
    ]
    for path, body in writes:
        for name in ("max", "audrey", "vic"):
            assert_problem(client.post(path, json=body, headers=auth[name]), 403, "forbidden")
        assert_problem(client.post(path, json=body), 401, "unauthorized")
    assert_problem(client.get(f"/stakeholders/{sid}", headers=auth["vic"]), 403, "forbidden")
    assert_problem(client.get(f"/accounts/{account}/stakeholders", headers=auth["vic"]), 403)
    assert_problem(client.get(f"/stakeholders/{sid}"), 401, "unauthorized")
    assert_problem(client.get(f"/accounts/{account}/stakeholders"), 401)
    assert head(client) == before
