"""The OpenAPI document, completed with the error answers every operation really gives.

FastAPI documents a route's success and, when it takes parameters, a 422 in its own
``HTTPValidationError`` shape. The service answers every error as RFC 9457
``application/problem+json`` (``errors.py``), so ``install_openapi`` rewrites the document
once, per route, from what the route is built of, so a new route is documented without being
listed here:

- every error answer's content is the ``Problem`` schema;
- 400 (a malformed request), 422 (a value the schema or the domain refuses) and 503 (the store
  or the read models did not answer) on every operation that reads a request or the store;
- 401 and 403 where the route authenticates or checks a role (``deps``);
- 404 where the path names something;
- 413 where a body is read;
- for a command (``deps.Send``/``deps.Create``): 409 with the ``rule`` slugs its handler may
  raise (``kam_domain.handlers.rules``), listed in the description and as ``x-rules``; 412
  where If-Match is honoured; and ``reason`` marked required when the command always needs one.
  Its ``Idempotency-Key`` header is documented by its dependency (``deps.idempotency_key``).

Every 409 also lists, as ``x-problem-types``, the slugs its problem ``type`` may end in (a
rule's is the rule; ``conflict``: changed concurrently; ``idempotency-in-progress``: a
command with the same idempotency key still running); a hand-written route declares its own
(``responses={409: {..., "x-problem-types": [...]}}``), merged here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Annotated, Any, get_args, get_origin

from annotated_types import Ge, Gt
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from kam_api import deps
from kam_api.errors import PROBLEM_BASE, PROBLEM_JSON
from kam_domain.commands import Command
from kam_domain.handlers.rules import requires_reason, rules_of
from kam_domain.values import CONTROL_CHARACTERS

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: every error answer of the service.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri",
            "description": f"{PROBLEM_BASE}<slug>: the kind of problem, stable",
        },
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "rule": {
            "type": "string",
            "description": "409 only: the business rule the command broke (a stable slug)",
        },
        "errors": {
            "type": "array",
            "description": "422 only: each field's problem",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

#: The role dependencies: a route that has one may answer 403.
_ROLE_CHECKS: frozenset[Callable[..., Any]] = frozenset(
    {
        deps.writer,
        deps.store_reader,
        deps.director,
        deps.admin,
        deps.log_reader,
        deps.command_sender,
        deps.command_creator,
    }
)

DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request: a bad cursor, If-Match, min_position or range, or a query "
    "parameter the operation does not take",
    401: "No valid bearer token (`Authorization: Bearer <token>`)",
    403: "The user's role may not do this (a manager: also not on someone else's account)",
    404: "What the path names does not exist",
    409: "Refused: a business rule forbids it (`rule` names which), or the aggregate "
    "changed concurrently (type `conflict`; nothing was written, retry), or a command with "
    "the same Idempotency-Key is still running (type `idempotency-in-progress`; retry after "
    "Retry-After for its answer)",
    412: "If-Match names a version that is not the current one (ETag: the current version)",
    413: "The request body is too large",
    422: "A value the schema or the domain refuses (`errors` lists each field's problem)",
    503: "The event store or the read models did not answer in time; retry (Retry-After)",
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def api_routes(app: FastAPI) -> list[RouteContext]:
    """The app's documented routes, with their full paths."""
    return [
        route
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.include_in_schema
    ]


def command_of(route: RouteContext) -> type[Command] | None:
    """The command a route sends: its body's (``Body[...]``) or its endpoint's."""
    command = getattr(route.endpoint, "__command__", None)
    for field in route.dependant.body_params:
        command = getattr(field.field_info.annotation, "__command__", command)
    return command if isinstance(command, type) and issubclass(command, Command) else None


def _rules_markdown(rules: list[str]) -> str:
    return ", ".join(f"`{rule}`" for rule in rules) if rules else "none"


def error_responses(route: RouteContext) -> dict[int, dict[str, Any]]:
    """The error answers a route may give, from what it is built of."""
    calls = set(_calls(route.dependant))
    authenticated = deps.current_user in calls
    takes_input = bool(
        route.dependant.path_params
        or route.dependant.query_params
        or route.dependant.header_params
        or route.dependant.body_params
    )
    statuses: dict[int, dict[str, Any]] = {}

    def add(status: int, description: str | None = None, **extra: Any) -> None:
        statuses[status] = {"description": description or DESCRIPTIONS[status], **extra}

    if authenticated or takes_input:
        add(400)
        add(422)
    if authenticated:
        add(401)
        add(503)
    if calls & _ROLE_CHECKS:
        add(403)
    if route.dependant.path_params or deps.command_sender in calls:
        add(404)  # what the path names; for a command, also the aggregate it changes
    if route.dependant.body_params:
        add(413)
    command = command_of(route)
    if command is not None:
        rules = sorted(rules_of(command))
        add(
            409,
            f"{DESCRIPTIONS[409]}. Rules this command may break: {_rules_markdown(rules)}",
            **{
                "x-rules": rules,
                "x-problem-types": [*rules, "conflict", "idempotency-in-progress"],
            },
        )
        if deps.command_sender in calls:
            add(412)
        add(
            422,
            f"{DESCRIPTIONS[422]}, or an Idempotency-Key this user sent before with another "
            "request (type `idempotency-key-reused`; nothing was written)",
        )
    return statuses


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": PROBLEM_REF}}


def _complete_operation(operation: dict[str, Any], route: RouteContext) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in error_responses(route).items():
        documented = responses.setdefault(str(status), {})
        if documented.get("description") in (None, "", "Validation Error"):
            documented["description"] = response["description"]
        for key, value in response.items():
            if key.startswith("x-"):
                documented[key] = sorted({*documented.get(key, []), *value})
    for code, answer in responses.items():
        if code[:1] in ("4", "5"):
            answer["content"] = _problem_content()


def _body_schema(operation: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    found: dict[str, Any] | None = schemas.get(ref.rsplit("/", 1)[-1])
    return found


_CONTROL = CONTROL_CHARACTERS.pattern.strip("[]")
#: Whitespace spelled out (what Python's ``str.isspace`` calls whitespace): regex dialects
#: differ on ``\s`` (ASCII only in some readings, with or without U+0085 and U+00A0), so no
#: pattern in the document uses it (``_spell_whitespace``).
_WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: Text the domain takes: no control characters (``values.CONTROL_CHARACTERS``) ...
TEXT_PATTERN = rf"^[^{_CONTROL}]*$"
#: ... and, where the text is required, not blank either (``base.require_text``).
NON_BLANK_PATTERN = rf"^[^{_CONTROL}]*[^{_CONTROL}{_WHITESPACE}][^{_CONTROL}]*$"
#: Names (``kam_domain.names.normal_name``): no control character (C0, DEL, C1), no
#: bidirectional control or zero-width character.
_NOT_IN_NAMES = (
    r"\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    r"\u2066-\u2069\ufeff"
)
NAME_PATTERN = rf"^[^{_NOT_IN_NAMES}]*[^{_NOT_IN_NAMES}{_WHITESPACE}][^{_NOT_IN_NAMES}]*$"
#: If-Match as ``deps.expected_version`` reads it (else 400 ``bad-if-match``).
IF_MATCH_PATTERN = r'^ *(\*|(W/)?"?[0-9]{1,18}"?) *$'


def _spell_whitespace(pattern: str) -> str:
    """``\\s`` and ``\\S`` replaced by the whitespace they mean, spelled out."""
    out: list[str] = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            escaped = False
            if char in "sS":
                if in_class:  # only \s occurs in a class here
                    out.append(_WHITESPACE)
                else:
                    out.append(f"[{'^' if char == 'S' else ''}{_WHITESPACE}]")
            else:
                out.append("\\" + char)
            continue
        if char == "\\":
            escaped = True
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        out.append(char)
    return "".join(out)


def _patterns(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema object in a document part that has a ``pattern``."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def _string_schemas(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The string schemas in a property's schema: itself, its ``anyOf`` members, its items."""
    if schema.get("type") == "string":
        yield schema
    for member in schema.get("anyOf", []):
        yield from _string_schemas(member)
    if isinstance(schema.get("items"), dict):
        yield from _string_schemas(schema["items"])


def _decimal_schema(field: Any) -> dict[str, Any] | None:
    """A decimal field's digits, sign and bounds as a string pattern (JSON Schema cannot count
    a number's digits), at most as wide as the field takes; None for other fields."""
    metadata = list(field.metadata)
    found = field.annotation is Decimal
    for member in get_args(field.annotation):  # ``Money | None``: the constraints are inside
        if member is Decimal:
            found = True
        elif get_origin(member) is Annotated and get_args(member)[0] is Decimal:
            found = True
            for item in get_args(member)[1:]:
                metadata += getattr(item, "metadata", [item])  # a FieldInfo carries its own
    if not found:
        return None
    digits = places = None
    low: Any = None
    high: Any = None
    for item in metadata:
        digits = getattr(item, "max_digits", None) or digits
        places = getattr(item, "decimal_places", None) or places
        if isinstance(item, Ge | Gt):
            low = item.ge if isinstance(item, Ge) else item.gt
        high = getattr(item, "le", high)
    if digits is None:
        return None
    whole = digits - (places or 0)
    if high is not None:  # fewer whole digits than the bound: below it
        whole = min(whole, len(str(int(high))) - 1)
    if low is not None and low < 0:
        whole = min(whole, len(str(int(-low))) - 1)
    places = places if places is not None else digits - whole
    positive = low == 0 and any(isinstance(m, Gt) for m in metadata)
    sign = "" if low is not None and low >= 0 else "-?"
    nonzero = "(?=.*[1-9])" if positive else ""
    pattern = rf"^{nonzero}{sign}[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?$"
    return {
        "type": "string",
        "pattern": pattern,
        "description": f"A decimal of at most {whole} digits before the point and {places} "
        "after, as a string (a JSON number is taken too)"
        + (", above 0" if positive else ", not negative" if sign == "" else ""),
    }


#: Patterns of the commands that say less than the domain checks (``commands.plans.NO_NUL``).
_WEAKER = {r"^[^\x00]*$"}


def _is_name(field: Any) -> bool:
    """Whether a command field is a name (``kam_domain.names.normal_name`` checks it)."""
    return field is not None and any(
        getattr(getattr(item, "func", None), "__module__", "") == "kam_domain.names"
        for item in field.metadata
    )


def _parameter_limits(operation: dict[str, Any], command: type[Command] | None) -> None:
    """Path and query text: a name as names are checked, any other free text without NUL
    (``limits.checked_query``)."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] not in ("path", "query"):
            continue
        field = command.model_fields.get(parameter["name"]) if command is not None else None
        for string in _string_schemas(parameter["schema"]):
            if _is_name(field):
                string["pattern"] = NAME_PATTERN
            elif not {"format", "enum", "const", "pattern"} & set(string):
                string["pattern"] = r"^[^\x00]*$"
            elif "pattern" in string and not {"format", "enum", "const"} & set(string):
                string["allOf"] = [{"pattern": r"^[^\x00]*$"}]


def _express_limits(body: dict[str, Any], command: type[Command]) -> None:
    """What the domain checks and the schema can say: text without control characters (and
    required text not blank), decimals' digits."""
    for name, schema in body.get("properties", {}).items():
        field = command.model_fields.get(name)
        decimal = _decimal_schema(field) if field is not None else None
        if decimal is not None:
            if field is not None and field.description:  # what the field says of itself too
                own = field.description
                decimal["description"] += f"; {own[0].lower()}{own[1:]}"
            optional = not (field is not None and field.is_required())
            kept = {k: schema[k] for k in ("title", "examples", "default") if k in schema}
            body["properties"][name] = (
                {"anyOf": [decimal, {"type": "null"}], **kept} if optional else {**decimal, **kept}
            )
            continue
        is_name = _is_name(field)
        for string in _string_schemas(schema):
            if {"format", "enum", "const"} & set(string):
                continue
            required = string.get("minLength", 0) >= 1
            if is_name:
                string["pattern"] = NAME_PATTERN
            elif string.get("pattern") in (None, *_WEAKER):
                string["pattern"] = NON_BLANK_PATTERN if required else TEXT_PATTERN
            elif required:
                string["allOf"] = [{"pattern": rf"[^{_WHITESPACE}]"}]


def _if_match_pattern(operation: dict[str, Any]) -> None:
    """If-Match is a header: absent or a version, never a JSON null."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"].lower() == "if-match":
            parameter["schema"] = {
                "type": "string",
                "pattern": IF_MATCH_PATTERN,
                "title": "If-Match",
                "examples": ['"3"'],
            }


def _describe_reason(body: dict[str, Any], command: type[Command]) -> None:
    """Says in the body's schema when ``reason`` is required: always (then the schema requires
    it, non-blank) or in some states (then its description says so)."""
    reason = body.get("properties", {}).get("reason")
    if reason is None or "reason-required" not in rules_of(command):
        return
    if requires_reason(command):
        body["required"] = sorted({*body.get("required", []), "reason"})
        body["properties"]["reason"] = {
            "type": "string",
            "minLength": 1,
            "pattern": NON_BLANK_PATTERN,
            "title": "Reason",
            "description": "Why: required by this command (without it, or blank: 409 "
            "`reason-required`)",
        }
    else:
        reason["description"] = (
            "Why: required in some states, as the operation's description says (without it "
            "then: 409 `reason-required`)"
        )


def complete(schema: dict[str, Any], routes: list[RouteContext]) -> dict[str, Any]:
    """Adds the error answers, the Problem schema and the required reasons to a document
    FastAPI generated for these routes."""
    schemas: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for route in routes:
        item = schema.get("paths", {}).get(route.path_format, {})
        command = command_of(route)
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is None:
                continue
            _complete_operation(operation, route)
            _if_match_pattern(operation)
            _parameter_limits(operation, command)
            body = _body_schema(operation, schemas)
            if command is not None and body is not None:
                _express_limits(body, command)
                _describe_reason(body, command)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for node in _patterns(schema):
        node["pattern"] = _spell_whitespace(node["pattern"])
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serves the completed document at ``/openapi.json`` (built once, on first request)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's, cached until the routes change
        if "Problem" not in schema.get("components", {}).get("schemas", {}):
            complete(schema, api_routes(app))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
