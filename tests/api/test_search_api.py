"""Search over HTTP: accounts and stakeholders by name and title, never an erased person, only
to those who may read people; ``q`` on /accounts; account names on action rows. Both backends."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register
from tests.api.test_stakeholders_api import identify

Auth = dict[str, dict[str, str]]


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def settled(client: TestClient) -> str:
    """``min_position`` of the last stored event: a read with it sees every write."""
    kam = client.app.state.kam  # type: ignore[attr-defined]
    return f"min_position={kam.recorder.max_notification_id()}"


def hits(client: TestClient, headers: dict[str, str], q: str) -> list[dict[str, Any]]:
    body = ok(client.get(f"/search?{settled(client)}&{urlencode({'q': q})}", headers=headers))
    items: list[dict[str, Any]] = body["items"]
    return items


def test_search_finds_accounts_by_name_ignoring_case_and_accents(
    client: TestClient, auth: Auth
) -> None:
    # Given accounts named with accents and in mixed case
    zurich = register(client, auth["dora"], "Zürich Réassurance")["id"]
    register(client, auth["dora"], "Acme Industrial")
    # When someone searches without the accents, in lower case
    client.get(f"/portfolio?{settled(client)}", headers=auth["dora"])
    found = hits(client, auth["vic"], "zurich REASS")
    # Then the account is found, with its name
    assert [(h["kind"], h["id"], h["name"]) for h in found] == [
        ("account", zurich, "Zürich Réassurance")
    ]
    assert found[0]["account_id"] == zurich and found[0]["account_name"] == "Zürich Réassurance"


def test_search_finds_stakeholders_by_name_and_by_title_with_their_account(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given a stakeholder at mia's account
    grace = identify(client, auth["mia"], account, name="Grace Hopper", title="Chief Buyer")["id"]
    identify(client, auth["mia"], account, name="Ada Lovelace", title="CFO")
    client.get(f"/portfolio?{settled(client)}", headers=auth["dora"])
    # When searching by part of her name, and by her title
    by_name = hits(client, auth["max"], "hopp")
    by_title = hits(client, auth["audrey"], "chief b")
    # Then she is found both ways, with her account (any manager may read stakeholders, as
    # GET /stakeholders/{id} allows)
    for found in (by_name, by_title):
        assert [(h["kind"], h["id"]) for h in found] == [("stakeholder", grace)]
        assert found[0]["account_id"] == account
        assert found[0]["account_name"] == "Acme Industrial"
        assert found[0]["name"] == "Grace Hopper" and found[0]["title"] == "Chief Buyer"


def test_a_corrected_title_is_what_search_matches(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given a stakeholder whose title was corrected
    grace = identify(client, auth["mia"], account, title="Buyer")["id"]
    body = {"title": "Head of Procurement", "reason": "promoted"}
    response = client.post(f"/stakeholders/{grace}/title", json=body, headers=auth["mia"])
    assert response.status_code == 200, response.text
    client.get(f"/portfolio?{settled(client)}", headers=auth["dora"])
    # When searching by the old and the new title
    # Then only the new one matches
    assert hits(client, auth["mia"], "Buyer") == []
    assert [h["id"] for h in hits(client, auth["mia"], "procurement")] == [grace]


def test_a_person_whose_data_is_erased_never_matches_nor_shows(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given two stakeholders, one of whom has had her personal data erased
    erika = identify(client, auth["mia"], account, name="Erika Quillfeather", title="CTO")["id"]
    ben = identify(client, auth["mia"], account, name="Ben Quill", title="CIO")["id"]
    response = client.post(
        f"/stakeholders/{erika}/erasure", json={"reason": "asked to be forgotten"},
        headers=auth["dora"],
    )  # fmt: skip
    assert response.status_code == 200, response.text
    client.get(f"/portfolio?{settled(client)}", headers=auth["dora"])
    # When anyone searches by her name, her title, or the placeholder
    # Then only the other person is found, and nothing of hers
    assert [h["id"] for h in hits(client, auth["dora"], "quill")] == [ben]
    for q in ("Quillfeather", "CTO", "erased"):
        assert hits(client, auth["root"], q) == [], q


def test_viewers_find_accounts_but_never_people(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given an account and a stakeholder both matching "acme"
    identify(client, auth["mia"], account, name="Acme's Grace", title="COO")
    client.get(f"/portfolio?{settled(client)}", headers=auth["dora"])
    # When a viewer (who may not read stakeholders) and a manager search
    viewer = hits(client, auth["vic"], "acme")
    manager = hits(client, auth["mia"], "acme")
    # Then the viewer sees the account only; the manager both
    assert [h["kind"] for h in viewer] == ["account"]
    assert sorted(h["kind"] for h in manager) == ["account", "stakeholder"]


def test_search_pages_by_name_with_a_cursor(client: TestClient, auth: Auth) -> None:
    # Given three accounts matching
    for name in ("Delta Foods", "Alpha Foods", "Charlie Foods"):
        register(client, auth["dora"], name)
    client.get(f"/portfolio?{settled(client)}", headers=auth["dora"])
    # When reading the hits two at a time
    first = ok(client.get("/search?q=foods&limit=2", headers=auth["vic"]))
    second = ok(
        client.get(f"/search?q=foods&limit=2&cursor={first['next_cursor']}", headers=auth["vic"])
    )
    # Then they come by name, each once
    names = [h["name"] for h in first["items"] + second["items"]]
    assert names == ["Alpha Foods", "Charlie Foods", "Delta Foods"]
    assert second["next_cursor"] is None


def test_a_missing_blank_or_overlong_query_is_a_422_and_a_bad_cursor_a_400(
    client: TestClient, auth: Auth
) -> None:
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "x" * 201}):
        assert_problem(client.get("/search", params=params, headers=auth["vic"]), 422)
    response = client.get("/search", params={"q": "a", "cursor": "nope"}, headers=auth["vic"])
    assert_problem(response, 400)
    assert_problem(client.get("/search?q=a"), 401)


def test_q_on_accounts_keeps_the_accounts_whose_name_contains_it(
    client: TestClient, auth: Auth
) -> None:
    # Given accounts, one with LIKE's wildcards in its name
    register(client, auth["dora"], "Société Générale")
    register(client, auth["dora"], "Acme Industrial")
    register(client, auth["dora"], "100% Cotton_Co")
    query = settled(client)

    # When listing them with q
    def names(q: str) -> list[str]:
        body = ok(client.get(f"/accounts?{query}&{urlencode({'q': q})}", headers=auth["vic"]))
        return [r["name"] for r in body["items"]]

    # Then only names containing q match, case and accents ignored, wildcards taken literally
    assert names("societe") == ["Société Générale"]
    assert names("ACME") == ["Acme Industrial"]
    assert names("0% c") == ["100% Cotton_Co"]
    assert names("n_c") == ["100% Cotton_Co"]
    assert names("%") == ["100% Cotton_Co"]
    assert names("zzz") == []
    everything = ok(client.get(f"/accounts?{query}", headers=auth["vic"]))["items"]
    assert len(everything) == 3


def test_q_is_a_declared_parameter_of_accounts_and_search(client: TestClient) -> None:
    # Given the OpenAPI document (unknown parameters may be refused one day; q is not unknown)
    paths = client.get("/openapi.json").json()["paths"]
    # Then q is among the declared query parameters
    for path in ("/accounts", "/search"):
        declared = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert "q" in declared, path


def test_action_rows_carry_their_accounts_name(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given an action in mia's account's plan
    plan = client.post(f"/accounts/{account}/plans", json={"period": "2027"}, headers=auth["mia"])
    assert plan.status_code == 201, plan.text
    body = {"what": "Workshop", "owner": "mia", "due_on": "2027-03-31"}
    added = client.post(f"/plans/{plan.json()['id']}/actions", json=body, headers=auth["mia"])
    assert added.status_code == 201, added.text
    # When listing actions
    rows = ok(client.get(f"/actions?{settled(client)}", headers=auth["vic"]))["items"]
    # Then each row names its account
    assert [(r["account_id"], r["account_name"]) for r in rows] == [(account, "Acme Industrial")]


def test_an_exited_account_is_no_longer_found(client: TestClient, auth: Auth, account: str) -> None:
    # Given mia's account, taken off the key list
    exited = client.post(
        f"/accounts/{account}/exit", json={"reason": "no longer key"}, headers=auth["dora"]
    )
    assert exited.status_code == 200, exited.text
    # When searching for it by name
    # Then it is not found (as it is not listed in /accounts)
    assert hits(client, auth["dora"], "Acme") == []
