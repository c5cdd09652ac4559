"""``GET /metrics``: the service's figures in the Prometheus text format (see
``kam_api.observability``). Who may read them: anyone when ``KAM_METRICS_PUBLIC`` is true (a
scraper on a private network), else the bearer of ``KAM_METRICS_TOKEN`` (Prometheus's
``authorization`` credentials) or an admin."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kam_api.auth import Role, UserStore
from kam_api.deps import AppSettings, bearer, get_users
from kam_api.errors import PROBLEM_JSON, ForbiddenError, UnauthorizedError
from kam_api.observability import Metrics

router = APIRouter(tags=["operations"])

_PROBLEM: dict[str, Any] = {PROBLEM_JSON: {"schema": {"type": "object"}}}


async def metrics_reader(
    settings: AppSettings,
    users: Annotated[UserStore, Depends(get_users)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Anyone if the metrics are public, else the metrics token's bearer or an admin."""
    if settings.metrics_public:
        return
    token = credentials.credentials.strip() if credentials is not None else ""
    if not token:
        raise UnauthorizedError("use 'Authorization: Bearer <KAM_METRICS_TOKEN or admin token>'")
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    user = users.authenticate(token)
    if user is None:
        raise UnauthorizedError("unknown or revoked token")
    if user.role is not Role.ADMIN:
        raise ForbiddenError("only admins (or the metrics token's bearer) may read the metrics")


@router.get(
    "/metrics",
    dependencies=[Depends(metrics_reader)],
    response_class=Response,
    responses={
        200: {
            "description": "The metrics in the Prometheus text format",
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
        },
        401: {"description": "No token, or an unknown one", "content": _PROBLEM},
        403: {"description": "A user who is not an admin", "content": _PROBLEM},
    },
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests by route template and status, commands by type and
    result, the projector's lag, events written and projected, PostgreSQL pool usage.
    Public with KAM_METRICS_PUBLIC=true; else the KAM_METRICS_TOKEN bearer or an admin."""
    registry: Metrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
