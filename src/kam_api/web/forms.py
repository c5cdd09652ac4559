"""Forms send the API's command objects: a posted form becomes the command's request body
(``schemas.commands.body_model``, the same validation as the JSON API), then the command goes
through the one dispatcher (``deps.dispatch``) as the signed-in user. A refusal comes back in
words a manager understands, to show beside the form; nothing is written.

A form about an existing aggregate carries its version in a hidden ``version`` field: it is
sent as the expected version, so a form opened before someone else's change is refused as
stale instead of overwriting what it did not see.

Every form rendered carries a fresh idempotency key (hidden ``idempotency_key``, from the
``csrf()`` macro): a double submit, or the browser's retry after a lost answer, sends the same
key, so the command is applied once and the repeat gets the first answer
(``kam_domain.idempotency``).
"""

from __future__ import annotations

import re
import types
import typing
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from kam_api.auth import User
from kam_api.deps import dispatch
from kam_api.errors import ApiError
from kam_api.schemas.commands import body_model
from kam_api.web.auth import CSRF_FIELD
from kam_domain.application import CommandResult, KamApplication
from kam_domain.commands import Command
from kam_domain.errors import (
    InvalidValueError,
    KamError,
    NotFoundError,
    RuleViolationError,
    VersionMismatchError,
)
from kam_domain.idempotency import MAX_KEY_LENGTH, IdempotencyKeyReusedError
from kam_domain.values import Envelope

#: The hidden field that carries a form's idempotency key.
IDEMPOTENCY_FIELD = "idempotency_key"
#: Fields of a form that are not the command's.
CONTROL_FIELDS = frozenset({CSRF_FIELD, "version", "next", IDEMPOTENCY_FIELD})
#: A key as the API's Idempotency-Key header takes it.
_KEY = re.compile(rf"^[!-~]{{1,{MAX_KEY_LENGTH}}}$")


@dataclass(frozen=True)
class Refusal:
    """Why a form was not accepted: a sentence, the fields at fault, the HTTP status the page
    answers with, and whether the form was stale (someone changed the aggregate meanwhile)."""

    message: str
    status: int = 409
    fields: dict[str, str] = field(default_factory=dict)
    stale: bool = False
    current_version: int | None = None


class FormRefusedError(Exception):
    """A form that was refused; ``refusal`` says why."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def form_values(form: FormData, model: type[Any]) -> dict[str, Any]:
    """The form's fields as a request body: empty fields left out (the command's default),
    repeated fields (checkboxes, multi-selects) as lists where the command takes a list."""
    values: dict[str, Any] = {}
    fields = getattr(model, "model_fields", {})
    for name in {key for key, _ in form.multi_items()} - CONTROL_FIELDS:
        if name in fields and _is_list(fields[name].annotation):
            items = [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]
            values[name] = items
            continue
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            values[name] = value.strip()
    return values


def expected_version(form: FormData) -> int | None:
    """The version the form was made from (its hidden ``version`` field), if any."""
    raw = form.get("version")
    if not isinstance(raw, str) or not raw.strip():
        return None
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        raise FormRefusedError(
            Refusal("This form is damaged (its version is not a number); reload the page.", 400)
        )
    return int(raw.strip())


def idempotency_key(form: FormData) -> str | None:
    """The form's idempotency key (None for a form without one)."""
    raw = form.get(IDEMPOTENCY_FIELD)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _KEY.match(raw):
        raise FormRefusedError(
            Refusal(
                "This form is damaged (its idempotency key is malformed); reload the page.", 400
            )
        )
    return raw


def submit(
    request: Request,
    user: User,
    command_type: type[Command],
    form: FormData,
    **path: Any,
) -> CommandResult:
    """Builds the command from the form (and the URL's ``path`` ids) and sends it as the user;
    ``FormRefusedError`` with the reason when the form is invalid or the command is refused."""
    model = body_model(command_type)
    try:
        body = model.model_validate(form_values(form, model))
    except ValidationError as error:
        fields = {
            ".".join(str(p) for p in e["loc"]) or "form": str(e["msg"]) for e in error.errors()
        }
        wrong = "; ".join(f"{name.replace('_', ' ')}: {msg}" for name, msg in fields.items())
        raise FormRefusedError(Refusal(f"Please check the form — {wrong}.", 422, fields)) from None
    command = body.to_command(**path)
    return send(
        request,
        user,
        command,
        expected_version(form),
        body.reason,
        body.occurred_on,
        idempotency_key(form),
    )


def send(
    request: Request,
    user: User,
    command: Command,
    version: int | None = None,
    reason: str | None = None,
    occurred_on: datetime | date | None = None,
    key: str | None = None,
) -> CommandResult:
    """Sends a command built by a page (``FormRefusedError`` when refused), once per
    idempotency ``key``."""
    kam: KamApplication = request.app.state.kam
    if isinstance(occurred_on, date) and not isinstance(occurred_on, datetime):
        occurred_on = datetime(occurred_on.year, occurred_on.month, occurred_on.day, tzinfo=UTC)
    correlation = getattr(request.state, "correlation_id", None) or str(uuid.uuid4())
    meta = Envelope(
        actor=user.name,
        occurred_on=occurred_on,
        reason=(reason or "").strip() or None,
        correlation_id=correlation[:100],
    )
    try:
        return dispatch(kam, user, command, meta, version, request.app.state.metrics, key)
    except (KamError, ApiError) as error:
        raise FormRefusedError(explain(error)) from None


def explain(error: Exception) -> Refusal:
    """A refusal in words, with the status the page answers with."""
    if isinstance(error, VersionMismatchError):
        current = error.details.get("current_version")
        return Refusal(
            "Someone changed this since you opened the page, so nothing was saved. "
            "Here is what changed; check it and send the form again.",
            409,
            stale=True,
            current_version=int(current) if current is not None else None,
        )
    if isinstance(error, IdempotencyKeyReusedError):
        return Refusal(
            "This form was already sent with other values, so nothing was saved; "
            "reload the page to send new ones.",
            422,
        )
    if isinstance(error, InvalidValueError):
        message = str(error).removeprefix(f"{error.field}: ")
        return Refusal(
            f"Please check {error.field.replace('_', ' ')}: {message}.",
            422,
            {error.field: message},
        )
    if isinstance(error, NotFoundError):
        return Refusal(f"Not found: {error}.", 404)
    if isinstance(error, RuleViolationError):
        return Refusal(f"Not done: {error}.", 409)
    if isinstance(error, ApiError):
        if error.status == 403:
            return Refusal(f"You may not do this: {error.detail}.", 403)
        return Refusal(error.detail, error.status)
    return Refusal(f"Not done: {error}.", 409)
