"""Dates that cannot be, over HTTP, on both backends: a 422 problem naming the field, nothing
written. Today is fixed by the settings (``KAM_TODAY``), never the real date."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem

from kam_api.settings import Settings

Auth = dict[str, dict[str, str]]
TODAY = "2026-06-15"


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """The API's test settings with today fixed and the default tolerance (one day)."""
    return api_settings.model_copy(update={"today": date.fromisoformat(TODAY)})


def head(client: TestClient) -> int:
    kam = client.app.state.kam  # type: ignore[attr-defined]
    position: int = kam.recorder.max_notification_id() or 0
    return position


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def test_dates_that_cannot_be_answer_422_naming_the_field_and_write_nothing(
    client: TestClient, auth: Auth
) -> None:
    mia, dora = auth["mia"], auth["dora"]
    account = ok(
        client.post(
            "/accounts",
            json={
                "name": "Acme",
                "industry": "Retail",
                "region": "EMEA",
                "occurred_on": "2020-03-01",
            },
            headers=dora,
        ),
        201,
    )["id"]
    ok(client.post(f"/accounts/{account}/manager", json={"manager": "mia"}, headers=dora))
    sid = ok(
        client.post(
            f"/accounts/{account}/stakeholders",
            json={"name": "Grace", "buying_role": "economic_buyer", "influence": 4},
            headers=mia,
        ),
        201,
    )["id"]
    plan = ok(client.post(f"/accounts/{account}/plans", json={"period": "2027"}, headers=mia), 201)
    objective = {
        "statement": "Grow",
        "metric": "revenue",
        "baseline": "1",
        "target": "2",
        "due_on": "2027-12-31",
    }
    meeting = {"kind": "meeting", "on": TODAY, "summary": "hi", "sentiment": 0}
    feedback = {"nps": 9}
    assessment = {"engagement": "engaged", "trust": 4, "satisfaction": 4, "partner_rating": 8}
    handover = {"to": "eve", "effective_on": "2027-01-01", "reason": "moves on"}
    before = head(client)
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        (f"/stakeholders/{sid}/interactions", {**meeting, "on": "2026-06-17"}, "on", "future"),
        (f"/stakeholders/{sid}/interactions", {**meeting, "on": "1989-12-31"}, "on", "1990"),
        (
            f"/accounts/{account}/feedback",
            {**feedback, "occurred_on": "2026-07-01"},
            "occurred_on",
            "future",
        ),
        (
            f"/accounts/{account}/assessments",
            {**assessment, "occurred_on": "2026-06-17T09:00:00Z"},
            "occurred_on",
            "future",
        ),
        (
            f"/plans/{plan['id']}/objectives",
            {**objective, "due_on": "2024-12-31"},
            "due_on",
            "period",
        ),
        (
            f"/accounts/{account}/handover",
            {**handover, "effective_on": "1999-01-01"},
            "effective_on",
            "registered (2020-03-01)",
        ),
        (
            f"/accounts/{account}/handover",
            {**handover, "effective_on": "1989-01-01"},
            "effective_on",
            "1990",
        ),
        (
            f"/accounts/{account}/handover",
            {**handover, "effective_on": "2040-01-01"},
            "effective_on",
            "years",
        ),
    ]
    for path, body, field, words in cases:
        problem = assert_problem(client.post(path, json=body, headers=mia), 422, "validation")
        assert problem["errors"][0]["loc"] == ["body", field], (path, problem)
        assert words in problem["errors"][0]["msg"], problem
        assert field in problem["detail"]
    assert head(client) == before

    # The same commands within the bounds are accepted (the tolerance allows tomorrow).
    ok(
        client.post(
            f"/stakeholders/{sid}/interactions", json={**meeting, "on": "2026-06-16"}, headers=mia
        ),
        201,
    )
    ok(
        client.post(
            f"/accounts/{account}/feedback", json={**feedback, "occurred_on": TODAY}, headers=mia
        )
    )
    ok(client.post(f"/plans/{plan['id']}/objectives", json=objective, headers=mia), 201)
    assert head(client) == before + 3


def test_the_openapi_document_states_each_bound(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    def described(model: str, field: str) -> str:
        description: str = schemas[model]["properties"][field]["description"]
        return description

    assert "KAM_FUTURE_TOLERANCE_DAYS" in described("LogInteraction", "on")
    assert "KAM_FUTURE_TOLERANCE_DAYS" in described("RecordFeedback", "occurred_on")
    assert "registration day" in described("HandOver", "effective_on")
    assert "plan's period starts" in described("SetObjective", "due_on")
    assert "10 years" in described("AddAction", "due_on")
    assert "1990-01-01" in described("RecordDeparture", "left_on")
