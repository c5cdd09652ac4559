"""GET /accounts/{id}/changes over HTTP on both backends: a scripted review period yields the
exact expected diff, each change with the events that caused it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register

Auth = dict[str, dict[str, str]]
MISSING = "00000000-0000-4000-8000-000000000000"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class Story:
    """Commands through HTTP, remembering the last position for ``min_position``."""

    def __init__(self, client: TestClient, auth: Auth) -> None:
        self.client, self.auth, self.last = client, auth, 0

    def post(self, path: str, body: dict[str, Any], user: str = "mia", status: int = 200) -> Any:
        result = ok(self.client.post(path, json=body, headers=self.auth[user]), status)
        self.last = max(self.last, result["position"])
        return result

    def history(self, account: str) -> list[dict[str, Any]]:
        page = ok(
            self.client.get(
                f"/accounts/{account}/history",
                params={"min_position": self.last, "limit": 100},
                headers=self.auth["audrey"],
            )
        )
        assert page["next_cursor"] is None
        return list(page["items"])

    def changes(self, account: str, user: str = "audrey", **params: Any) -> Any:
        return self.client.get(
            f"/accounts/{account}/changes",
            params={"min_position": self.last, **params},
            headers=self.auth[user],
        )


@pytest.fixture
def story(client: TestClient, auth: Auth) -> Story:
    return Story(client, auth)


@pytest.fixture
def review(story: Story) -> dict[str, Any]:
    """An account with a plan and a stakeholder (before T1), a review period of changes
    (T1, T2], and one more change after T2."""
    t0 = datetime.now(UTC) - timedelta(milliseconds=1)
    account = register(story.client, story.auth["dora"])["id"]
    story.last = story.post(f"/accounts/{account}/manager", {"manager": "mia"}, "dora")["position"]
    story.post(
        f"/accounts/{account}/classification",
        {"tier": "key", "kind": "existing", "rationale": "Solid customer"},
        "dora",  # directors decide the tier
    )
    grace = story.post(
        f"/accounts/{account}/stakeholders",
        {
            "name": "Grace Hopper",
            "email": "grace@acme.example",
            "title": "CPO",
            "buying_role": "economic_buyer",
            "influence": 4,
        },
        status=201,
    )["id"]
    plan = story.post(f"/accounts/{account}/plans", {"period": "2027", "title": "Grow"}, status=201)
    plan_id = plan["id"]
    objective = story.post(
        f"/plans/{plan_id}/objectives",
        {
            "statement": "Grow revenue by 20 %",
            "metric": "revenue (EUR k)",
            "baseline": "1000",
            "target": "1200",
            "due_on": "2027-12-31",
        },
        status=201,
    )["entity_id"]
    action = story.post(
        f"/plans/{plan_id}/actions",
        {"what": "Retrofit workshop", "owner": "mia", "due_on": "2027-03-31"},
        status=201,
    )["entity_id"]
    t1 = story.history(account)[-1]["recorded_at"]

    story.post(
        f"/accounts/{account}/classification",
        {"tier": "strategic", "kind": "existing", "rationale": "Renewal due"},
        "dora",  # directors decide the tier
    )
    risk = story.post(
        f"/accounts/{account}/risks",
        {"title": "Budget freeze", "severity": "high", "revenue_at_risk": "50000"},
        status=201,
    )["entity_id"]
    story.post(f"/accounts/{account}/risks/{risk}/mitigation", {"mitigation": "CFO sponsor"})
    story.post(
        f"/plans/{plan_id}/actions/{action}/reschedule",
        {"due_on": "2027-04-30", "reason": "Plant manager on leave"},
    )
    story.post(
        f"/stakeholders/{grace}/disposition",
        {"disposition": "supporter", "reason": "Backed the renewal"},
    )
    alan = story.post(
        f"/accounts/{account}/stakeholders",
        {"name": "Alan Turing", "title": "CTO", "buying_role": "technical_buyer", "influence": 3},
        status=201,
    )["id"]
    story.post(
        f"/accounts/{account}/financials",
        {"period": "2026", "revenue": "1200000", "gross_margin": "0.31", "currency": "EUR"},
    )
    in_range = story.history(account)
    t2 = in_range[-1]["recorded_at"]

    story.post(f"/accounts/{account}/stage", {"to": "research"}, "dora")
    return {
        "t0": t0.isoformat(),
        "t1": t1,
        "t2": t2,
        "account": account,
        "plan": plan_id,
        "objective": objective,
        "action": action,
        "risk": risk,
        "grace": grace,
        "alan": alan,
        "history": in_range,
    }


def caused_by(history: list[dict[str, Any]], *types: str, aggregate: str) -> list[dict[str, Any]]:
    """The history entries of one aggregate of these types, as a change lists its events."""
    keys = ("position", "type", "actor", "recorded_at", "summary")
    return [
        {k: e[k] for k in keys}
        for e in history
        if e["aggregate_id"] == aggregate and e["type"] in types
    ]


def test_a_review_period_yields_the_exact_diff_with_the_events_behind_each_change(
    story: Story, review: dict[str, Any]
) -> None:
    account, history = review["account"], review["history"]
    body = ok(story.changes(account, **{"from": review["t1"], "to": review["t2"]}))
    t1 = datetime.fromisoformat(review["t1"])
    in_range = [e for e in history if datetime.fromisoformat(e["recorded_at"]) > t1]
    assert body["account_id"] == account
    assert body["event_count"] == len(in_range) == 7

    def event(*types: str, of: str) -> list[dict[str, Any]]:
        return caused_by(in_range, *types, aggregate=of)

    alan = ok(story.client.get(f"/stakeholders/{review['alan']}", headers=story.auth["audrey"]))
    account_change = {"aggregate_type": "KeyAccount", "aggregate_id": account}
    account_change["label"] = "Acme Industrial"
    assert body["changes"] == [
        {
            **account_change,
            "path": "tier",
            "change": "changed",
            "before": "key",
            "after": "strategic",
            "events": event("Classified", of=account),
        },
        {
            **account_change,
            "path": "tier_rationale",
            "change": "changed",
            "before": "Solid customer",
            "after": "Renewal due",
            "events": event("Classified", of=account),
        },
        {
            **account_change,
            "path": f"risks[{review['risk']}]",
            "change": "added",
            "before": None,
            "after": {
                "risk_id": review["risk"],
                "title": "Budget freeze",
                "severity": "high",
                "revenue_at_risk": "50000",
                "mitigation": "CFO sponsor",
            },
            "events": event("RiskRaised", "RiskMitigated", of=account),
        },
        {
            **account_change,
            "path": "financials.2026",
            "change": "added",
            "before": None,
            "after": {
                "period": "2026",
                "revenue": "1200000",
                "gross_margin": "0.31",
                "revenue_target": None,
                "currency": "EUR",
            },
            "events": event("FinancialsRecorded", of=account),
        },
        {
            "aggregate_type": "AccountPlan",
            "aggregate_id": review["plan"],
            "label": "2027: Grow",
            "path": f"actions[{review['action']}].due_on",
            "change": "changed",
            "before": "2027-03-31",
            "after": "2027-04-30",
            "events": event("ActionRescheduled", of=review["plan"]),
        },
        {
            "aggregate_type": "Relationship",
            "aggregate_id": review["grace"],
            "label": "CPO: Grace Hopper",
            "path": "disposition",
            "change": "changed",
            "before": "neutral",
            "after": "supporter",
            "events": event("DispositionChanged", of=review["grace"]),
        },
        {
            "aggregate_type": "Relationship",
            "aggregate_id": review["alan"],
            "label": "CTO: Alan Turing",
            "path": "",
            "change": "added",
            "before": None,
            "after": alan,
            "events": event("Identified", of=review["alan"]),
        },
    ]
    # Ordered as the contract says, and every event of the range explains some change.
    positions = [e["position"] for c in body["changes"] for e in c["events"]]
    assert set(positions) == {e["position"] for e in in_range}


def test_from_before_registration_everything_is_added_as_it_stands(
    story: Story, review: dict[str, Any]
) -> None:
    account = review["account"]
    body = ok(story.changes(account, **{"from": review["t0"]}))  # to: now
    history = story.history(account)
    assert body["event_count"] == len(history)
    audrey = story.auth["audrey"]
    views = {
        review["account"]: ok(story.client.get(f"/accounts/{account}", headers=audrey)),
        review["plan"]: ok(story.client.get(f"/plans/{review['plan']}", headers=audrey)),
        review["grace"]: ok(story.client.get(f"/stakeholders/{review['grace']}", headers=audrey)),
        review["alan"]: ok(story.client.get(f"/stakeholders/{review['alan']}", headers=audrey)),
    }
    assert [(c["aggregate_id"], c["path"], c["change"]) for c in body["changes"]] == [
        (aggregate, "", "added") for aggregate in views
    ]
    # Whether the re-evaluation is overdue depends on the day it is read, not on the events:
    # the diff leaves it null.
    views[review["account"]]["reevaluation_overdue"] = None
    for change in body["changes"]:
        aggregate = change["aggregate_id"]
        assert change["before"] is None and change["after"] == views[aggregate]
        every = {e["type"] for e in history if e["aggregate_id"] == aggregate}
        assert change["events"] == caused_by(history, *every, aggregate=aggregate)
    labels = [c["label"] for c in body["changes"]]
    assert labels == ["Acme Industrial", "2027: Grow", "CPO: Grace Hopper", "CTO: Alan Turing"]
    assert datetime.fromisoformat(body["to"]) > datetime.fromisoformat(review["t2"])


def test_a_change_undone_within_the_range_is_no_change(
    story: Story, review: dict[str, Any]
) -> None:
    grace, account = review["grace"], review["account"]
    since = review["t2"]
    story.post(f"/stakeholders/{grace}/disposition", {"disposition": "neutral", "reason": "Cooled"})
    story.post(f"/stakeholders/{grace}/disposition", {"disposition": "supporter", "reason": "Won"})
    body = ok(story.changes(account, **{"from": since}))
    assert body["event_count"] == 3  # the stage after T2 and the two dispositions
    assert [(c["aggregate_type"], c["path"]) for c in body["changes"]] == [("KeyAccount", "stage")]


def test_an_erased_stakeholder_name_never_shows_again(story: Story, review: dict[str, Any]) -> None:
    grace, account = review["grace"], review["account"]
    story.post(f"/stakeholders/{grace}/erasure", {"reason": "Erasure request"})
    for since in (review["t0"], review["t1"]):
        body = ok(story.changes(account, **{"from": since}))
        assert "Grace Hopper" not in json.dumps(body) and "grace@" not in json.dumps(body)
    body = ok(story.changes(account, **{"from": review["t1"]}))
    grace_changes = [c for c in body["changes"] if c["aggregate_id"] == grace]
    # The title is the person's data too: erased with the rest, so it labels nothing.
    assert {c["label"] for c in grace_changes} == {"(erased)"}
    assert "CPO" not in json.dumps(body)
    assert [(c["path"], c["before"], c["after"]) for c in grace_changes] == [
        ("disposition", "neutral", "supporter"),
        ("title", "(erased)", None),
        ("erased", False, True),
    ]


def test_bad_ranges_unknown_accounts_viewers_and_malformed_instants_are_refused(
    story: Story, review: dict[str, Any]
) -> None:
    account = review["account"]
    assert_problem(story.changes(account, **{"from": review["t2"], "to": review["t2"]}), 400)
    assert_problem(story.changes(account, **{"from": review["t2"], "to": review["t1"]}), 400)
    assert_problem(story.changes(account, **{"from": "2999-01-01"}), 400, "bad-range")
    assert_problem(story.changes(MISSING, **{"from": review["t0"]}), 404, "not-found")
    assert_problem(story.changes(account, "vic", **{"from": review["t0"]}), 403, "forbidden")
    assert_problem(story.changes(account, **{"from": "last tuesday"}), 422, "validation")
    assert_problem(story.changes(account, **{"from": review["t0"], "to": "2026-13-01"}), 422)
    assert_problem(story.changes(account), 422, "validation")  # from is required
    # Naive instants are UTC; a manager reads as well as an auditor.
    naive = datetime.fromisoformat(review["t1"]).astimezone(UTC).replace(tzinfo=None)
    by_mia = ok(story.changes(account, "mia", **{"from": naive.isoformat(), "to": review["t2"]}))
    assert by_mia["event_count"] == 7
    # Instants at the ends of the calendar are fine bounds, not overflows.
    extremes = {"from": "0001-01-01T00:00:00+05:00", "to": "9999-12-31T23:59:59-05:00"}
    assert ok(story.changes(account, **extremes))["event_count"] == len(story.history(account))
