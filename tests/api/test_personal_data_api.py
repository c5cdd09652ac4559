"""GET /stakeholders/{id}/personal-data (subject-access request), and every read path showing
an erased person: only the placeholder, never an error (both backends), whether the store
decodes the person's events as stored today or, through ``tests.redaction.shredded``, as the
crypto-shredding store will (with the placeholders)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem
from tests.erasure_story import BEN, ERIKA, Story, erased_texts, kept_texts, tell
from tests.redaction import shredded

from kam_domain.application import KamApplication
from kam_domain.personal import ERASED


def _kam(client: TestClient) -> KamApplication:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    return kam


def _seen(client: TestClient) -> dict[str, int]:
    return {"min_position": _kam(client).recorder.max_notification_id() or 0}


@pytest.fixture(params=["store", "shredded"])
def decoding(request: pytest.FixtureRequest) -> str:
    """How the erased person's events decode: as stored today, or as the shredding store will."""
    return str(request.param)


@pytest.fixture
def erased(client: TestClient, decoding: str) -> Iterator[Story]:
    """The story told, Erika erased; the app decoding as ``decoding`` says."""
    story = tell(_kam(client))
    context: AbstractContextManager[Any] = (
        shredded(_kam(client)) if decoding == "shredded" else nullcontext()
    )
    with context:
        yield story


def personal_data(client: TestClient, headers: dict[str, str], person: object) -> Any:
    response = client.get(
        f"/stakeholders/{person}/personal-data", params=_seen(client), headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_subject_access_request_answers_everything_held_about_the_person(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    story = tell(_kam(client), erase=False)
    body = personal_data(client, auth["audrey"], story.erika)
    assert body["erased"] is False and body["erasure"] is None
    assert body["personal"] == {
        "name": ERIKA["name"],
        "title": ERIKA["corrected_title"],
        "email": ERIKA["corrected_email"],
        "phone": ERIKA["phone"],
        "personal_notes": ERIKA["notes"],
    }
    assert body["account_id"] == str(story.account_id)
    types = [e["type"] for e in body["events"]]
    assert types[0] == "Identified" and types.count("InteractionLogged") == 2
    texts = {(e["type"], k): v for e in body["events"] for k, v in e["text"].items()}
    assert texts[("Identified", "name")] == ERIKA["name"]
    assert texts[("InteractionLogged", "summary")] in (ERIKA["interaction"], ERIKA["later"])
    assert texts[("CommitmentFulfilled", "note")] == ERIKA["fulfilment"]
    reasons = {e["type"]: e["reason"] for e in body["events"]}
    assert reasons["DispositionChanged"] == ERIKA["reason"]
    assert texts[("Identified", "title")] == ERIKA["title"]
    assert texts[("TitleCorrected", "title")] == ERIKA["corrected_title"]
    assert texts[("ContactDetailsCorrected", "email")] == ERIKA["corrected_email"]
    assert reasons["ReportsToCorrected"] == ERIKA["correction_reason"]
    assert all(e["position"] and e["summary"] and e["actor"] for e in body["events"])
    kinds = {(r["kind"], r["aggregate_id"]) for r in body["references"]}
    assert kinds == {
        ("action_stakeholder", str(story.plan_id)),
        ("feedback_respondent", str(story.account_id)),
        ("successor_of", str(story.ben)),
        ("reports_to", str(story.ben)),
    }
    feedback = next(r for r in body["references"] if r["kind"] == "feedback_respondent")
    assert feedback["text"] == "Slow invoices" and "NPS 4" in feedback["description"]
    tables = {r["table"] for r in body["read_model_rows"]}
    assert {"rm_timeline", "rm_timeline_labels", "rm_health_stakeholders"} <= tables
    assert {"rm_health_interactions", "rm_health_log", "rm_sources", "rm_owners"} <= tables
    assert "rm_search" in tables
    search = next(r for r in body["read_model_rows"] if r["table"] == "rm_search")
    assert ERIKA["name"] in json.dumps(search)


def test_once_erased_it_says_when_and_by_whom_and_shows_only_placeholders(
    client: TestClient, auth: dict[str, dict[str, str]], erased: Story
) -> None:
    body = personal_data(client, auth["dora"], erased.erika)
    assert body["erased"] is True
    erasure = body["erasure"]
    assert erasure["actor"] == "dora" and erasure["reason"] == ERASED
    assert erasure["occurred_at"].startswith("2026-03-11") and erasure["position"]
    assert body["personal"] == dict.fromkeys(
        ("name", "title", "email", "phone", "personal_notes"), ERASED
    )
    for event in body["events"]:
        assert all(value == ERASED for value in event["text"].values()), event
        assert event["reason"] in (None, ERASED)
    assert {"rm_erased", "rm_timeline", "rm_search"} <= {
        r["table"] for r in body["read_model_rows"]
    }
    text = json.dumps(body)
    for word in erased_texts():
        assert word not in text, word
    assert len(body["references"]) == 4  # the links stay, by id


def test_an_unknown_person_is_a_404_problem(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    response = client.get(
        "/stakeholders/00000000-0000-4000-8000-000000000000/personal-data", headers=auth["dora"]
    )
    assert_problem(response, 404)


def test_the_endpoint_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/stakeholders/{stakeholder_id}/personal-data"]["get"]
    assert "subject-access" in operation["description"].lower()
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/PersonalDataReport")
    assert spec["components"]["schemas"]["PersonalDataReport"]["description"]


# --- Every read path with an erased person -----------------------------------------------


def _assert_forgotten(text: str) -> None:
    for word in erased_texts():
        assert word not in text, word


def test_the_handover_report_shows_the_placeholder_in_every_format(
    client: TestClient, auth: dict[str, dict[str, str]], erased: Story
) -> None:
    path = f"/accounts/{erased.account_id}/handover-report"
    for format in ("json", "markdown", "html"):
        response = client.get(
            path, params={**_seen(client), "format": format}, headers=auth["dora"]
        )
        assert response.status_code == 200, (format, response.text)
        _assert_forgotten(response.text)
        assert BEN["name"] in response.text
        assert "erased" in response.text


def test_history_timeline_changes_events_and_health_show_the_placeholder(
    client: TestClient, auth: dict[str, dict[str, str]], erased: Story
) -> None:
    account = erased.account_id
    seen = _seen(client)
    history = client.get(
        f"/accounts/{account}/history", params={**seen, "limit": 100}, headers=auth["audrey"]
    )
    assert history.status_code == 200, history.text
    hers = [e for e in history.json()["items"] if e["aggregate_id"] == str(erased.erika)]
    assert hers and all(e["reason"] in (None, ERASED) for e in hers)
    summaries = " ".join(e["summary"] for e in history.json()["items"])
    for word in kept_texts():
        assert word in summaries, word
    _assert_forgotten(history.text)

    changes = client.get(
        f"/accounts/{account}/changes",
        params={**seen, "from": "2000-01-01"},
        headers=auth["audrey"],
    )
    assert changes.status_code == 200, changes.text
    _assert_forgotten(changes.text)

    events = client.get("/events", params={"limit": 1000}, headers=auth["audrey"])
    assert events.status_code == 200, events.text
    _assert_forgotten(events.text)

    health = client.get(f"/accounts/{account}/health", params=seen, headers=auth["dora"])
    assert health.status_code == 200, health.text
    _assert_forgotten(health.text)

    person = client.get(f"/stakeholders/{erased.erika}", headers=auth["dora"])
    assert person.status_code == 200, person.text
    assert person.json()["name"] == ERASED and person.json()["erased"] is True
    _assert_forgotten(person.text)
