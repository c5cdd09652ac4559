"""Small accounts for the tests of my work and the daily forms, seeded through the domain's
commands (as dora), and helpers to read a page's forms and the account's history."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from kam_domain.commands import (
    AddAction,
    AssignManager,
    Command,
    DraftPlan,
    IdentifyStakeholder,
    RegisterAccount,
)
from kam_domain.values import BuyingRole, Envelope
from kam_projections.freshness import wait_for_position
from kam_projections.timeline import TimelineFilter, account_timeline

#: The day the tests of these pages run on (the settings' clock).
TODAY = date(2026, 3, 10)
#: When the seeded accounts were registered (before TODAY, so every date of the tests fits).
REGISTERED = datetime(2026, 1, 5, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"


@dataclass(frozen=True)
class Seeded:
    account_id: UUID
    stakeholder_id: UUID
    other_id: UUID
    plan_id: UUID
    overdue_id: UUID
    soon_id: UUID
    later_id: UUID


def state(web: TestClient) -> Any:
    return web.app.state  # type: ignore[attr-defined]


def handle(web: TestClient, command: Command, actor: str = "dora", **meta: Any) -> Any:
    """Sends the command as ``actor`` and waits until the read models have it."""
    result = state(web).kam.handle(command, meta=Envelope(actor=actor, **meta))
    assert wait_for_position(state(web).views, result.position, 10)
    return result


def seed_account(
    web: TestClient,
    name: str = "Acme Industrial",
    manager: str = "mia",
    *,
    what: str = "Run the retrofit workshop",
    person: str = "Grace Hopper",
) -> Seeded:
    """An account managed by ``manager`` with two key people (never contacted), an open plan
    and three actions owned by the manager: 3 days overdue, due in 5 days, due in 30 days."""
    account = handle(
        web,
        RegisterAccount(name=name, industry="Manufacturing", region="EMEA"),
        occurred_on=REGISTERED,
    ).id
    handle(web, AssignManager(account_id=account, manager=manager))
    people = [
        handle(
            web,
            IdentifyStakeholder(
                account_id=account,
                name=who,
                title=title,
                buying_role=role,
                influence=4,
            ),
        ).id
        for who, title, role in [
            (person, "Chief Procurement Officer", BuyingRole.ECONOMIC_BUYER),
            ("Alan Turing", "Plant manager", BuyingRole.CHAMPION),
        ]
    ]
    plan = handle(web, DraftPlan(account_id=account, period="2026", title="Grow the plants")).id
    actions = [
        handle(
            web,
            AddAction(plan_id=plan, what=text, owner=manager, due_on=TODAY + timedelta(days=d)),
        ).entity_id
        for text, d in [(what, -3), ("Send the pilot proposal", 5), ("Plan the QBR", 30)]
    ]
    return Seeded(account, people[0], people[1], plan, *actions)


_FORM = re.compile(r'<form\b[^>]*\baction="([^"]+)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields (CSRF token, versions, seen) of the page's form posting to
    ``action``: what a browser would send with what the user fills in."""
    for found in _FORM.finditer(html):
        if unescape(found.group(1)) == action:
            return {name: unescape(value) for name, value in _HIDDEN.findall(found.group(2))}
    raise AssertionError(f"no form posting to {action}")


def post(client: TestClient, page: str, target: str, fields: dict[str, str]) -> Any:
    """Opens ``page`` and posts its form to ``target`` with ``fields`` (as a browser
    would)."""
    opened = client.get(page)
    assert opened.status_code == 200, opened.text
    return client.post(target, data={**hidden_fields(opened.text, target), **fields})


def history(web: TestClient, account_id: UUID) -> list[dict[str, Any]]:
    """The account's events (timeline read model), once the read models have the log."""
    head = state(web).kam.recorder.max_notification_id() or 0
    assert wait_for_position(state(web).views, head, 10)
    page = account_timeline(state(web).views, TimelineFilter(account_id), limit=500)
    return list(page.items)


def log_head(web: TestClient) -> int:
    return int(state(web).kam.recorder.max_notification_id() or 0)
