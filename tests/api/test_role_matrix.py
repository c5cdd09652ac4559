"""The role matrix: every write endpoint x every role. Allowed roles succeed; forbidden ones
answer 403 and write nothing. Each (endpoint, allowed role) gets a fresh world built through
the application service, so one success cannot spoil the next.

Directors and admins decide (classification, criteria, re-evaluation, the manager, cancelling
a handover, exit, registration, exchange rates); managers do the day-to-day work on their
accounts (everything else, handover included); only admins change users and tokens and
webhook subscriptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem

from kam_domain.application import KamApplication
from kam_domain.commands import (
    AddAction,
    AddTeamMember,
    AssignManager,
    BlockAction,
    DraftPlan,
    HandOver,
    IdentifyOpportunity,
    IdentifyStakeholder,
    MakeCommitment,
    RaiseRisk,
    RegisterAccount,
    SetObjective,
)
from kam_domain.values import (
    BuyingRole,
    Envelope,
    OpportunityKind,
    PersonalData,
    ServiceProfile,
    ThreatLevel,
)

DORA = Envelope(actor="dora")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: authorization does not depend on the store, every endpoint is tested on
    both backends in its own module, and this matrix builds ~200 worlds."""
    return f"sqlite:///{tmp_path}/kam.db"


WHY = "because the customer asked"
#: The world's action is due then; commands in the matrix use another fixed day, so nothing
#: here depends on today's date (a reschedule to the action's own due date is refused).
ACTION_DUE = date(2027, 1, 1)
SOON = str(ACTION_DUE + timedelta(days=30))


@dataclass
class World:
    account: UUID
    plan: UUID
    objective: UUID
    opportunity: UUID
    action: UUID
    stakeholder: UUID
    successor: UUID
    commitment: UUID
    risk: UUID


def build_world(kam: KamApplication, n: int) -> World:
    account = kam.handle(
        RegisterAccount(
            name=f"Matrix {n}", industry="x", region="y", service_profile=ServiceProfile.STANDARD
        ),
        meta=DORA,
    ).id
    kam.handle(AssignManager(account_id=account, manager="mia"), meta=DORA)
    plan = kam.handle(DraftPlan(account_id=account, period="2027", title=None), meta=DORA).id
    objective = kam.handle(
        SetObjective(
            plan_id=plan,
            statement="Grow",
            metric="revenue",
            baseline=Decimal(1),
            target=Decimal(2),
            due_on=date(2027, 12, 31),
        ),
        meta=DORA,
    ).entity_id
    opportunity = kam.handle(
        IdentifyOpportunity(
            plan_id=plan,
            kind=OpportunityKind.UPSELL,
            title="Upsell",
            value=Decimal(10),
            probability=50,
        ),
        meta=DORA,
    ).entity_id
    action = kam.handle(
        AddAction(
            plan_id=plan,
            what="Call",
            owner="mia",
            due_on=ACTION_DUE,
            stakeholder_ids=[],
            success_measure=None,
            objective_id=None,
        ),
        meta=DORA,
    ).entity_id
    people = [
        kam.handle(
            IdentifyStakeholder.of(
                account,
                PersonalData(name=f"P{i}"),
                title=None,
                buying_role=BuyingRole.CHAMPION,
                influence=3,
                reports_to=None,
            ),
            meta=DORA,
        ).id
        for i in range(2)
    ]
    commitment = kam.handle(
        MakeCommitment(stakeholder_id=people[0], description="Send roadmap", due_on=None), meta=DORA
    ).entity_id
    risk = kam.handle(
        RaiseRisk(
            account_id=account, title="Budget", severity=ThreatLevel.LOW, revenue_at_risk=None
        ),
        meta=DORA,
    ).entity_id
    assert objective and opportunity and action and commitment and risk
    return World(
        account, plan, objective, opportunity, action, people[0], people[1], commitment, risk
    )


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
# (method, path template, body) — templates use World's field names.
WRITES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "POST",
        "/accounts/{account}/classification",
        {"tier": "key", "kind": "existing", "rationale": "r"},
    ),
    (
        "POST",
        "/accounts/{account}/criteria",
        dict.fromkeys(CRITERIA, 3),
    ),
    ("POST", "/accounts/{account}/manager", {"manager": "mia2", "reason": WHY}),
    ("POST", "/accounts/{account}/handover", {"to": "mia2", "effective_on": SOON, "reason": WHY}),
    ("POST", "/accounts/{account}/handover/acknowledge", {"notes": "read it"}),
    ("POST", "/accounts/{account}/handover/cancel", {"reason": WHY}),
    ("POST", "/accounts/{account}/team", {"member": "tom", "roles": ["collaborator"]}),
    ("POST", "/accounts/{account}/focus", {"penetration": 40, "expansion": 40, "protection": 20}),
    ("POST", "/accounts/{account}/stage", {"to": "research"}),
    (
        "POST",
        "/accounts/{account}/financials",
        {"period": "2026", "revenue": "10", "currency": "EUR"},
    ),
    ("POST", "/accounts/{account}/feedback", {"nps": 8}),
    (
        "POST",
        "/accounts/{account}/assessments",
        {"engagement": "engaged", "trust": 3, "satisfaction": 3, "partner_rating": 6},
    ),
    ("POST", "/accounts/{account}/competitors", {"name": "Globex", "threat": "low"}),
    ("POST", "/accounts/{account}/risks", {"title": "New risk", "severity": "high"}),
    ("POST", "/accounts/{account}/risks/{risk}/mitigation", {"mitigation": "done"}),
    ("POST", "/accounts/{account}/reevaluations", {"decision": "retain", "rationale": "r"}),
    ("POST", "/accounts/{account}/service-profile", {"service_profile": "light", "reason": WHY}),
    ("POST", "/accounts/{account}/exit", {"reason": WHY}),
    ("POST", "/accounts/{account}/plans", {"period": "2028"}),
    ("POST", "/plans/{plan}/direction", {"direction": "Grow", "priorities": ["a"]}),
    ("POST", "/plans/{plan}/sharing", {"agreed": True}),
    (
        "POST",
        "/plans/{plan}/objectives",
        {"statement": "S", "metric": "m", "baseline": "1", "target": "3", "due_on": SOON},
    ),
    ("POST", "/plans/{plan}/objectives/{objective}/progress", {"value": "1.5"}),
    ("POST", "/plans/{plan}/objectives/{objective}/achieve", {}),
    ("POST", "/plans/{plan}/objectives/{objective}/miss", {"reason": WHY}),
    (
        "POST",
        "/plans/{plan}/opportunities",
        {"kind": "renewal", "title": "T", "value": "5", "probability": 20},
    ),
    ("POST", "/plans/{plan}/opportunities/{opportunity}/advance", {"probability": 70}),
    ("POST", "/plans/{plan}/opportunities/{opportunity}/win", {}),
    ("POST", "/plans/{plan}/opportunities/{opportunity}/lose", {"reason": WHY}),
    (
        "POST",
        "/plans/{plan}/actions",
        {"what": "W", "owner": "mia", "due_on": SOON, "stakeholder_ids": []},
    ),
    ("POST", "/plans/{plan}/actions/{action}/start", {}),
    ("POST", "/plans/{plan}/actions/{action}/complete", {"outcome": "done"}),
    ("POST", "/plans/{plan}/actions/{action}/block", {"reason": WHY}),
    ("POST", "/plans/{plan}/actions/{action}/unblock", {}),
    ("POST", "/plans/{plan}/actions/{action}/reschedule", {"due_on": SOON, "reason": WHY}),
    ("POST", "/plans/{plan}/actions/{action}/reassign", {"owner": "tom"}),
    ("POST", "/plans/{plan}/actions/{action}/cancel", {"reason": WHY}),
    ("POST", "/plans/{plan}/research-answers", {"question_id": "needs-01", "answer": "A"}),
    ("POST", "/plans/{plan}/reviews", {"notes": "N", "kpi_status": "on_track"}),
    ("POST", "/plans/{plan}/close", {}),
    (
        "POST",
        "/accounts/{account}/stakeholders",
        {"name": "New", "buying_role": "user", "influence": 2},
    ),
    (
        "POST",
        "/stakeholders/{stakeholder}/disposition",
        {"disposition": "supporter", "reason": WHY},
    ),
    ("POST", "/stakeholders/{stakeholder}/role", {"buying_role": "decision_maker", "influence": 5}),
    ("POST", "/stakeholders/{stakeholder}/owner", {"owner": "tom"}),
    (
        "POST",
        "/stakeholders/{stakeholder}/interactions",
        {"kind": "call", "on": "2026-11-01", "summary": "S", "sentiment": 1},
    ),
    ("POST", "/stakeholders/{stakeholder}/commitments", {"description": "D"}),
    ("POST", "/stakeholders/{stakeholder}/commitments/{commitment}/fulfilment", {}),
    (
        "POST",
        "/stakeholders/{stakeholder}/departure",
        {"left_on": "2026-11-01", "successor_id": "{successor}"},
    ),
    ("POST", "/stakeholders/{stakeholder}/erasure", {"reason": WHY}),
    ("POST", "/stakeholders/{stakeholder}/title", {"title": "CFO", "reason": WHY}),
    (
        "POST",
        "/stakeholders/{stakeholder}/contact-details",
        {"email": "p0@customer.example", "reason": WHY},
    ),
    (
        "POST",
        "/stakeholders/{stakeholder}/reports-to",
        {"reports_to": "{successor}", "reason": WHY},
    ),
    ("DELETE", "/accounts/{account}/team/{member}", {}),
    ("POST", "/exchange-rates", {"currency": "USD", "rate": "0.92", "effective_on": "2026-01-01"}),
    ("POST", "/accounts/{account}/team/{member}/roles", {"roles": ["innovator"], "reason": WHY}),
    ("POST", "/users", {"name": "newbie", "role": "viewer"}),
    ("POST", "/users/{user}/revocation", {}),
    ("POST", "/users/{user}/token", {}),
    ("PUT", "/users/{user}/email", {"email": "tom@example.com"}),
    ("POST", "/webhooks", {"url": "https://crm.example.com/hook"}),
    ("DELETE", "/webhooks/{webhook}", {}),
    ("POST", "/webhooks/{webhook}/replay", {"after": 0}),
]
ALLOWED = ("root", "dora", "mia")  # admin, director, the account's manager
FORBIDDEN = ("max", "audrey", "vic")  # another manager, auditor, viewer
#: The decisions: directors and admins only, refused to the account's own manager too.
DECISIONS = frozenset(
    {
        "/accounts/{account}/classification",
        "/accounts/{account}/criteria",
        "/accounts/{account}/reevaluations",
        "/accounts/{account}/service-profile",
        "/accounts/{account}/manager",
        "/accounts/{account}/exit",
        "/exchange-rates",
        "/accounts/{account}/handover/cancel",
    }
)
DECIDERS = ("root", "dora")  # admin, director
#: Users and tokens: admins only.
USER_WRITES = frozenset(
    {"/users", "/users/{user}/revocation", "/users/{user}/token", "/users/{user}/email"}
)
#: Webhook subscriptions: admins only.
WEBHOOK_WRITES = frozenset({"/webhooks", "/webhooks/{webhook}", "/webhooks/{webhook}/replay"})


def who_may(path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(allowed, forbidden) user names of a write endpoint."""
    if path in DECISIONS:
        return DECIDERS, ("mia", *FORBIDDEN)
    if path in USER_WRITES or path in WEBHOOK_WRITES:
        return ("root",), ("dora", "mia", *FORBIDDEN)
    return ALLOWED, FORBIDDEN


def fill(template: str, world: World, webhook: str = "") -> str:
    values = {k: str(v) for k, v in vars(world).items()}
    values["member"] = values["user"] = "tom"
    values["webhook"] = webhook
    return template.format(**values)


def subscription(client: TestClient) -> str:
    """A webhook subscription to act on (past the log's end: it delivers nothing)."""
    store = client.app.state.webhooks  # type: ignore[attr-defined]
    made = store.create(
        url="https://crm.example.com/hook",
        event_types=[],
        key=b"k" * 32,
        position=2**40,
        actor="root",
        now="2026-01-01T00:00:00+00:00",
        at=0.0,
    )
    return str(made.id)


def request(
    client: TestClient,
    method: str,
    path: str,
    body: dict[str, Any],
    world: World,
    headers: dict[str, str],
) -> Any:
    webhook = subscription(client) if "{webhook}" in path else ""
    concrete = {
        k: fill(v, world) if isinstance(v, str) and "{" in v else v for k, v in body.items()
    }
    if method == "DELETE":
        return client.delete(fill(path, world, webhook), headers=headers)
    return client.request(method, fill(path, world, webhook), json=concrete, headers=headers)


def prepare(kam: KamApplication, method: str, path: str, world: World, actor: str) -> None:
    """What an endpoint needs beyond the basic world, for the user about to call it."""
    from kam_domain.values import KamRole

    if method == "DELETE" or path.endswith("/roles"):
        kam.handle(
            AddTeamMember(account_id=world.account, member="tom", roles=[KamRole.COLLABORATOR]),
            meta=DORA,
        )
    elif path.endswith("/unblock"):
        kam.handle(
            BlockAction(plan_id=world.plan, action_id=world.action),
            meta=Envelope("dora", reason=WHY),
        )
    elif path.endswith("/handover/cancel"):
        kam.handle(
            HandOver(account_id=world.account, to="zed", effective_on=date(2027, 1, 1)),
            meta=Envelope("dora", reason=WHY),
        )
    elif path.endswith("/handover/acknowledge"):
        # Only the incoming manager may acknowledge: hand over to the caller (for forbidden
        # callers, to someone else: they are refused before the rule matters).
        incoming = actor if actor in ALLOWED else "zed"
        why = Envelope("dora", reason=WHY)
        if incoming == "mia":
            kam.handle(AssignManager(account_id=world.account, manager="zed"), meta=why)
        kam.handle(
            HandOver(account_id=world.account, to=incoming, effective_on=date(2027, 1, 1)), meta=why
        )


def test_the_matrix_covers_every_write_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("post", "delete", "put", "patch")
    }
    documented.discard(("POST", "/accounts"))  # registration: directors only, tested below

    def template(path: str) -> str:
        import re

        return re.sub(r"\{[a-z_]+\}", "{}", path)

    covered = {(m, template(p)) for m, p, _ in WRITES}
    missing = {(m, p) for m, p in documented if (m, template(p)) not in covered}
    assert not missing, f"write endpoints missing from the role matrix: {sorted(missing)}"


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_each_write_endpoint_obeys_the_roles(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    allowed, forbidden = who_may(path)
    world = build_world(kam, 0)  # managed by mia: a decision is refused even on her own account
    prepare(kam, method, path, world, "max")
    users = client.app.state.users  # type: ignore[attr-defined]
    for name in forbidden:
        before = kam.recorder.max_notification_id(), len(users.log())
        response = request(client, method, path, body, world, auth[name])
        assert_problem(response, 403, "forbidden")
        assert (kam.recorder.max_notification_id(), len(users.log())) == before, name
    for n, name in enumerate(allowed, start=1):
        fresh = build_world(kam, n)
        prepare(kam, method, path, fresh, name)
        response = request(client, method, path, body, fresh, auth[name])
        assert response.status_code in (200, 201), (name, response.text)


def test_the_decisions_are_the_ones_the_application_keeps_for_directors() -> None:
    from kam_api.auth import DECISIONS as DECISION_COMMANDS

    assert {c.__name__ for c in DECISION_COMMANDS} == {
        "RegisterAccount",
        "ClassifyAccount",
        "ScoreCriteria",
        "ReevaluateAccount",
        "ChangeServiceProfile",
        "AssignManager",
        "CancelHandover",
        "ExitAccount",
        "RecordExchangeRate",
    }


def test_the_openapi_says_who_may_decide(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (*sorted(DECISIONS), "/accounts"):
        openapi_path = path.replace("{account}", "{account_id}")
        description = paths[openapi_path]["post"]["description"]
        assert "directors and admins" in description.lower(), (path, description)


def test_a_manager_is_refused_a_decision_before_the_body_or_the_account_is_looked_at(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    """The decision routes take the director role: a manager gets 403, not 422 for a bad body
    nor 404 for an unknown account."""
    unknown = "00000000-0000-4000-8000-000000000000"
    for path in sorted(DECISIONS):
        response = client.post(
            path.format(account=unknown), json={"nonsense": True}, headers=auth["mia"]
        )
        assert_problem(response, 403, "forbidden")


def test_a_manager_cannot_send_a_decision_by_any_route(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    """The rule is in the command check every endpoint sends through (``deps.authorize``),
    not only in the routes' role dependency."""
    from kam_api.auth import Role, User
    from kam_api.deps import authorize
    from kam_api.errors import ForbiddenError
    from kam_domain.commands import (
        CancelHandover,
        ChangeServiceProfile,
        ClassifyAccount,
        ExitAccount,
        RecordExchangeRate,
        ReevaluateAccount,
        ScoreCriteria,
    )
    from kam_domain.values import AccountKind, KamRole, ReevaluationDecision, ServiceProfile, Tier

    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    world = build_world(kam, 0)
    mia = User("mia", Role.MANAGER)
    decisions = [
        ClassifyAccount(
            account_id=world.account, tier=Tier.STRATEGIC, kind=AccountKind.EXISTING, rationale="r"
        ),
        ScoreCriteria(account_id=world.account, **dict.fromkeys(CRITERIA, 5)),
        ReevaluateAccount(
            account_id=world.account, decision=ReevaluationDecision.RETAIN, rationale="r"
        ),
        ChangeServiceProfile(account_id=world.account, service_profile=ServiceProfile.LIGHT),
        AssignManager(account_id=world.account, manager="max"),
        CancelHandover(account_id=world.account),
        ExitAccount(account_id=world.account),
        RecordExchangeRate(currency="USD", rate=Decimal("0.9"), effective_on=date(2026, 1, 1)),
    ]
    for command in decisions:
        with pytest.raises(ForbiddenError):
            authorize(kam, mia, command)
        authorize(kam, User("dora", Role.DIRECTOR), command)
        authorize(kam, User("root", Role.ADMIN), command)
    # Her day-to-day work on her account is still hers.
    authorize(
        kam,
        mia,
        AddTeamMember(account_id=world.account, member="tom", roles=[KamRole.COLLABORATOR]),
    )


def test_only_directors_and_admins_register_accounts(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    for name, status in (
        ("root", 201),
        ("dora", 201),
        ("mia", 403),
        ("max", 403),
        ("audrey", 403),
        ("vic", 403),
    ):
        response = client.post(
            "/accounts",
            json={"name": f"Reg {name}", "industry": "x", "region": "y"},
            headers=auth[name],
        )
        assert response.status_code == status, (name, response.text)


#: Read endpoints open to fewer roles than "everyone authenticated", with who may read them.
#: A subject-access request answers everything held about a person, the relationship's whole
#: history included: the audience of the event log (``/events``), not managers or viewers.
RESTRICTED_READS: list[tuple[str, frozenset[str]]] = [
    ("/stakeholders/{stakeholder}/personal-data", frozenset({"root", "dora", "audrey"})),
    # Another manager's digest: directors and admins (and mia, whose own it is).
    ("/me/digest?manager=mia", frozenset({"root", "dora", "mia"})),
    ("/webhooks", frozenset({"root"})),
]


@pytest.mark.parametrize(
    ("path", "readers"), RESTRICTED_READS, ids=[p for p, _ in RESTRICTED_READS]
)
def test_each_restricted_read_obeys_the_roles(
    client: TestClient, auth: dict[str, dict[str, str]], path: str, readers: frozenset[str]
) -> None:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    world = build_world(kam, 0)
    for name in (*ALLOWED, *FORBIDDEN):
        response = client.get(fill(path, world), headers=auth[name])
        if name in readers:
            assert response.status_code == 200, (name, response.text)
        else:
            assert_problem(response, 403, "forbidden")


#: Read endpoints every signed-in role may read (and nobody without a token).
EVERYONE_READS = [
    "/research-questions",
    "/research-questions?category=needs",
    "/research-questions/needs-01",
    "/me/digest",  # each user's own
]


@pytest.mark.parametrize("path", EVERYONE_READS)
def test_each_open_read_is_read_by_every_role(
    client: TestClient, auth: dict[str, dict[str, str]], path: str
) -> None:
    for name in (*ALLOWED, *FORBIDDEN):
        response = client.get(path, headers=auth[name])
        assert response.status_code == 200, (name, response.text)
    assert_problem(client.get(path), 401, "unauthorized")


#: Read endpoints with a narrower audience than "every signed-in user": the event log and the
#: ledger (admin, director, auditor).
LOG_READS = [
    "/events",
    "/ledger/checkpoint",
    "/ledger/public-key",
    "/ledger/proofs/inclusion?position=1",
    "/ledger/proofs/consistency?from=1&to=1",
]


@pytest.mark.parametrize("path", LOG_READS)
def test_the_log_and_the_ledger_are_read_by_auditors_directors_and_admins(
    client: TestClient, auth: dict[str, dict[str, str]], path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kam_store.checkpoint import SigningKey

    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    build_world(kam, 0)
    ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
    monkeypatch.setattr(ledger, "key", SigningKey.generate("kam-ledger.dev/log"))
    for name in ("root", "dora", "audrey"):
        response = client.get(path, headers=auth[name])
        assert response.status_code == 200, (name, response.text)
    for name in ("mia", "max", "vic"):
        assert_problem(client.get(path, headers=auth[name]), 403, "forbidden")
