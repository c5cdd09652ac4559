"""What the record says is right, over HTTP as a new user meets it (issue 11: items 1, 5, 6 and
7 together): when things happened, people who are real, who may decide, and what the handover
report tells the incoming manager.

The server's today is the day the test runs (set through KAM_TODAY, like every clock a test
sets): commands sent without `occurred_on` are dated by when they were recorded, which is the
machine's clock, and the story checks that those dates and "today" agree.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from tests.e2e.conftest import Server
from tests.e2e.test_journey import CRITERIA, ok

RUN_DAY = datetime.now(UTC).date()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.today(RUN_DAY)
@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_the_record_of_an_account_handed_over_is_dated_peopled_decided_and_reported(
    server: Server,
) -> None:
    today = server.today
    mia = {"Authorization": f"Bearer {server.add_user('mia', 'manager')}"}
    nora = {"Authorization": f"Bearer {server.add_user('nora', 'manager')}"}
    with (
        httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as director,
        httpx.Client(base_url=server.url, headers=mia, timeout=30) as outgoing,
        httpx.Client(base_url=server.url, headers=nora, timeout=30) as incoming,
    ):
        # --- Item 6: the director decides; item 5: only real people manage accounts.
        account = ok(
            director.post(
                "/accounts", json={"name": "Record Co", "industry": "Energy", "region": "Nordics"}
            ),
            201,
        )["id"]
        base = f"/accounts/{account}"
        ghost = problem(director.post(f"{base}/manager", json={"manager": "ghost"}), 422)
        assert "manager" in str(ghost)
        ok(director.post(f"{base}/manager", json={"manager": "mia"}))
        decisions = {
            "classification": {"tier": "strategic", "kind": "existing", "rationale": "biggest"},
            "criteria": dict.fromkeys(CRITERIA, 4),
            "reevaluations": {"decision": "retain", "rationale": "still strategic"},
            "manager": {"manager": "nora", "reason": "a friend"},
            "exit": {"reason": "mine to close"},
        }
        for path, body in decisions.items():
            refused = problem(outgoing.post(f"{base}/{path}", json=body), 403)
            assert refused["type"].endswith("/forbidden"), (path, refused)
        ok(director.post(f"{base}/classification", json=decisions["classification"]))
        ok(director.post(f"{base}/criteria", json=decisions["criteria"]))

        # --- The day-to-day work of the outgoing manager, sent without `occurred_on`.
        ok(outgoing.post(f"{base}/team", json={"member": "mia", "roles": ["relationship_leader"]}))
        people = {}
        for role in ("decision_maker", "champion"):
            people[role] = ok(
                outgoing.post(
                    f"{base}/stakeholders",
                    json={"name": f"Person {role}", "buying_role": role, "influence": 4},
                ),
                201,
            )["id"]
        champion = people["champion"]
        problem(outgoing.post(f"/stakeholders/{champion}/owner", json={"owner": "ghost"}), 422)
        ok(outgoing.post(f"/stakeholders/{champion}/owner", json={"owner": "mia"}))
        met_on = today - timedelta(days=20)
        ok(
            outgoing.post(
                f"/stakeholders/{champion}/interactions",
                json={"kind": "meeting", "on": str(met_on), "summary": "Met", "sentiment": 1},
            ),
            201,
        )
        assessed = ok(
            outgoing.post(
                f"{base}/assessments",
                json={
                    "engagement": "engaged",
                    "trust": 4,
                    "satisfaction": 4,
                    "partner_rating": 8,
                },
            )
        )

        # --- Item 1: every fact has its date: the command's own, else when it was recorded.
        state = ok(outgoing.get(base))
        assert [t["manager"] for t in state["manager_history"]] == ["mia"]
        assert state["manager_history"][0]["since"] == str(today)
        assert state["latest_assessment"]["occurred_on"] is not None
        assert state["latest_assessment"]["occurred_on"][:10] == str(today)
        on_the_day = ok(
            outgoing.get(
                f"{base}/history",
                params={
                    "from": str(met_on),
                    "to": str(met_on + timedelta(days=1)),
                    "min_position": assessed["position"],
                },
            )
        )["items"]
        assert [e["type"] for e in on_the_day] == ["InteractionLogged"], on_the_day

        # --- Item 5: a handover to nobody real is refused; one to a colleague waits for them,
        # and a director may cancel it; the outgoing manager leaves the team.
        handover = {"effective_on": str(today), "reason": "mia moves to APAC"}
        problem(outgoing.post(f"{base}/handover", json={**handover, "to": "another ghost"}), 422)
        ok(outgoing.post(f"{base}/handover", json={**handover, "to": "nora"}))
        problem(director.post(f"{base}/handover/acknowledge", json={}), 409)
        problem(outgoing.post(f"{base}/handover/cancel", json={"reason": "no"}), 403)
        ok(director.post(f"{base}/handover/cancel", json={"reason": "nora is on leave"}))
        back = ok(director.get(base))
        assert back["manager"] == "mia" and back["pending_handover"] is None
        assert "mia" in back["team"]
        ok(outgoing.post(f"{base}/handover", json={**handover, "to": "nora"}))
        last = ok(incoming.post(f"{base}/handover/acknowledge", json={"notes": "taken over"}))
        after = ok(incoming.get(base))
        assert after["manager"] == "nora" and "mia" not in after["team"]
        assert "relationship_leader" in after["uncovered_roles"]

        # --- Item 7: the handover report, read by the incoming manager.
        wait = {"min_position": last["position"]}
        report = ok(incoming.get(f"{base}/handover-report", params=wait))
        facts = report["handover"]
        assert (facts["from_manager"], facts["to_manager"]) == ("mia", "nora")
        assert facts["effective_on"] == str(today) and facts["reason"] == "mia moves to APAC"
        assert facts["acknowledged_by"] == "nora" and facts["acknowledged_at"] is not None
        assert report["team"]["members"] == []
        assert "relationship_leader" in report["team"]["uncovered_roles"]
        owned = {s["stakeholder_id"]: s for s in report["stakeholders"]}
        assert owned[champion]["relationship_owner"] == "mia"
        assert owned[champion]["reassign"] is True
        assert owned[champion]["last_contact_on"] == str(met_on)
        assert report["first_week"]["relationships_to_reassign"] == 1
        assert report["first_week"]["meet"], report["first_week"]
        gaps = {g["code"] for g in report["gaps"]}
        assert "no_recent_assessment" not in gaps, gaps
        recent = [e["occurred_at"][:10] for e in report["recent"]["interactions"]]
        assert recent == [str(met_on)], report["recent"]["interactions"]

        markdown = incoming.get(f"{base}/handover-report", params={**wait, "format": "markdown"})
        assert markdown.status_code == 200
        assert "No formal relationship assessment" not in markdown.text
        assert "InteractionLogged" not in markdown.text and "Relationship." not in markdown.text
        html = incoming.get(f"{base}/handover-report", params={**wait, "format": "html"}).text
        links = set(re.findall(r'href="([^"#]+)"', html))
        assert links, "the report links its sources"
        for link in links:
            assert link.startswith(server.url), link
            assert "/events" not in link and not link.startswith("file:"), link
            assert incoming.get(link).status_code == 200, link

    assert isinstance(today, date)
