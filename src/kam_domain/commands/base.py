"""What every command shares: immutable, validated on construction, naming its target.

A command is a request to change one aggregate (or to create one), as data: the JSON API, the
web forms, the CLI, the demo loader and the tests all build the same objects and hand them to
``KamApplication.handle``. Field constraints live here once; the HTTP request bodies are
derived from these classes (``kam_api.schemas.commands``), so a limit cannot differ between
two ways in.

A command that does not validate raises ``CommandValidationError`` (an ``InvalidValueError``,
with every field's message in ``errors``), so callers outside HTTP see a typed domain error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from kam_domain.errors import InvalidValueError


class CommandValidationError(InvalidValueError):
    """A command's fields do not validate; ``errors`` lists each field's problem."""

    def __init__(self, command: str, errors: list[dict[str, Any]]) -> None:
        first = errors[0] if errors else {"loc": (), "msg": "is not valid"}
        field = ".".join(str(part) for part in first.get("loc", ())) or command
        super().__init__(field, str(first.get("msg", "is not valid")))
        self.command = command
        self.errors = errors


class Command(BaseModel):
    """Base of every command. ``path`` names the fields that identify what it acts on (in
    the JSON API they come from the URL, not the body)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="wrap")
    @classmethod
    def _typed_errors(cls, data: Any, handler: Any) -> Any:
        try:
            return handler(data)
        except ValidationError as error:
            raise CommandValidationError(
                cls.__name__, [dict(e) for e in error.errors(include_url=False)]
            ) from None


class AccountCommand(Command):
    """A command on one key account."""

    path: ClassVar[tuple[str, ...]] = ("account_id",)
    account_id: UUID


class PlanCommand(Command):
    """A command on one account plan."""

    path: ClassVar[tuple[str, ...]] = ("plan_id",)
    plan_id: UUID


class StakeholderCommand(Command):
    """A command on one stakeholder relationship."""

    path: ClassVar[tuple[str, ...]] = ("stakeholder_id",)
    stakeholder_id: UUID


def currency_enum(schema: dict[str, Any]) -> None:
    """A currency field's JSON schema lists the ISO 4217 codes (read when the schema is made,
    not at import)."""
    from kam_domain.values import currency_codes

    schema["enum"] = currency_codes()


@dataclass(frozen=True)
class CommandResult:
    """What a command changed: which aggregate, its new version, and the log position."""

    id: UUID
    version: int
    position: int
    entity_id: UUID | None = None
