"""Corrections over HTTP, on both backends: a stakeholder's title, contact details and
reporting line, a team member's roles. Each needs a reason; the stakeholder view, the history
and the handover report show the corrected values; a refused correction writes nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register
from tests.api.test_audit_api import by_position
from tests.api.test_stakeholders_api import MISSING, head, identify

Auth = dict[str, dict[str, str]]
WHY = "misread from the business card"


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_corrections_show_in_the_view_the_history_and_the_handover_report(
    client: TestClient, auth: Auth, account: str
) -> None:
    mia = auth["mia"]
    boss = identify(client, mia, account, name="Ada Boss", title="CEO")["id"]
    grace = identify(client, mia, account)["id"]
    base = f"/stakeholders/{grace}"

    title = ok(
        client.post(
            f"{base}/title", json={"title": "Chief Procurement Officer", "reason": WHY}, headers=mia
        )
    )
    contact = ok(
        client.post(
            f"{base}/contact-details",
            json={"email": "grace.hopper@acme.example", "phone": None, "reason": "new address"},
            headers=mia,
        )
    )
    line = ok(
        client.post(
            f"{base}/reports-to", json={"reports_to": boss, "reason": "org chart"}, headers=mia
        )
    )

    assert (title["version"], contact["version"], line["version"]) == (2, 3, 4)
    view = client.get(base, headers=auth["audrey"])
    assert view.headers["ETag"] == '"4"'
    state = view.json()
    assert state["title"] == "Chief Procurement Officer"
    assert (state["email"], state["phone"]) == ("grace.hopper@acme.example", None)
    assert state["name"] == "Grace Hopper" and state["personal_notes"] == "Prefers early meetings"
    assert state["reports_to"] == boss
    items = ok(
        client.get(
            f"/accounts/{account}/history",
            params={"min_position": line["position"], "limit": 100},
            headers=auth["audrey"],
        )
    )["items"]
    summaries = [i["summary"] for i in items if i["aggregate_id"] == grace]
    assert f"Title corrected: Chief Procurement Officer — reason: {WHY}" in summaries
    assert "Contact details corrected: email on record, no phone — reason: new address" in summaries
    assert "grace.hopper" not in " ".join(summaries)  # contact details stay out of summaries
    report = ok(
        client.get(
            f"/accounts/{account}/handover-report",
            params={"min_position": line["position"]},
            headers=auth["dora"],
        )
    )
    entry = next(s for s in report["stakeholders"] if s["stakeholder_id"] == grace)
    assert entry["title"] == "Chief Procurement Officer"


def test_a_correction_needs_a_reason_and_a_change_and_refused_ones_write_nothing(
    client: TestClient, auth: Auth, account: str
) -> None:
    mia = auth["mia"]
    grace = identify(client, mia, account)["id"]
    base = f"/stakeholders/{grace}"
    before = head(client)

    assert_problem(
        client.post(f"{base}/title", json={"title": "CFO"}, headers=mia), 409, "reason-required"
    )
    assert_problem(
        client.post(f"{base}/title", json={"title": "CPO", "reason": WHY}, headers=mia),
        409,
        "correction-unchanged",
    )
    assert_problem(
        client.post(
            f"{base}/contact-details",
            json={"email": "grace@acme.example", "phone": "+44 20 7946 0000", "reason": WHY},
            headers=mia,
        ),
        409,
        "correction-unchanged",
    )
    assert_problem(
        client.post(f"{base}/contact-details", json={"email": "no-at", "reason": WHY}, headers=mia),
        422,
    )
    assert_problem(client.post(f"{base}/title", json={"reason": WHY}, headers=mia), 422)
    assert_problem(
        client.post(
            f"/stakeholders/{MISSING}/title", json={"title": "x", "reason": WHY}, headers=mia
        ),
        404,
    )
    assert head(client) == before


def test_the_reporting_line_stays_within_the_account_and_without_cycles(
    client: TestClient, auth: Auth, account: str
) -> None:
    mia = auth["mia"]
    boss = identify(client, mia, account, name="Ada Boss")["id"]
    grace = identify(client, mia, account, reports_to=boss)["id"]
    intern = identify(client, mia, account, name="Ian Tern", reports_to=grace)["id"]
    elsewhere = str(register(client, auth["dora"], "Elsewhere Ltd")["id"])
    stranger = identify(client, auth["dora"], elsewhere, name="Sam Stranger")["id"]
    before = head(client)

    def correct(who: str, to: str | None) -> Any:
        return client.post(
            f"/stakeholders/{who}/reports-to", json={"reports_to": to, "reason": WHY}, headers=mia
        )

    assert_problem(correct(boss, intern), 422)  # boss -> intern -> grace -> boss: a cycle
    assert_problem(correct(boss, boss), 422)
    assert_problem(correct(grace, stranger), 422)
    assert_problem(correct(grace, MISSING), 404)
    assert_problem(correct(grace, boss), 409, "correction-unchanged")
    assert head(client) == before

    assert ok(correct(intern, boss))["version"] == 2
    assert ok(correct(grace, None))["version"] == 2
    assert client.get(f"/stakeholders/{grace}", headers=mia).json()["reports_to"] is None


def test_personal_data_cannot_be_corrected_once_erased(
    client: TestClient, auth: Auth, account: str
) -> None:
    grace = identify(client, auth["mia"], account)["id"]
    ok(
        client.post(
            f"/stakeholders/{grace}/erasure", json={"reason": "asked"}, headers=auth["dora"]
        )
    )
    before = head(client)
    assert_problem(
        client.post(
            f"/stakeholders/{grace}/title",
            json={"title": "CFO", "reason": WHY},
            headers=auth["mia"],
        ),
        409,
        "personal-data-erased",
    )
    assert head(client) == before


def test_a_team_members_roles_change_in_place(client: TestClient, auth: Auth, account: str) -> None:
    mia = auth["mia"]
    ok(
        client.post(
            f"/accounts/{account}/team",
            json={"member": "tom", "roles": ["collaborator", "innovator"]},
            headers=mia,
        )
    )
    roles = f"/accounts/{account}/team/tom/roles"
    before = head(client)
    assert_problem(
        client.post(roles, json={"roles": ["innovator"]}, headers=mia), 409, "reason-required"
    )
    assert_problem(
        client.post(
            roles, json={"roles": ["innovator", "collaborator"], "reason": WHY}, headers=mia
        ),
        409,
        "team-roles-unchanged",
    )
    assert_problem(client.post(roles, json={"roles": [], "reason": WHY}, headers=mia), 422)
    assert_problem(
        client.post(
            f"/accounts/{account}/team/eve/roles",
            json={"roles": ["innovator"], "reason": WHY},
            headers=mia,
        ),
        404,
    )
    assert head(client) == before

    changed = ok(
        client.post(
            roles, json={"roles": ["project_manager"], "reason": "runs the rollout"}, headers=mia
        )
    )

    team = client.get(f"/accounts/{account}", headers=mia).json()["team"]
    assert team == {"tom": ["project_manager"]}
    items = ok(
        client.get(
            f"/accounts/{account}/history",
            params={"min_position": changed["position"], "limit": 100},
            headers=auth["audrey"],
        )
    )["items"]
    assert by_position(items)[changed["position"]]["summary"] == (
        "Team roles of tom changed from collaborator, innovator to project manager — "
        "reason: runs the rollout"
    )


def test_the_corrections_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/stakeholders/{stakeholder_id}/title",
        "/stakeholders/{stakeholder_id}/contact-details",
        "/stakeholders/{stakeholder_id}/reports-to",
        "/accounts/{account_id}/team/{member}/roles",
    ):
        operation = paths[path]["post"]
        assert "reason required" in operation["description"], path
