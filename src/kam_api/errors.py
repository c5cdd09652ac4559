"""RFC 9457 problem details: the one table that maps every error to HTTP.

Every error answer is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail`` (and ``errors`` for validation). Domain errors never become 500: a refused command
writes nothing and answers 404, 409, 412 or 422.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
from eventsourcing.persistence import OperationalError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kam_domain.errors import (
    ConflictError,
    InvalidValueError,
    KamError,
    NotFoundError,
    RuleViolationError,
    VersionMismatchError,
)
from kam_domain.idempotency import IdempotencyInProgressError, IdempotencyKeyReusedError
from kam_projections.pagination import InvalidCursorError
from kam_store.ledger import LedgerKeyMissingError, PositionNotInTreeError
from kam_store.reconnect import DatabaseUnreachableError

log = logging.getLogger("kam.api")
PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://kam-ledger.dev/problems/"


class ApiError(Exception):
    """An error raised at the edge (auth, bad request, not ready)."""

    def __init__(self, status: int, slug: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.extra = (
            status,
            slug,
            title,
            detail,
            extra,
        )


class UnauthorizedError(ApiError):
    def __init__(self, detail: str = "a valid bearer token is required") -> None:
        super().__init__(401, "unauthorized", "Unauthorized", detail)


class ForbiddenError(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(403, "forbidden", "Forbidden", detail)


class NotReadyError(ApiError):
    """The read models have not reached the requested position in time."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, "not-ready", "Read models not ready", detail)


#: (error class, HTTP status, problem slug or None to use the rule, title) — first match wins.
ERROR_TABLE: list[tuple[type[Exception], int, str | None, str]] = [
    (VersionMismatchError, 412, "precondition-failed", "Precondition failed"),
    (ConflictError, 409, "conflict", "Conflict"),
    (NotFoundError, 404, "not-found", "Not found"),
    (InvalidValueError, 422, "validation", "Invalid value"),
    (RuleViolationError, 409, None, "Business rule violated"),
    (InvalidCursorError, 400, "bad-cursor", "Bad cursor"),
    (PositionNotInTreeError, 422, "outside-tree", "Outside the ledger's tree"),
    (LedgerKeyMissingError, 503, "ledger-key-missing", "Ledger signing key missing"),
    (IdempotencyKeyReusedError, 422, "idempotency-key-reused", "Idempotency key reused"),
    (IdempotencyInProgressError, 409, "idempotency-in-progress", "Idempotency key in use"),
    (KamError, 409, "rule-violation", "Business rule violated"),
]


#: Storage errors raised by the read-model side (and the user, session and webhook stores on
#: it) when a database is down, restarting or busy: psycopg's ``OperationalError`` family
#: (``AdminShutdown``, a refused connection, ``psycopg_pool.PoolTimeout``), a connection used
#: after the server closed it (``InterfaceError``), either pool's ``DatabaseUnreachableError``
#: (the server refused its last attempt to connect) and SQLite's busy, locked or disk errors.
#: The event store's come wrapped by the library (``OperationalError``, ``PersistenceError``).
#: All of them answer 503 with Retry-After: the request may succeed again in a moment.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    DatabaseUnreachableError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
)

#: Words of a ``sqlite3.OperationalError`` that mean "busy or broken storage", not a wrong query.
SQLITE_OUTAGE_WORDS = ("locked", "busy", "disk", "i/o", "unable to open", "readonly", "full")


def is_outage(error: BaseException) -> bool:
    """Whether a storage error means the database is unavailable for now (503)."""
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        return any(word in message for word in SQLITE_OUTAGE_WORDS)
    return isinstance(error, UNAVAILABLE_ERRORS)


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_problem(error: Exception) -> JSONResponse:
    for cls, status, slug, title in ERROR_TABLE:
        if isinstance(error, cls):
            name = slug or str(getattr(error, "rule", "rule-violation"))
            extra: dict[str, Any] = {}
            if isinstance(error, InvalidValueError):
                extra["errors"] = [
                    {"loc": ["body", error.field], "msg": error.message, "type": "value_error"}
                ]
            elif isinstance(error, RuleViolationError):
                extra["rule"] = name
            headers = None
            if isinstance(error, VersionMismatchError):
                current = error.details.get("current_version")
                headers = {"ETag": f'"{current}"'} if current is not None else None
            elif isinstance(error, IdempotencyInProgressError):
                headers = {"Retry-After": "1"}
            return problem(status, name, title, str(error), headers=headers, **extra)
    raise error  # pragma: no cover - every KamError matches the last row


#: Renders an error as a page (status, title, detail, headers) for a request that came from
#: the web app (``kam_api.web``), or None for one of the API's; set on ``app.state.page_errors``.
PageErrors = Callable[[Request, int, str, str, dict[str, str] | None], Response | None]


def _as_page(request: Request, response: JSONResponse, title: str, detail: str) -> Response:
    """The web app's page for an error answer, where the request came from it."""
    pages: PageErrors | None = getattr(request.app.state, "page_errors", None)
    if pages is None:
        return response
    headers = {k: v for k, v in response.headers.items() if k.lower() in ("retry-after", "etag")}
    page = pages(request, response.status_code, title, detail, headers or None)
    return response if page is None else page


def install_error_handlers(app: FastAPI) -> None:
    """Registers the handlers that turn every error into problem+json (or, for a request of
    the web app's pages, an error page)."""

    @app.exception_handler(KamError)
    async def _domain(request: Request, error: KamError) -> Response:
        response = domain_problem(error)
        return _as_page(request, response, _title(response), str(error))

    @app.exception_handler(InvalidCursorError)
    @app.exception_handler(PositionNotInTreeError)
    async def _cursor(request: Request, error: Exception) -> Response:
        response = domain_problem(error)
        return _as_page(request, response, _title(response), str(error))

    @app.exception_handler(LedgerKeyMissingError)
    async def _no_key(request: Request, error: LedgerKeyMissingError) -> Response:
        response = domain_problem(error)
        response.headers["Retry-After"] = "60"
        return _as_page(request, response, _title(response), str(error))

    @app.exception_handler(ApiError)
    async def _api(request: Request, error: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        if error.status == 503:
            headers = {"Retry-After": "1"}
        response = problem(
            error.status, error.slug, error.title, error.detail, headers=headers, **error.extra
        )
        return _as_page(request, response, error.title, error.detail)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        errors = [
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in error.errors()
        ]
        response = problem(
            422,
            "validation",
            "Invalid request",
            "the request does not match the schema",
            errors=errors,
        )
        wrong = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'][1:]) or 'request'}: {e['msg']}"
            for e in errors
        )
        return _as_page(request, response, "Invalid request", wrong)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
        response = problem(
            error.status_code,
            slug,
            str(error.detail),
            str(error.detail),
            headers=getattr(error, "headers", None),
        )
        return _as_page(request, response, str(error.detail), str(error.detail))

    @app.exception_handler(OperationalError)
    async def _unavailable(request: Request, error: OperationalError) -> Response:
        log.warning("store unavailable: %s", error)
        response = problem(
            503,
            "store-unavailable",
            "Store unavailable",
            "the event store did not answer; try again",
            {"Retry-After": "1"},
        )
        return _as_page(request, response, "Store unavailable", "Please try again in a moment.")

    async def _storage(request: Request, error: Exception) -> Response:
        if not is_outage(error):
            raise error  # a wrong query is a bug: the server error handler logs it as one
        log.warning("database unavailable: %s: %s", type(error).__name__, error)
        response = problem(
            503,
            "store-unavailable",
            "Store unavailable",
            "the database did not answer; try again",
            {"Retry-After": "1"},
        )
        return _as_page(request, response, "Store unavailable", "Please try again in a moment.")

    for storage_error in UNAVAILABLE_ERRORS:
        app.add_exception_handler(storage_error, _storage)

    @app.exception_handler(PersistenceError)
    async def _persistence(request: Request, error: PersistenceError) -> Response:
        log.error("store error: %s", error)
        response = problem(
            503,
            "store-error",
            "Store error",
            "the event store failed; try again",
            {"Retry-After": "1"},
        )
        return _as_page(request, response, "Store error", "Please try again in a moment.")


def _title(response: JSONResponse) -> str:
    import json

    return str(json.loads(bytes(response.body)).get("title", "Error"))
