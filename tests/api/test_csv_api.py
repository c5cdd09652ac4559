"""CSV over HTTP: the portfolio, the actions and an account's history as text/csv (chosen by
Accept or ``format``), with a header row, RFC 4180 quoting, no formula left live, filters
honoured, streamed a page at a time. Both backends."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register

from kam_api import csv_export
from kam_api.schemas.reads import ActionStatusPublic, PortfolioRowPublic

Auth = dict[str, dict[str, str]]
CSV = {"Accept": "text/csv"}


def settled(client: TestClient) -> str:
    kam = client.app.state.kam  # type: ignore[attr-defined]
    return f"min_position={kam.recorder.max_notification_id()}"


def table(response: Any) -> list[list[str]]:
    """The CSV body as rows of cells (the header first)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.text, newline="")))


def by_header(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def classify(client: TestClient, auth: Auth, account: str, tier: str) -> None:
    body = {"tier": tier, "kind": "existing", "rationale": "fits"}
    response = client.post(f"/accounts/{account}/classification", json=body, headers=auth["dora"])
    assert response.status_code == 200, response.text


def test_the_portfolio_as_csv_has_a_header_quoted_cells_and_no_live_formula(
    client: TestClient, auth: Auth
) -> None:
    # Given accounts whose names hold a comma, quotes and a formula (names may not hold line
    # breaks; the history's CSV test quotes those)
    names = ['Smith, "Jones" & Co', '=HYPERLINK("http://x")', "@risk", "-5"]
    for name in names:
        register(client, auth["dora"], name)
    # When a viewer asks for the portfolio as CSV, by Accept
    response = client.get(f"/portfolio?{settled(client)}&sort=name", headers={**auth["vic"], **CSV})
    rows = table(response)
    # Then the header names the JSON row's fields, and every account is a row
    assert rows[0] == list(PortfolioRowPublic.model_fields)
    assert response.headers["content-disposition"] == 'attachment; filename="portfolio.csv"'
    shown = sorted(r["name"] for r in by_header(rows))
    # with quotes kept, and formulas made text
    assert shown == sorted(['Smith, "Jones" & Co', '\'=HYPERLINK("http://x")', "'@risk", "'-5"])
    assert '"Smith, ""Jones"" & Co"' in response.text and "\r\n" in response.text


def test_format_csv_chooses_csv_and_filters_are_honoured(client: TestClient, auth: Auth) -> None:
    # Given a strategic account and an emerging one
    strategic = register(client, auth["dora"], "Big Co")["id"]
    emerging = register(client, auth["dora"], "Small Co")["id"]
    classify(client, auth, strategic, "strategic")
    classify(client, auth, emerging, "emerging")
    # When asking for strategic accounts with format=csv (Accept saying JSON)
    response = client.get(
        f"/portfolio?{settled(client)}&tier=strategic&format=csv",
        headers={**auth["vic"], "Accept": "application/json"},
    )
    # Then only the strategic one is listed
    assert [(r["account_id"], r["tier"]) for r in by_header(table(response))] == [
        (strategic, "strategic")
    ]
    # And format=json answers JSON whatever Accept says
    response = client.get(
        f"/portfolio?{settled(client)}&format=json", headers={**auth["vic"], **CSV}
    )
    assert response.headers["content-type"] == "application/json"
    assert len(response.json()["items"]) == 2


def test_the_actions_as_csv_carry_the_accounts_name_and_honour_filters(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given two actions, one of them started
    plan = client.post(f"/accounts/{account}/plans", json={"period": "2027"}, headers=auth["mia"])
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    ids = []
    for what in ("+1 call the buyer", "Workshop"):
        body = {"what": what, "owner": "mia", "due_on": "2027-03-31"}
        added = client.post(f"/plans/{plan_id}/actions", json=body, headers=auth["mia"])
        assert added.status_code == 201, added.text
        ids.append(added.json()["entity_id"])
    started = client.post(f"/plans/{plan_id}/actions/{ids[1]}/start", json={}, headers=auth["mia"])
    assert started.status_code == 200, started.text
    # When listing the planned ones as CSV
    response = client.get(
        f"/actions?{settled(client)}&status=planned&format=csv", headers=auth["vic"]
    )
    rows = table(response)
    # Then the header is the JSON row's fields, and only the planned action is there, with
    # its account's name and its text guarded
    assert rows[0] == list(ActionStatusPublic.model_fields)
    listed = by_header(rows)
    assert [(r["action_id"], r["account_name"], r["what"]) for r in listed] == [
        (ids[0], "Acme Industrial", "'+1 call the buyer")
    ]
    assert listed[0]["overdue"] == "False"


def test_an_accounts_history_as_csv_lists_its_events_without_their_data(
    client: TestClient, auth: Auth, account: str
) -> None:
    # Given an account with a few events
    body = {
        "name": "Grace",
        "title": "=cmd|' /C calc'!A0",
        "buying_role": "user",
        "influence": 2,
        "reason": 'met at the fair,\nintroduced by "Bo"',
    }
    response = client.post(f"/accounts/{account}/stakeholders", json=body, headers=auth["mia"])
    assert response.status_code == 201, response.text
    # When an auditor reads its history as CSV, and only the manager assignments
    everything = table(
        client.get(
            f"/accounts/{account}/history?{settled(client)}", headers={**auth["audrey"], **CSV}
        )
    )
    managers = table(
        client.get(
            f"/accounts/{account}/history?type=ManagerAssigned&format=csv", headers=auth["audrey"]
        )
    )
    # Then each event is a row (summary, no data), in log order, the filter kept
    assert everything[0] == [
        "position", "aggregate_type", "aggregate_id", "type", "actor", "recorded_at",
        "occurred_at", "reason", "summary",
    ]  # fmt: skip
    types = [r["type"] for r in by_header(everything)]
    assert types == ["Registered", "ManagerAssigned", "Identified"]
    assert [r["type"] for r in by_header(managers)] == ["ManagerAssigned"]
    positions = [int(r["position"]) for r in by_header(everything)]
    assert positions == sorted(positions)
    # And the stakeholder's title, a formula, stays text in its summary
    assert not any(c.startswith(("=", "+", "-", "@")) for row in everything for c in row)
    # And a reason's comma, quotes and line break survive the quoting
    identified = next(r for r in by_header(everything) if r["type"] == "Identified")
    assert identified["reason"] == 'met at the fair,\nintroduced by "Bo"'
    # Viewers may not read the history, as CSV or not
    assert_problem(client.get(f"/accounts/{account}/history?format=csv", headers=auth["vic"]), 403)


def test_a_long_list_is_streamed_a_page_at_a_time(
    client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given more accounts than an export page holds
    monkeypatch.setattr(csv_export, "EXPORT_PAGE", 2)
    made = {register(client, auth["dora"], f"Account {i:02}")["id"] for i in range(7)}
    query = settled(client)
    # When the portfolio is read as CSV
    with client.stream("GET", f"/portfolio?{query}&format=csv", headers=auth["vic"]) as response:
        assert response.status_code == 200
        chunks = [chunk for chunk in response.iter_text() if chunk]
    # Then it comes in several chunks (the header with the first page, then a page each)
    assert len(chunks) == 4
    rows = list(csv.reader(io.StringIO("".join(chunks), newline="")))
    assert {r[0] for r in rows[1:]} == made and len(rows) == 8


def test_a_bad_cursor_or_filter_is_a_problem_even_as_csv(client: TestClient, auth: Auth) -> None:
    assert_problem(client.get("/portfolio?format=csv&cursor=nope", headers=auth["vic"]), 400)
    assert_problem(client.get("/actions?format=xml", headers=auth["vic"]), 422)
    assert_problem(client.get("/portfolio?tier=gold", headers={**auth["vic"], **CSV}), 422)


def test_the_openapi_document_describes_the_csv_answers(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/portfolio", "/actions", "/accounts/{account_id}/history"):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert {"application/json", "text/csv"} <= set(content), path


@pytest.mark.parametrize(
    ("accept", "csv_wanted"),
    [
        ("text/csv", True),
        ("text/csv;q=0.9, application/json;q=0.5", True),
        ("application/json, text/csv;q=0.5", False),
        ("text/csv;q=0", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_accept_decides_only_when_csv_is_preferred(accept: str, csv_wanted: bool) -> None:
    from starlette.requests import Request

    request = Request({"type": "http", "headers": [(b"accept", accept.encode())]})
    assert csv_export.wants_csv(request, None) is csv_wanted
