"""Request bodies of commands, derived from the domain's command classes.

``Body[ClassifyAccount]`` is the JSON body of ``POST /accounts/{id}/classification``: the
command's fields without those the URL names (``ClassifyAccount.path``), plus the envelope
fields every command accepts (``reason``, ``occurred_on``), unknown fields refused. Constraints,
docstring and examples come from the command class, so the API and every other way in validate
alike. ``body.to_command(account_id=...)`` completes it into the command.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

from kam_domain.commands import Command
from kam_domain.values import REASON_MAX_LENGTH

C = TypeVar("C", bound=Command, covariant=True)


class EnvelopeFields(BaseModel):
    """Optional fields every command accepts: why, and when it happened in the world."""

    reason: str | None = Field(
        None,
        max_length=REASON_MAX_LENGTH,
        description=f"Why (kept for ever in the log): at most {REASON_MAX_LENGTH} characters",
    )
    occurred_on: datetime | date | None = Field(
        None,
        description="When it happened in the world (default: when it is recorded; a "
        "command's own date, such as an interaction's `on`, comes first): not before "
        "1990-01-01, not after today plus KAM_FUTURE_TOLERANCE_DAYS (default 1)",
    )


class CommandBody(EnvelopeFields):
    """Base of every derived body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    def to_command(self, **path: Any) -> Any:
        """The command: this body's fields and the URL's (``path``)."""
        command_type: type[Command] = type(self).__command__  # type: ignore[attr-defined]
        fields = {name: getattr(self, name) for name in body_fields(command_type)}
        return command_type(**fields, **path)


def body_fields(command_type: type[Command]) -> list[str]:
    """The command's fields that come in the body (all but those the URL names)."""
    return [name for name in command_type.model_fields if name not in command_type.path]


@cache
def body_model(command_type: type[Command]) -> type[CommandBody]:
    """The request body model of a command (one class per command, named like it)."""
    config = ConfigDict(extra="forbid")
    examples = command_type.model_config.get("json_schema_extra")
    if examples is not None:
        config["json_schema_extra"] = examples
    base = type(f"{command_type.__name__}BodyBase", (CommandBody,), {"model_config": config})
    fields: dict[str, Any] = {
        name: (command_type.model_fields[name].annotation, command_type.model_fields[name])
        for name in body_fields(command_type)
    }
    model: type[BaseModel] = create_model(
        command_type.__name__,
        __base__=base,
        __doc__=command_type.__doc__,
        __module__=__name__,
        **fields,
    )
    model.__command__ = command_type  # type: ignore[attr-defined]
    return cast("type[CommandBody]", model)


class EnvelopeInput(Protocol):
    """What a request says about the change besides the command: why, and when it happened."""

    @property
    def reason(self) -> str | None: ...

    @property
    def occurred_on(self) -> datetime | date | None: ...


class Body(EnvelopeInput, Protocol[C]):
    """``Body[SomeCommand]`` in a route's signature: the request body of that command. At run
    time it is the derived pydantic model (``body_model``); for type checkers, the envelope
    fields and ``to_command`` giving that command."""

    def to_command(self, **path: Any) -> C: ...

    def __class_getitem__(cls, command_type: Any) -> Any:
        if isinstance(command_type, type) and issubclass(command_type, Command):
            return body_model(command_type)
        return super().__class_getitem__(command_type)  # type: ignore[misc]
