"""What the API answered, against what its OpenAPI document says it may answer.

``Observed`` is a response event hook of the test client: the API tests' client
(``conftest.client``) records every answer as (method, path template, status, problem type
slug, rule), and when the test ends, each must be documented for its operation: the status,
and for a 409 its problem type (``x-problem-types``) and ``rule`` (``x-rules``). So every
status and rule the test-suite provokes, the role matrix's 403s included, is checked against
the document.

The document is the same for every app ``create_app`` builds (it is made from the routes
alone, not the settings), and building it and the list of routes takes about a CPU-second:
``documented`` builds them once per set of routes in a test process instead of once per test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import RouteContext, _IncludedRouter
from starlette.routing import BaseRoute, Match

from kam_api.errors import PROBLEM_BASE
from kam_api.openapi import api_routes

#: The documents and routes built so far, by what they are made of (see ``documented``).
_DOCUMENTS: dict[tuple[object, ...], tuple[dict[str, Any], list[RouteContext]]] = {}


@dataclass(frozen=True, order=True)
class Answer:
    method: str
    path: str  # the route's template, as the document names it
    status: int
    slug: str | None = None  # the problem type's last part
    rule: str | None = None

    def __str__(self) -> str:
        what = f" {self.slug}" if self.slug else ""
        rule = f" (rule {self.rule})" if self.rule else ""
        return f"{self.method} {self.path} -> {self.status}{what}{rule}"


def _shape(route: BaseRoute) -> tuple[object, ...]:
    """What a top-level route adds to the document: an included router by identity (the
    routers are module-level), any other by path, methods and endpoint's name (an app's own
    endpoints are closures, new objects for each app)."""
    if isinstance(route, _IncludedRouter):
        included = route.original_router
        return ("router", id(included), len(included.routes), route.include_context.prefix)
    endpoint = getattr(route, "endpoint", None)
    name = (endpoint.__module__, endpoint.__qualname__) if endpoint is not None else None
    methods = tuple(sorted(getattr(route, "methods", None) or ()))
    return (type(route).__name__, getattr(route, "path", None), methods, name)


def documented(app: FastAPI) -> tuple[dict[str, Any], list[RouteContext]]:
    """The app's OpenAPI document and documented routes, built once per title, version,
    description and routes: apps alike in those have the same document and route templates.
    (Both take a CPU-second per app to build: once per test before.)"""
    key = (app.title, app.version, app.description, *(_shape(r) for r in app.routes))
    if key not in _DOCUMENTS:
        _DOCUMENTS[key] = (app.openapi(), api_routes(app))
    return _DOCUMENTS[key]


def route_of(
    app: FastAPI, method: str, path: str, routes: list[RouteContext] | None = None
) -> str | None:
    """The documented route template a request reached (None: no documented route)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in api_routes(app) if routes is None else routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            template: str = route.path_format
            return template
    return None


def answer_of(
    app: FastAPI, response: Any, routes: list[RouteContext] | None = None
) -> Answer | None:
    method = response.request.method
    path = route_of(app, method, response.request.url.path, routes)
    if path is None:
        return None
    slug = rule = None
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        response.read()
        body: dict[str, Any] = response.json()
        kind = str(body.get("type", ""))
        slug = kind.removeprefix(PROBLEM_BASE) if kind.startswith(PROBLEM_BASE) else kind
        rule = body.get("rule")
    return Answer(method, path, response.status_code, slug, rule)


def undocumented(spec: dict[str, Any], answer: Answer) -> str | None:
    """Why the document does not allow this answer (None: it does)."""
    operation = spec["paths"].get(answer.path, {}).get(answer.method.lower())
    if operation is None:
        return f"{answer}: no such operation in the document"
    responses = operation["responses"]
    documented = responses.get(str(answer.status))
    if documented is None:
        return f"{answer}: status not documented (documented: {sorted(responses)})"
    if answer.status == 409:
        if answer.rule is not None and answer.rule not in documented.get("x-rules", []):
            return f"{answer}: rule not in x-rules {documented.get('x-rules')}"
        if answer.slug not in documented.get("x-problem-types", []):
            return f"{answer}: problem type not in x-problem-types"
    return None


@dataclass
class Observed:
    """Records a client's answers (install ``hook`` as a response event hook)."""

    app: FastAPI
    answers: set[Answer] = field(default_factory=set)
    #: The app's documented routes (those of the first app like it, see ``documented``).
    routes: list[RouteContext] = field(init=False)
    spec: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.spec, self.routes = documented(self.app)

    def hook(self, response: Any) -> None:
        answer = answer_of(self.app, response, self.routes)
        if answer is not None:
            self.answers.add(answer)

    def undocumented(self) -> list[str]:
        found = (undocumented(self.spec, answer) for answer in sorted(self.answers))
        return [problem for problem in found if problem is not None]
