"""What the daily forms share (my work, the account's Update tab): sending a posted form as
its command against the version the page showed, waiting until the read models have the
change (the page the browser is sent back to shows it), and, when the form was stale, what
changed since the page was opened (the account's timeline after the log position the page
was made at).

A form names its target's version in a hidden field: ``version`` for the account itself,
``version.<id>`` for each stakeholder or plan a select may pick (so the version follows the
choice without any script); ``seen`` is the event log's head when the page was made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from kam_api.auth import MANAGING_ROLES, Role, User, UserStore
from kam_api.schemas.commands import body_model
from kam_api.web.forms import (
    FormRefusedError,
    Refusal,
    expected_version,
    form_values,
    idempotency_key,
    send,
)
from kam_domain.application import CommandResult, KamApplication
from kam_domain.commands import Command
from kam_domain.errors import KamError
from kam_projections.db import ViewDatabase
from kam_projections.freshness import wait_for_position
from kam_projections.pagination import encode_cursor
from kam_projections.timeline import TimelineFilter, account_timeline

#: What a stale form is told (the list of what changed follows it).
STALE = (
    "Someone changed this account since you opened the page; nothing was saved. "
    "Here is what changed:"
)
#: Fields the command takes as a strict whole number (a form sends text).
WHOLE_NUMBERS = frozenset({"sentiment", "influence", "nps", "csat", "trust", "satisfaction"})
_WHOLE = re.compile(r"^[+-]?\d{1,9}$")
_POSITION = re.compile(r"^\d{1,18}$")
#: The sentiment scale of an interaction, warmest first.
SENTIMENTS = [
    {"id": "2", "label": "+2 warm"},
    {"id": "1", "label": "+1 friendly"},
    {"id": "0", "label": "0 neutral"},
    {"id": "-1", "label": "-1 cool"},
    {"id": "-2", "label": "-2 hostile"},
]
#: The most changes a stale refusal lists (the timeline tab has the rest).
MAX_CHANGES = 50


@dataclass(frozen=True)
class Posted:
    """A refused form, shown again: which form, the values the user entered, why it was
    refused and (when stale) what changed meanwhile."""

    form: str
    values: dict[str, str]
    refusal: Refusal
    changes: list[dict[str, Any]] = field(default_factory=list)

    def error(self, name: str) -> str:
        return self.refusal.fields.get(name, "")


def kam_of(request: Request) -> KamApplication:
    kam: KamApplication = request.app.state.kam
    return kam


def views_of(request: Request) -> ViewDatabase:
    views: ViewDatabase = request.app.state.views
    return views


def _wait_seconds(request: Request) -> float:
    seconds: float = request.app.state.settings.read_wait_seconds
    return seconds


def log_head(request: Request) -> int:
    """The event log's last position: what a page was made from (its forms' ``seen``)."""
    head = kam_of(request).recorder.max_notification_id()
    return int(head or 0)


def managers(request: Request) -> list[str]:
    """The active users who may own actions and take accounts over, by name."""
    users: UserStore = request.app.state.users
    return sorted(
        row.name for row in users.all() if row.active and Role(row.role) in MANAGING_ROLES
    )


def version_of(form: FormData, target: UUID | None = None) -> int | None:
    """The version the page showed of the account (``version``) or of the chosen target
    (``version.<id>``); None when the form names none."""
    raw = form.get("version" if target is None else f"version.{target}")
    return expected_version(FormData([("version", raw)] if isinstance(raw, str) else []))


def chosen_id(form: FormData, name: str, what: str, *, required: bool = True) -> UUID | None:
    """The id a select chose; refused in words when missing or not an id."""
    raw = form.get(name)
    if not isinstance(raw, str) or not raw.strip():
        if not required:
            return None
        raise FormRefusedError(Refusal(f"Please choose {what}.", 422, {name: "choose one"}))
    try:
        return UUID(raw.strip())
    except ValueError:
        raise FormRefusedError(
            Refusal(f"Please choose {what} from the list.", 422, {name: "not one of the list"})
        ) from None


def chosen_action(form: FormData) -> tuple[UUID, UUID]:
    """The plan and action an action select chose (its value is ``plan_id:action_id``)."""
    raw = form.get("action")
    parts = raw.split(":") if isinstance(raw, str) else []
    try:
        plan_id, action_id = (UUID(part.strip()) for part in parts)
    except ValueError:
        raise FormRefusedError(
            Refusal("Please choose an action from the list.", 422, {"action": "choose one"})
        ) from None
    return plan_id, action_id


def submit_form(
    request: Request,
    user: User,
    command_type: type[Command],
    form: FormData,
    version: int | None,
    **path: Any,
) -> CommandResult:
    """Sends the form as ``command_type`` (its other fields ignored) as the user, expecting
    ``version``; waits until the read models have it. ``FormRefusedError`` when refused (a
    stale form with ``STALE`` as its message)."""
    model = body_model(command_type)
    own = set(model.model_fields)
    values = form_values(FormData([(k, v) for k, v in form.multi_items() if k in own]), model)
    for name in WHOLE_NUMBERS & values.keys():
        # The command takes these strictly as numbers; what is not one stays text and is
        # refused by the command's own check, in its words.
        if isinstance(values[name], str) and _WHOLE.match(values[name]):
            values[name] = int(values[name])
    try:
        body = model.model_validate(values)
        command = body.to_command(**path)
    except ValidationError as error:
        fields = {
            ".".join(str(p) for p in e["loc"]) or "form": str(e["msg"]) for e in error.errors()
        }
        wrong = "; ".join(f"{name.replace('_', ' ')}: {msg}" for name, msg in fields.items())
        raise FormRefusedError(Refusal(f"Please check the form — {wrong}.", 422, fields)) from None
    except KamError as error:
        from kam_api.web.forms import explain

        raise FormRefusedError(explain(error)) from None
    try:
        result = send(
            request,
            user,
            command,
            version,
            body.reason,
            body.occurred_on,
            idempotency_key(form),
        )
    except FormRefusedError as refused:
        if refused.refusal.stale:
            raise FormRefusedError(
                Refusal(STALE, 409, stale=True, current_version=refused.refusal.current_version)
            ) from None
        raise
    wait_for_position(views_of(request), result.position, _wait_seconds(request))
    return result


def seen_of(form: FormData) -> int | None:
    raw = form.get("seen")
    if isinstance(raw, str) and _POSITION.match(raw.strip()):
        return int(raw.strip())
    return None


def what_changed(request: Request, account_id: UUID, seen: int | None) -> list[dict[str, Any]]:
    """The account's events after position ``seen`` (oldest first), each with its one-line
    summary; empty when the form did not say what it saw."""
    if seen is None:
        return []
    views = views_of(request)
    wait_for_position(views, log_head(request), _wait_seconds(request))
    page = account_timeline(
        views, TimelineFilter(account_id), limit=MAX_CHANGES, cursor=encode_cursor([seen])
    )
    return list(page.items)


def posted(
    request: Request,
    name: str,
    form: FormData,
    refusal: Refusal,
    account_id: UUID | None,
) -> Posted:
    """The refused form ``name`` as it is shown again (the CSRF token and versions left out:
    the page gives fresh ones)."""
    values = {
        k: v
        for k, v in form.multi_items()
        if isinstance(v, str)
        and k not in ("csrf_token", "version", "seen", "idempotency_key")
        and not k.startswith("version.")
    }
    changes = (
        what_changed(request, account_id, seen_of(form))
        if refusal.stale and account_id is not None
        else []
    )
    return Posted(name, values, refusal, changes)
