"""Command endpoints from one line each: ``commands.post(path, SomeCommand, "doc")``.

Every command endpoint does the same thing: take the URL's ids and the body, complete them into
the command, and send it (``deps.Send``: the role and account check, If-Match, the envelope,
the ETag). So each one is built here from the command class: its path parameters are the
command's ``path`` fields (typed as the command types them), its body is ``Body[command]``,
its name is the command's in snake case (the name of its handler and of the aggregate method),
and its docstring is the OpenAPI summary.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from kam_api.deps import CommandSender, Create, Send
from kam_api.schemas.commands import body_model
from kam_api.schemas.common import CommandAccepted
from kam_domain.commands import Command

_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


def snake_case(name: str) -> str:
    """``AssignRelationshipOwner`` -> ``assign_relationship_owner``."""
    return _WORD_START.sub("_", name).lower()


def command_endpoint(
    command_type: type[Command],
    doc: str,
    *,
    body: bool = True,
    location: str = "",
    role: Any = None,
) -> Callable[..., CommandAccepted]:
    """The endpoint function of a command (a creating one when ``location`` names what it
    creates, e.g. "/plans/{id}": it then takes no If-Match and answers ``Location``; ``role``:
    a dependency the user must pass besides being a writer, e.g. ``deps.Director``)."""
    path_fields = command_type.path

    def endpoint(**arguments: Any) -> CommandAccepted:
        send: CommandSender = arguments.pop("send")
        arguments.pop("role", None)
        request_body = arguments.pop("body", None)
        if request_body is None:
            return send(command_type(**arguments))
        return send(request_body.to_command(**arguments), request_body, location=location)

    parameters = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=command_type.model_fields[name].annotation,
        )
        for name in path_fields
    ]
    if body:
        parameters.append(
            inspect.Parameter(
                "body", inspect.Parameter.KEYWORD_ONLY, annotation=body_model(command_type)
            )
        )
    if role is not None:
        parameters.append(
            inspect.Parameter("role", inspect.Parameter.KEYWORD_ONLY, annotation=role)
        )
    parameters.append(
        inspect.Parameter(
            "send", inspect.Parameter.KEYWORD_ONLY, annotation=Create if location else Send
        )
    )
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=CommandAccepted
    )
    endpoint.__name__ = endpoint.__qualname__ = snake_case(command_type.__name__)
    endpoint.__doc__ = doc
    endpoint.__command__ = command_type  # type: ignore[attr-defined]  # for kam_api.openapi
    return endpoint


class CommandRoutes:
    """Adds command endpoints to a router."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router

    def post(
        self,
        path: str,
        command_type: type[Command],
        doc: str,
        *,
        status_code: int = 200,
        location: str = "",
        role: Any = None,
    ) -> None:
        """``POST path``: sends ``command_type`` (``location``, ``role``: see
        ``command_endpoint``)."""
        self.router.add_api_route(
            path,
            command_endpoint(command_type, doc, location=location, role=role),
            methods=["POST"],
            status_code=status_code,
            response_model=CommandAccepted,
        )

    def delete(self, path: str, command_type: type[Command], doc: str) -> None:
        """``DELETE path`` (no body): sends ``command_type``."""
        self.router.add_api_route(
            path,
            command_endpoint(command_type, doc, body=False),
            methods=["DELETE"],
            response_model=CommandAccepted,
        )
