"""Re-evaluation effects and the service profile's cadences over HTTP, on both backends, with
"today" fixed by the settings' clock."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register

from kam_api.settings import Settings

Auth = dict[str, dict[str, str]]
TODAY = date(2026, 9, 1)


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """The clock at 1 September 2026; the key tier holds one account."""
    return api_settings.model_copy(update={"today": TODAY, "tier_cap_key": 1})


def post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


def classified(client: TestClient, auth: Auth, name: str, tier: str, **fields: Any) -> str:
    """Given: an account registered on 5 January 2026, classified into ``tier``."""
    account = str(register(client, auth["dora"], name, occurred_on="2026-01-05", **fields)["id"])
    body = {"tier": tier, "kind": "existing", "rationale": "r"}
    post(client, f"/accounts/{account}/classification", body, auth["dora"])
    return account


def portfolio_row(client: TestClient, auth: Auth, account: str, position: int) -> dict[str, Any]:
    page = client.get(f"/portfolio?min_position={position}", headers=auth["vic"]).json()
    return next(r for r in page["items"] if r["account_id"] == account)


def test_a_downgrade_moves_the_account_down_a_tier_and_keeps_the_caps(
    client: TestClient, auth: Auth
) -> None:
    account = classified(client, auth, "Acme", "strategic")
    kam = client.app.state.kam  # type: ignore[attr-defined]

    done = post(
        client,
        f"/accounts/{account}/reevaluations",
        {"decision": "downgrade", "rationale": "growth stalled"},
        auth["dora"],
    )

    state = client.get(f"/accounts/{account}", headers=auth["dora"]).json()
    assert state["tier"] == "key" and state["tier_rationale"] == "growth stalled"
    assert state["last_reevaluation"]["decision"] == "downgrade"
    from kam_domain.values import Tier

    counts = kam.tier_counts()
    assert (counts[Tier.STRATEGIC], counts[Tier.KEY]) == (0, 1)
    row = portfolio_row(client, auth, account, done["position"])
    assert (row["tier"], row["last_reevaluation_decision"]) == ("key", "downgrade")
    assert row["last_reevaluation_on"] is not None


def test_a_downgrade_into_a_full_tier_needs_an_override_reason(
    client: TestClient, auth: Auth
) -> None:
    classified(client, auth, "Globex", "key")  # the key tier's one place is taken
    account = classified(client, auth, "Acme", "strategic")
    kam = client.app.state.kam  # type: ignore[attr-defined]
    before = kam.recorder.max_notification_id()
    body = {"decision": "downgrade", "rationale": "r"}

    refused = client.post(f"/accounts/{account}/reevaluations", json=body, headers=auth["dora"])

    assert assert_problem(refused, 409, "tier-cap-exceeded")["rule"] == "tier-cap-exceeded"
    assert kam.recorder.max_notification_id() == before
    body["reason"] = "board approved the exception"
    post(client, f"/accounts/{account}/reevaluations", body, auth["dora"])
    assert client.get(f"/accounts/{account}", headers=auth["dora"]).json()["tier"] == "key"


@pytest.mark.parametrize(
    ("tier", "body", "status", "slug"),
    [
        (None, {"decision": "downgrade", "rationale": "r"}, 409, "account-not-classified"),
        ("emerging", {"decision": "downgrade", "rationale": "r"}, 409, "no-lower-tier"),
        ("key", {"decision": "downgrade", "rationale": "r", "to_tier": "strategic"}, 422, None),
        ("key", {"decision": "retain", "rationale": "r", "to_tier": "emerging"}, 422, None),
    ],
)
def test_a_downgrade_with_nowhere_to_go_is_refused_and_writes_nothing(
    client: TestClient,
    auth: Auth,
    tier: str | None,
    body: dict[str, Any],
    status: int,
    slug: str | None,
) -> None:
    if tier is None:
        account = str(register(client, auth["dora"])["id"])
    else:
        account = classified(client, auth, "Acme", tier)
    kam = client.app.state.kam  # type: ignore[attr-defined]
    before = kam.recorder.max_notification_id()
    response = client.post(f"/accounts/{account}/reevaluations", json=body, headers=auth["dora"])
    assert_problem(response, status, slug)
    assert kam.recorder.max_notification_id() == before


def test_an_exit_decision_shows_until_the_exit_follows(client: TestClient, auth: Auth) -> None:
    account = classified(client, auth, "Acme", "strategic")
    decided = post(
        client,
        f"/accounts/{account}/reevaluations",
        {"decision": "exit", "rationale": "no growth", "occurred_on": "2026-08-20"},
        auth["dora"],
    )
    state = client.get(f"/accounts/{account}", headers=auth["dora"]).json()
    assert state["exit_decided"] is True and state["exited"] is False
    row = portfolio_row(client, auth, account, decided["position"])
    assert row["exit_decided"] is True
    assert (row["last_reevaluation_decision"], row["last_reevaluation_on"]) == (
        "exit",
        "2026-08-20",
    )

    exited = post(client, f"/accounts/{account}/exit", {"reason": "as decided"}, auth["dora"])

    state = client.get(f"/accounts/{account}", headers=auth["dora"]).json()
    assert (state["exit_decided"], state["exited"]) == (False, True)
    page = client.get(f"/portfolio?min_position={exited['position']}", headers=auth["vic"])
    assert account not in [r["account_id"] for r in page.json()["items"]]


def test_a_reevaluation_falls_due_by_the_service_profile_cadence(
    client: TestClient, auth: Auth
) -> None:
    # Registered 5 January on the standard profile: due 180 days later, 4 July; overdue today.
    account = classified(client, auth, "Acme", "strategic", service_profile="standard")
    state = client.get(f"/accounts/{account}", headers=auth["dora"]).json()
    assert (state["reevaluation_due_on"], state["reevaluation_overdue"]) == ("2026-07-04", True)

    kept = post(
        client,
        f"/accounts/{account}/reevaluations",
        {"decision": "retain", "rationale": "still key", "occurred_on": "2026-08-20"},
        auth["dora"],
    )

    state = client.get(f"/accounts/{account}", headers=auth["dora"]).json()
    assert (state["reevaluation_due_on"], state["reevaluation_overdue"]) == ("2027-02-16", False)
    row = portfolio_row(client, auth, account, kept["position"])
    assert (row["reevaluation_due_on"], row["reevaluation_overdue"]) == ("2027-02-16", False)
    assert row["exit_decided"] is False


def test_an_exited_account_is_never_overdue_for_re_evaluation(
    client: TestClient, auth: Auth
) -> None:
    account = classified(client, auth, "Acme", "strategic", service_profile="standard")
    post(client, f"/accounts/{account}/exit", {"reason": "sold"}, auth["dora"])
    state = client.get(f"/accounts/{account}", headers=auth["dora"]).json()
    assert state["reevaluation_due_on"] == "2026-07-04"
    assert state["reevaluation_overdue"] is False


def test_changing_the_profile_moves_every_cadence(client: TestClient, auth: Auth) -> None:
    account = classified(client, auth, "Acme", "strategic", service_profile="light")
    before = client.get(f"/accounts/{account}", headers=auth["dora"]).json()
    assert before["reevaluation_due_on"] == "2027-01-05"  # light: 365 days
    assessed = post(
        client,
        f"/accounts/{account}/assessments",
        {
            "engagement": "engaged",
            "trust": 4,
            "satisfaction": 4,
            "partner_rating": 8,
            "occurred_on": "2026-07-15",
        },
        auth["dora"],
    )
    health = client.get(
        f"/accounts/{account}/health?min_position={assessed['position']}", headers=auth["vic"]
    ).json()
    assert "review_overdue" not in health["flags"]  # light: reviewed within 90 days

    changed = post(
        client,
        f"/accounts/{account}/service-profile",
        {
            "service_profile": "premium",
            "reason": "now a strategic partner",
            "occurred_on": "2026-08-25",
        },
        auth["dora"],
    )

    state = client.get(f"/accounts/{account}", headers=auth["dora"]).json()
    assert state["service_profile"] == "premium"
    assert (state["reevaluation_due_on"], state["reevaluation_overdue"]) == ("2026-04-05", True)
    row = portfolio_row(client, auth, account, changed["position"])
    assert row["service_profile"] == "premium"
    assert (row["reevaluation_due_on"], row["reevaluation_overdue"]) == ("2026-04-05", True)
    assert row["next_review_due"] == "2026-08-14"  # premium: 30 days after the assessment
    assert row["contact_cadence_days"] == 30
    health = client.get(
        f"/accounts/{account}/health?min_position={changed['position']}", headers=auth["vic"]
    ).json()
    assert "review_overdue" in health["flags"]


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"service_profile": "premium"}, 409, "reason-required"),
        ({"service_profile": "standard", "reason": "r"}, 409, "service-profile-unchanged"),
        ({"service_profile": "gold", "reason": "r"}, 422, None),
    ],
)
def test_a_profile_change_needs_a_reason_and_a_new_profile(
    client: TestClient, auth: Auth, body: dict[str, Any], status: int, slug: str | None
) -> None:
    account = str(register(client, auth["dora"], service_profile="standard")["id"])
    kam = client.app.state.kam  # type: ignore[attr-defined]
    before = kam.recorder.max_notification_id()
    response = client.post(f"/accounts/{account}/service-profile", json=body, headers=auth["dora"])
    assert_problem(response, status, slug)
    assert kam.recorder.max_notification_id() == before


def stakeholder(client: TestClient, auth: Auth, account: str, role: str) -> str:
    # Identified before the fixed "today" (undated, it would be the machine's day, later).
    body = {
        "name": f"Person {role}",
        "buying_role": role,
        "influence": 4,
        "occurred_on": "2026-01-10",
    }
    return str(post(client, f"/accounts/{account}/stakeholders", body, auth["dora"])["id"])


def contact(client: TestClient, auth: Auth, person: str, on: str) -> int:
    body = {"kind": "call", "on": on, "summary": "catch-up", "sentiment": 1}
    return int(post(client, f"/stakeholders/{person}/interactions", body, auth["dora"])["position"])


def test_key_people_out_of_contact_show_per_person_and_per_account(
    client: TestClient, auth: Auth
) -> None:
    account = classified(client, auth, "Acme", "strategic", service_profile="standard")
    decider = stakeholder(client, auth, account, "decision_maker")
    buyer = stakeholder(client, auth, account, "economic_buyer")
    champion = stakeholder(client, auth, account, "champion")
    user = stakeholder(client, auth, account, "user")
    contact(client, auth, decider, "2026-06-01")  # 92 days ago: 32 past a 60-day cadence
    contact(client, auth, buyer, "2026-08-15")  # 17 days ago: within
    contact(client, auth, user, "2025-01-01")  # not a key person
    last = contact(client, auth, decider, "2026-06-20")  # 73 days ago: 13 past

    expected = [
        {
            "stakeholder_id": champion,
            "buying_role": "champion",
            "last_contact_on": None,
            "days_overdue": None,
        },
        {
            "stakeholder_id": decider,
            "buying_role": "decision_maker",
            "last_contact_on": "2026-06-20",
            "days_overdue": 13,
        },
    ]
    row = portfolio_row(client, auth, account, last)
    assert (row["contact_overdue"], row["contact_overdue_count"]) == (True, 2)
    assert row["contacts_overdue"] == expected
    health = client.get(
        f"/accounts/{account}/health?min_position={last}", headers=auth["vic"]
    ).json()
    assert (health["contact_cadence_days"], health["contact_overdue_count"]) == (60, 2)
    assert health["contacts_overdue"] == expected
    listed = client.get("/relationship-health", headers=auth["vic"]).json()["items"]
    assert next(h for h in listed if h["account_id"] == account)["contacts_overdue"] == expected
    # As of 10 August, 20 June was 51 days before: within the cadence then; the buyer's call
    # of 15 August had not happened yet.
    earlier = client.get(
        f"/accounts/{account}/health?as_of=2026-08-10T00:00:00Z", headers=auth["vic"]
    ).json()
    assert {p["stakeholder_id"] for p in earlier["contacts_overdue"]} == {champion, buyer}


def test_a_lighter_profile_clears_the_overdue_contacts(client: TestClient, auth: Auth) -> None:
    account = classified(client, auth, "Acme", "strategic", service_profile="standard")
    decider = stakeholder(client, auth, account, "decision_maker")
    contact(client, auth, decider, "2026-06-20")  # 73 days ago: overdue at 60, not at 90
    changed = post(
        client,
        f"/accounts/{account}/service-profile",
        {"service_profile": "light", "reason": "smaller spend", "occurred_on": "2026-08-25"},
        auth["dora"],
    )
    row = portfolio_row(client, auth, account, changed["position"])
    assert (row["contact_overdue"], row["contacts_overdue"]) == (False, [])
    health = client.get(
        f"/accounts/{account}/health?min_position={changed['position']}", headers=auth["vic"]
    ).json()
    assert (health["contact_cadence_days"], health["contact_overdue"]) == (90, False)
