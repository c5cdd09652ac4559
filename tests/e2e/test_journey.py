"""One key-account journey over a real uvicorn server on PostgreSQL, and 16 clients racing to
change the same accounts (both backends)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx2 as httpx
import pytest
from tests.e2e.conftest import Server

from kam_domain.application import KamApplication
from kam_store.env import library_env
from kam_store.features import store_features


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


CRITERIA = [
    "current_revenue",
    "growth_potential",
    "renewal_likelihood",
    "win_now_grow_later",
    "relative_effort",
    "relationship_strength",
    "fit",
    "logo_attractiveness",
]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_key_account_journey_over_http(server: Server) -> None:
    """The director decides (registers, classifies, scores, assigns the manager); the manager
    does the day-to-day work on the account, and may not reclassify it."""
    today = server.today
    # What the journey does happened before the service's "today" (fixed, and earlier than
    # the machine's date, when every command is recorded): it says when.
    earlier = {"occurred_on": str(today - timedelta(days=30))}
    yesterday = {"occurred_on": str(today - timedelta(days=1))}
    mia = {"Authorization": f"Bearer {server.add_user('mia', 'manager')}"}
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as director:
        account = ok(
            director.post(
                "/accounts",
                json={"name": "Journey Co", "industry": "Energy", "region": "Nordics", **earlier},
            ),
            201,
        )["id"]
        ok(
            director.post(
                f"/accounts/{account}/classification",
                json={"tier": "strategic", "kind": "existing", "rationale": "biggest"},
            )
        )
        ok(director.post(f"/accounts/{account}/criteria", json=dict.fromkeys(CRITERIA, 4)))
        ok(director.post(f"/accounts/{account}/manager", json={"manager": "mia"}))
    with httpx.Client(base_url=server.url, headers=mia, timeout=30) as http:
        refused = http.post(
            f"/accounts/{account}/classification",
            json={"tier": "key", "kind": "existing", "rationale": "mine", "reason": "override"},
        )
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"].endswith("/forbidden")
        ok(
            http.post(
                f"/accounts/{account}/financials",
                json={"period": "2026", "revenue": "2500000", "currency": "EUR"},
            )
        )
        people = {}
        for role in ("decision_maker", "economic_buyer", "champion"):
            people[role] = ok(
                http.post(
                    f"/accounts/{account}/stakeholders",
                    json={
                        "name": f"Person {role}",
                        "buying_role": role,
                        "influence": 4,
                        **earlier,
                    },
                ),
                201,
            )["id"]
        plan = ok(http.post(f"/accounts/{account}/plans", json={"period": "2027"}), 201)["id"]
        objective = ok(
            http.post(
                f"/plans/{plan}/objectives",
                json={
                    "statement": "Grow revenue 10%",
                    "metric": "revenue",
                    "baseline": "2500000",
                    "target": "2750000",
                    "due_on": str(today + timedelta(days=300)),
                },
            ),
            201,
        )["entity_id"]
        late = ok(
            http.post(
                f"/plans/{plan}/actions",
                json={
                    "what": "Send the proposal",
                    "owner": "mia",
                    "due_on": str(today - timedelta(5)),
                    "stakeholder_ids": [people["champion"]],
                    "objective_id": objective,
                    **earlier,
                },
            ),
            201,
        )["entity_id"]
        moved = ok(
            http.post(
                f"/plans/{plan}/actions",
                json={
                    "what": "Run the QBR",
                    "owner": "mia",
                    "due_on": str(today + timedelta(10)),
                    "stakeholder_ids": [],
                    **earlier,
                },
            ),
            201,
        )["entity_id"]
        for role, person in people.items():
            ok(
                http.post(
                    f"/stakeholders/{person}/interactions",
                    json={
                        "kind": "meeting",
                        "on": str(today - timedelta(days=2)),
                        "summary": f"Met the {role}",
                        "sentiment": 1,
                    },
                ),
                201,
            )
        ok(http.post(f"/plans/{plan}/actions/{late}/start", json=yesterday))
        ok(
            http.post(
                f"/plans/{plan}/actions/{late}/complete", json={"outcome": "sent", **yesterday}
            )
        )
        last = ok(
            http.post(
                f"/plans/{plan}/actions/{moved}/reschedule",
                json={
                    "due_on": str(today + timedelta(days=40)),
                    "reason": "customer asked",
                    **yesterday,
                },
            )
        )
        wait = {"min_position": last["position"]}

        portfolio = ok(http.get("/portfolio", params=wait))["items"]
        row = next(r for r in portfolio if r["account_id"] == account)
        assert row["tier"] == "strategic" and row["last_revenue"] == 2500000
        assert row["open_actions"] == 1 and row["overdue_actions"] == 0
        actions = ok(http.get("/actions", params={**wait, "account": account}))["items"]
        assert {a["what"]: a["status"] for a in actions} == {
            "Send the proposal": "completed",
            "Run the QBR": "planned",
        }
        health = ok(http.get(f"/accounts/{account}/health", params=wait))
        assert health["band"] in ("green", "amber") and len(health["components"]) == 6
        assert "no_decision_maker" not in health["flags"]
        plan_state = ok(http.get(f"/plans/{plan}"))
        assert len(plan_state["actions"]) == 2
        state = ok(http.get(f"/accounts/{account}"))
        assert state["tier"] == "strategic" and state["manager"] == "mia"


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_sixteen_clients_racing_on_few_accounts_lose_nothing(
    server: Server, database_url: str
) -> None:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as http:
        accounts = [
            ok(
                http.post("/accounts", json={"name": f"Race {i}", "industry": "x", "region": "y"}),
                201,
            )["id"]
            for i in range(3)
        ]
    accepted: list[tuple[str, str]] = []
    outcomes: list[int] = []
    lock = threading.Lock()

    def client(worker: int) -> None:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as http:
            for i in range(12):
                account = accounts[(worker + i) % len(accounts)]
                note = f"w{worker}-{i}"
                headers = {}
                if i % 3 == 0:  # a conditional write based on what the client last saw
                    headers["If-Match"] = http.get(f"/accounts/{account}").headers["ETag"]
                response = http.post(
                    f"/accounts/{account}/competitors",
                    headers=headers,
                    json={"name": "Globex", "threat": "low", "notes": note},
                )
                with lock:
                    outcomes.append(response.status_code)
                    if response.status_code == 200:
                        accepted.append((account, note))

    threads = [threading.Thread(target=client, args=(w,)) for w in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 16 * 12
    assert set(outcomes) <= {200, 409, 412}, sorted(set(outcomes))
    kam = KamApplication(env=library_env(database_url), store_features=store_features)
    try:
        for account in accounts:
            stored = [e.notes for e in list(kam.events.get(UUID(account)))[1:]]
            expected = [note for a, note in accepted if a == account]
            assert sorted(stored) == sorted(expected)  # every accepted write, nothing else
    finally:
        kam.close()
