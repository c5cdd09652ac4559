"""RFC 9457 problem details: the one table that maps every error to HTTP.

Every error answer is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail`` (and ``errors`` for validation). Domain errors never become 500: a refused command
writes nothing and answers 404, 409, 412 or 422.
"""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import OperationalError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kam_domain.errors import (
    ConflictError,
    InvalidValueError,
    KamError,
    NotFoundError,
    RuleViolationError,
    VersionMismatchError,
)
from kam_projections.pagination import InvalidCursorError
from kam_store.ledger import LedgerKeyMissingError, PositionNotInTreeError

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
    (KamError, 409, "rule-violation", "Business rule violated"),
]


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
            return problem(status, name, title, str(error), headers=headers, **extra)
    raise error  # pragma: no cover - every KamError matches the last row


def install_error_handlers(app: FastAPI) -> None:
    """Registers the handlers that turn every error into problem+json."""

    @app.exception_handler(KamError)
    async def _domain(_: Request, error: KamError) -> JSONResponse:
        return domain_problem(error)

    @app.exception_handler(InvalidCursorError)
    @app.exception_handler(PositionNotInTreeError)
    async def _cursor(_: Request, error: Exception) -> JSONResponse:
        return domain_problem(error)

    @app.exception_handler(LedgerKeyMissingError)
    async def _no_key(_: Request, error: LedgerKeyMissingError) -> JSONResponse:
        response = domain_problem(error)
        response.headers["Retry-After"] = "60"
        return response

    @app.exception_handler(ApiError)
    async def _api(_: Request, error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        if error.status == 503:
            headers = {"Retry-After": "1"}
        return problem(
            error.status, error.slug, error.title, error.detail, headers=headers, **error.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in error.errors()
        ]
        return problem(
            422,
            "validation",
            "Invalid request",
            "the request does not match the schema",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
        return problem(
            error.status_code,
            slug,
            str(error.detail),
            str(error.detail),
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(OperationalError)
    async def _unavailable(_: Request, error: OperationalError) -> JSONResponse:
        log.warning("store unavailable: %s", error)
        return problem(
            503,
            "store-unavailable",
            "Store unavailable",
            "the event store did not answer; try again",
            {"Retry-After": "1"},
        )

    @app.exception_handler(PersistenceError)
    async def _persistence(_: Request, error: PersistenceError) -> JSONResponse:
        log.error("store error: %s", error)
        return problem(
            503,
            "store-error",
            "Store error",
            "the event store failed; try again",
            {"Retry-After": "1"},
        )
