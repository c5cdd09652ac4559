"""The OpenAPI document says what the API really answers: every error as a problem, the
statuses each operation can give, the rules each command can break, the reason a command
always needs; and what the API answers is checked against it (``openapi_check``)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem
from tests.api.openapi_check import Answer, Observed, undocumented

from kam_domain.handlers.rules import requires_reason, rules_of
from kam_domain.handlers.table import HANDLERS

Auth = dict[str, dict[str, str]]
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    """The document does not depend on the store."""
    return f"sqlite:///{tmp_path}/kam.db"


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_every_error_answer_is_documented_as_a_problem(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"] == PROBLEM, (method, path, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
    ]


def test_every_authenticated_operation_documents_401_422_and_503(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        if path in ("/healthz", "/readyz", "/metrics"):  # /metrics: a scrape token of its own
            continue
        assert operation.get("security"), (method, path)
        assert {"400", "401", "422", "503"} <= set(operation["responses"]), (method, path)


def test_every_command_documents_its_rules_and_if_match(spec: dict[str, Any]) -> None:
    disposition = spec["paths"]["/stakeholders/{stakeholder_id}/disposition"]["post"]
    refused = disposition["responses"]["409"]
    assert set(refused["x-rules"]) == {
        "account-exited",
        "disposition-unchanged",
        "reason-required",
        "stakeholder-left",
    }
    assert "`disposition-unchanged`" in refused["description"]
    assert {"403", "404", "412", "413"} <= set(disposition["responses"])
    # A creating command has no version to match.
    assert "412" not in spec["paths"]["/accounts"]["post"]["responses"]
    assert spec["paths"]["/accounts"]["post"]["responses"]["409"]["x-rules"] == [
        "account-name-taken"
    ]


def test_the_rules_are_read_from_the_handlers_code() -> None:
    from kam_domain import commands as cmd

    assert rules_of(cmd.RegisterAccount) == {"account-name-taken"}
    assert {"no-lower-tier", "account-not-classified", "tier-cap-exceeded"} <= rules_of(
        cmd.ReevaluateAccount
    )
    assert "plan-already-exists" in rules_of(cmd.DraftPlan)  # raised by the handler itself
    assert "plan-closed" in rules_of(cmd.AddAction)  # by the aggregate's guard
    assert rules_of(cmd.RecordExchangeRate) == frozenset()
    assert all(isinstance(rules_of(command), frozenset) for command in HANDLERS)


def test_a_reason_every_state_needs_is_required_by_the_schema(spec: dict[str, Any]) -> None:
    from kam_domain import commands as cmd

    schemas = spec["components"]["schemas"]
    assert requires_reason(cmd.ChangeDisposition) and requires_reason(cmd.ExitAccount)
    assert "reason" in schemas["ChangeDisposition"]["required"]
    assert schemas["ChangeDisposition"]["properties"]["reason"]["minLength"] == 1
    # Replacing a manager needs a reason, assigning the first one does not: described.
    assert not requires_reason(cmd.AssignManager)
    assert "reason" not in schemas["AssignManager"].get("required", [])
    assert "reason-required" in schemas["AssignManager"]["properties"]["reason"]["description"]
    # No reason rule, nothing said.
    assert "reason-required" not in str(schemas["SetFocus"]["properties"]["reason"])


def test_the_documented_answers_are_the_ones_the_api_gives(
    client: TestClient, auth: Auth, account: str
) -> None:
    """Provokes each kind of answer on one command; ``conftest.client`` checks each against
    the document when the test ends, and this test says which it must have seen."""
    app: Any = client.app
    observed = Observed(app)
    client.event_hooks["response"].append(observed.hook)
    url = f"/accounts/{account}/service-profile"
    body = {"service_profile": "premium", "reason": "more care"}

    assert_problem(client.post(url, json=body), 401, "unauthorized")
    assert_problem(client.post(url, json=body, headers=auth["mia"]), 403, "forbidden")
    unknown = "/accounts/00000000-0000-4000-8000-000000000000/service-profile"
    assert_problem(client.post(unknown, json=body, headers=auth["dora"]), 404, "not-found")
    assert_problem(
        client.post(url, json={"service_profile": "premium"}, headers=auth["dora"]),
        409,
        "reason-required",
    )
    stale = {**auth["dora"], "If-Match": '"1"'}
    assert_problem(client.post(url, json=body, headers=stale), 412, "precondition-failed")
    bad = {**auth["dora"], "If-Match": "yesterday"}
    assert_problem(client.post(url, json=body, headers=bad), 400, "bad-if-match")
    assert_problem(client.post(url, json={"service_profile": 7}, headers=auth["dora"]), 422)
    assert client.post(url, json=body, headers=auth["dora"]).status_code == 200

    seen = {(a.status, a.rule) for a in observed.answers}
    assert seen == {
        (401, None),
        (403, None),
        (404, None),
        (409, "reason-required"),
        (412, None),
        (400, None),
        (422, None),
        (200, None),
    }
    assert observed.undocumented() == []


def test_an_answer_the_document_does_not_allow_is_reported(spec: dict[str, Any]) -> None:
    """The check can fail: a status, a rule or a problem type the operation does not list."""
    path = "/accounts/{account_id}/focus"
    assert undocumented(spec, Answer("POST", path, 409, "conflict")) is None
    assert "status not documented" in str(undocumented(spec, Answer("POST", path, 418)))
    assert "rule not in x-rules" in str(
        undocumented(spec, Answer("POST", path, 409, "plan-closed", "plan-closed"))
    )
    assert "x-problem-types" in str(undocumented(spec, Answer("POST", path, 409, "user-exists")))
    assert "no such operation" in str(undocumented(spec, Answer("PUT", path, 200)))


def test_a_decimal_field_keeps_what_it_says_of_itself(spec: dict[str, Any]) -> None:
    """A decimal is described by its digits (JSON Schema cannot count them), and by what the
    field adds: a rule relating it to another field, what it measures."""
    schemas = spec["components"]["schemas"]
    target = schemas["SetObjective"]["properties"]["target"]
    assert target["pattern"].startswith("^-?[0-9]{1,18}")
    assert target["description"].endswith("; must differ from the baseline")
    assert (
        "digits before the point"
        in schemas["SetObjective"]["properties"]["baseline"]["description"]
    )
