"""``create_app(settings)``: the FastAPI app over the services the composition root
(``bootstrap.open_services``) opens from the settings.

Nothing is configured at import time; tests pass their own settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from kam_api.bootstrap import open_services
from kam_api.errors import PROBLEM_JSON, install_error_handlers, problem
from kam_api.limits import BodyLimit, checked_query
from kam_api.observability import CacheFigures, CorrelationMiddleware, Metrics, ServiceFigures
from kam_api.openapi import install_openapi
from kam_api.routes import (
    accounts,
    audit,
    changes,
    digest,
    exchange_rates,
    ledger,
    metrics,
    plans,
    reads,
    report,
    research,
    search,
    stakeholders,
    users,
    webhooks,
)
from kam_api.settings import Settings
from kam_api.web import install_web
from kam_api.web.sessions import SessionStore
from kam_api.webhooks.delivery import start_deliverer
from kam_domain.application import KamApplication
from kam_projections.freshness import models_state
from kam_projections.projector import EmbeddedProjector, Projector
from kam_projections.rebuild import rebuild_stale

ROUTERS = [
    accounts.router,
    plans.router,
    stakeholders.router,
    reads.router,
    research.router,
    audit.router,
    changes.router,
    report.router,
    ledger.router,
    exchange_rates.router,
    users.router,
    digest.router,
    metrics.router,
    search.router,
    webhooks.router,
]

DESCRIPTION = """Key accounts, account plans and stakeholder relationships kept as an append-only
event history, with read models for the portfolio, plan actions and relationship health.

- **Auth**: `Authorization: Bearer <token>` (`kam users add NAME --role ROLE` or, for admins,
  `POST /users` makes a token).
- **People**: the managers, team members and owners a command names must be active users (an
  action's owner may also be `external:<name>`, someone outside the company); otherwise 422.
- **Errors**: RFC 9457 `application/problem+json`.
- **Correlation**: send `X-Correlation-ID` (or `X-Request-ID`; up to 100 of `A-Za-z0-9._:/+=@-`)
  to name a request, else one is made; the answer carries it in both headers, and the events
  and log lines of the request carry it too.
- **Webhooks**: admins subscribe URLs to the event log (`/webhooks`); each event is POSTed as
  `/events` shows it, in order, at least once, signed as Standard Webhooks specify.
- **Limits**: a request body over `KAM_MAX_BODY_BYTES` (default 1 MiB) is 413; free-text fields
  have a `maxLength`, lists a `limit` maximum; a query parameter a read does not declare is
  400, a NUL in a parameter 422; names are kept in Unicode NFC and refused (422) with
  bidirectional controls or zero-width characters.
- **Commands** answer with the aggregate `id`, its new `version` and the log `position`; pass
  `min_position=<position>` to a read to see your own write. `GET /accounts/{id}` sends an
  `ETag`; send it back as `If-Match` to make a change conditional (412 if it moved on).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The KAM Ledger HTTP API on the store the settings name."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with open_services(settings) as services:
            projector = services.projector
            rebuild_stale(projector)
            app.state.users = services.users
            app.state.web_sessions = SessionStore(services.views, settings)
            app.state.web_sessions.setup()
            services.users.forget_listeners.append(app.state.web_sessions.forget_user)
            embedded = None
            if settings.runs_embedded_projector:
                embedded = EmbeddedProjector(
                    projector, poll_interval=settings.projector_poll_interval
                )
                embedded.start()
            app.state.services = services
            app.state.kam = services.app
            app.state.views = services.views
            app.state.read_views = services.read_views
            app.state.projector = projector
            app.state.webhooks = services.webhooks
            deliverer = start_deliverer(services) if settings.webhook_delivery else None
            app.state.deliverer = deliverer
            try:
                yield
            finally:
                if deliverer is not None:
                    deliverer.stop()
                if embedded is not None:
                    embedded.stop()

    # The docs pages' Swagger UI and ReDoc files are the package's, served from
    # /static-offline-docs: /docs and /redoc work without internet.
    app = FastAPIOffline(
        title="KAM Ledger",
        version="0.1.0",
        summary="Key accounts, plans and relationships kept as an append-only event history.",
        description=DESCRIPTION,
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},
        dependencies=[Depends(checked_query)],
    )
    app.state.settings = settings
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.state.metrics = Metrics()
    app.state.metrics.watch(ServiceFigures(app.state).collect)
    app.state.metrics.watch(CacheFigures(app.state).collect)
    app.add_middleware(CorrelationMiddleware, metrics=app.state.metrics)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_web(app, settings)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process is up."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        responses={
            503: {
                "description": "Not ready: the store did not answer, the read models lag, or the "
                "tail of the ledger does not verify",
                "content": {PROBLEM_JSON: {"schema": {"type": "object"}}},
            }
        },
    )
    def readyz(request: Request) -> JSONResponse:
        """Readiness: the event store answers, the read models (and the read replica, when
        one is set) are not too far behind and the last entries of the ledger verify against
        their chain hashes."""
        kam: KamApplication = request.app.state.kam
        projector: Projector = request.app.state.projector
        replica = request.app.state.read_views
        try:
            head = kam.recorder.max_notification_id() or 0
            position = projector.position()
            if replica is not request.app.state.views:  # KAM_READ_DATABASE_URL: lags too
                position = min(position, models_state(replica)[0] or 0)
        except Exception as error:  # any store failure means "not ready", never a 500
            return problem(
                503,
                "store-unavailable",
                "Store unavailable",
                "the event store or the read-model database did not answer",
                {"Retry-After": "1"},
                readiness="unavailable",
                store=type(error).__name__,
            )
        lag = max(head - position, 0)
        try:
            tail = request.app.state.services.ledger.check_tail(settings.ledger_tail_entries)
        except Exception as error:  # a store failure here is "not ready" too, never a 500
            return problem(
                503,
                "store-unavailable",
                "Store unavailable",
                "the event store did not answer the ledger's tail check",
                {"Retry-After": "1"},
                readiness="unavailable",
                store=type(error).__name__,
            )
        if not tail.ok:
            return problem(
                503,
                "ledger-tail-broken",
                "Ledger tail does not verify",
                f"the last {settings.ledger_tail_entries} entries of the log do not all verify "
                f"against their chain hashes: {tail.problem} (run `kam verify`)",
                {"Retry-After": "60"},
                readiness="ledger-broken",
                position=head,
                ledger_first_bad_position=tail.problem.position if tail.problem else None,
            )
        if lag > settings.readiness_max_lag:
            return problem(
                503,
                "read-models-lagging",
                "Read models lagging",
                f"the read models are {lag} events behind the log "
                f"(at most {settings.readiness_max_lag} allowed)",
                {"Retry-After": "1"},
                readiness="lagging",
                position=head,
                read_models_position=position,
                lag=lag,
            )
        return JSONResponse(
            {
                "status": "ready",
                "position": head,
                "read_models_position": position,
                "lag": lag,
                "ledger_tail": {"verified": True, "entries": tail.checked, "to": tail.position},
            }
        )

    install_openapi(app)
    return app
