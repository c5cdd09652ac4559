"""The research question bank over HTTP: listed, filtered by category, one by id, on both
backends; every listed id is one the answer command takes, and an unknown id is refused."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import USERS, assert_problem

from kam_domain.research import QUESTION_BANK
from kam_domain.values import ResearchCategory

Auth = dict[str, dict[str, str]]
CATEGORIES = [category.value for category in ResearchCategory]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def head(client: TestClient) -> int:
    position: int = client.app.state.kam.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
    return position


def test_the_listing_serves_the_whole_bank_in_order(client: TestClient, auth: Auth) -> None:
    body = ok(client.get("/research-questions", headers=auth["vic"]))
    assert body["categories"] == CATEGORIES
    assert [q["id"] for q in body["items"]] == list(QUESTION_BANK)
    assert len(body["items"]) >= 40
    for n, item in enumerate(body["items"], start=1):
        question = QUESTION_BANK[item["id"]]
        assert item == {
            "id": question.id,
            "category": question.category.value,
            "text": question.text,
            "position": n,
        }
    assert {q["category"] for q in body["items"]} == set(CATEGORIES)


@pytest.mark.parametrize("category", CATEGORIES)
def test_the_category_filter(client: TestClient, auth: Auth, category: str) -> None:
    body = ok(client.get("/research-questions", params={"category": category}, headers=auth["mia"]))
    items = body["items"]
    assert items and {q["category"] for q in items} == {category}
    expected = [q.id for q in QUESTION_BANK.values() if q.category.value == category]
    assert [q["id"] for q in items] == expected
    assert body["categories"] == CATEGORIES


@pytest.mark.parametrize("category", ["nope", "Needs", "needs ", ""])
def test_an_unknown_category_is_a_422_listing_the_valid_ones(
    client: TestClient, auth: Auth, category: str
) -> None:
    response = client.get("/research-questions", params={"category": category}, headers=auth["mia"])
    problem = assert_problem(response, 422, "validation")
    assert problem["valid_categories"] == CATEGORIES
    for value in CATEGORIES:
        assert value in problem["detail"]
    assert problem["errors"][0]["loc"] == ["query", "category"]


def test_one_question_by_id(client: TestClient, auth: Auth) -> None:
    listing = ok(client.get("/research-questions", headers=auth["audrey"]))["items"]
    for item in listing:
        assert ok(client.get(f"/research-questions/{item['id']}", headers=auth["audrey"])) == item


@pytest.mark.parametrize("question_id", ["needs-99", "NEEDS-01", "x" * 64, "our team 01"])
def test_an_unknown_id_is_a_404(client: TestClient, auth: Auth, question_id: str) -> None:
    problem = assert_problem(
        client.get(f"/research-questions/{question_id}", headers=auth["vic"]), 404, "not-found"
    )
    assert question_id in problem["detail"]


def test_every_signed_in_role_reads_the_bank_and_nobody_else(
    client: TestClient, auth: Auth
) -> None:
    for name in USERS:
        ok(client.get("/research-questions", headers=auth[name]))
        ok(client.get("/research-questions/trends-01", headers=auth[name]))
    for path in ("/research-questions", "/research-questions/trends-01"):
        assert_problem(client.get(path), 401, "unauthorized")
        bad = {"Authorization": "Bearer not-a-token"}
        assert_problem(client.get(path, headers=bad), 401, "unauthorized")


def test_every_listed_id_is_taken_by_the_answer_command_and_an_unknown_one_is_refused(
    client: TestClient, auth: Auth, account: str
) -> None:
    mia = auth["mia"]
    plan = ok(client.post(f"/accounts/{account}/plans", json={"period": "2027"}, headers=mia), 201)
    path = f"/plans/{plan['id']}/research-answers"
    listing = ok(client.get("/research-questions", headers=mia))["items"]

    # One answer through the API, with an id taken from the listing, shows on the plan.
    first = listing[0]
    ok(client.post(path, json={"question_id": first["id"], "answer": "Ann; March"}, headers=mia))
    state = ok(client.get(f"/plans/{plan['id']}", headers=mia))
    assert state["research_answers"] == [
        {
            "question_id": first["id"],
            "category": first["category"],
            "question": first["text"],
            "answer": "Ann; March",
        }
    ]

    # Every other listed id is accepted too.
    for item in listing[1:]:
        ok(client.post(path, json={"question_id": item["id"], "answer": "A"}, headers=mia))
    state = ok(client.get(f"/plans/{plan['id']}", headers=mia))
    assert [a["question_id"] for a in state["research_answers"]] == [q["id"] for q in listing]
    assert state["unanswered_categories"] == []

    # An id the bank does not hold: the read says 404, and the command refuses it too.
    unknown = "needs-99"
    assert_problem(client.get(f"/research-questions/{unknown}", headers=mia), 404, "not-found")
    before = head(client)
    refused = client.post(path, json={"question_id": unknown, "answer": "A"}, headers=mia)
    problem = assert_problem(refused, 404, "not-found")
    assert unknown in problem["detail"]
    assert head(client) == before


def test_the_endpoints_are_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    listing = spec["paths"]["/research-questions"]["get"]
    one = spec["paths"]["/research-questions/{question_id}"]["get"]
    assert "question_id" in listing["description"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ResearchQuestionList"
    )
    assert "422" in listing["responses"]
    assert "404" in one["responses"]
    assert any(p["name"] == "category" for p in listing["parameters"])
    schemas = spec["components"]["schemas"]
    for name in ("ResearchQuestionList", "ResearchQuestionPublic"):
        assert schemas[name]["description"]
        assert schemas[name]["examples"]
    for field in ("id", "category", "text", "position"):
        assert field in schemas["ResearchQuestionPublic"]["properties"]
    example = schemas["ResearchQuestionPublic"]["examples"][0]
    assert QUESTION_BANK[example["id"]].text == example["text"]
    assert list(QUESTION_BANK).index(example["id"]) + 1 == example["position"]
