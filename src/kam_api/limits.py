"""Limits on what a request may carry, checked before a route sees it.

- ``BodyLimit``: an ASGI middleware that refuses a body larger than ``KAM_MAX_BODY_BYTES`` with
  413, from its ``Content-Length`` before reading anything, or (chunked, no length) as soon as
  the bytes read pass the cap; nothing larger is ever held in memory.
- ``checked_query``: an app-wide dependency: a read (GET) with a query parameter its operation
  does not declare is refused with 400 (a misspelt filter must not silently list everything),
  and a NUL character in any query or path parameter with 422 (PostgreSQL text cannot hold
  one).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kam_api.errors import ApiError, problem


class BodyLimit:
    """Answers 413 problem+json to a request body over ``max_bytes`` (see the module)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        # Read the body here, up to the cap: a chunked body has no length to check first.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(messages, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            "body-too-large",
            "Request body too large",
            f"the request body is larger than {self.max_bytes} bytes (KAM_MAX_BODY_BYTES)",
            {"Connection": "close"},
            max_body_bytes=self.max_bytes,
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            # The server has already refused a malformed length; stay safe on huge ones.
            return int(text) if text.isdigit() and len(text) <= 20 else None
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


_declared: dict[int, frozenset[str]] = {}


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters the route's operation declares (its dependencies' too)."""
    names = _declared.get(id(route))
    if names is None:
        names = frozenset(_declared_in(route.dependant))
        _declared[id(route)] = names
    return names


def _declared_in(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):  # a model of parameters
            names |= {f.alias or n for n, f in model.model_fields.items()}
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _declared_in(sub)
    return names


async def checked_query(request: Request) -> None:
    """Refuses unknown query parameters on reads (400) and NUL in any parameter (422)."""
    for where, values in (
        ("query", list(request.query_params.multi_items())),
        ("path", list(request.path_params.items())),
    ):
        for name, value in values:
            if isinstance(value, str) and "\x00" in value:
                raise ApiError(
                    422,
                    "validation",
                    "Invalid request",
                    f"the {where} parameter {name!r} contains a NUL character",
                    errors=[_error(where, name, "must not contain NUL characters")],
                )
    route: Any = request.scope.get("route")
    if request.method not in ("GET", "HEAD") or not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _query_names(route))
    if unknown:
        known = ", ".join(sorted(_query_names(route))) or "none"
        raise ApiError(
            400,
            "unknown-parameter",
            "Unknown query parameter",
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a parameter of "
            f"this operation (it takes: {known})",
            errors=[
                _error("query", name, "is not a parameter of this operation") for name in unknown
            ],
        )


def _error(where: str, name: str, message: str) -> dict[str, Any]:
    return {"loc": [where, name], "msg": message, "type": "value_error"}
