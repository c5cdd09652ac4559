"""The composition root: ``create_app(settings)`` builds the FastAPI app and its services.

Nothing is configured at import time; tests pass their own settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kam_api.auth import UserStore
from kam_api.bootstrap import open_application, open_read_models
from kam_api.errors import install_error_handlers
from kam_api.routes import accounts, audit, changes, plans, reads, report, stakeholders
from kam_api.settings import Settings
from kam_domain.application import KamApplication
from kam_projections.projector import EmbeddedProjector, Projector, build_models

ROUTERS = [
    accounts.router,
    plans.router,
    stakeholders.router,
    reads.router,
    audit.router,
    changes.router,
    report.router,
]

DESCRIPTION = """Key accounts, account plans and stakeholder relationships kept as an append-only
event history, with read models for the portfolio, plan actions and relationship health.

- **Auth**: `Authorization: Bearer <token>` (`kam users add NAME --role ROLE` prints a token).
- **Errors**: RFC 9457 `application/problem+json`.
- **Commands** answer with the aggregate `id`, its new `version` and the log `position`; pass
  `min_position=<position>` to a read to see your own write. `GET /accounts/{id}` sends an
  `ETag`; send it back as `If-Match` to make a change conditional (412 if it moved on).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The KAM Ledger HTTP API on the store the settings name."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        application = open_application(settings)
        views = open_read_models(settings)
        projector = Projector(application, views, build_models(settings.health_weights))
        projector.setup()
        users = UserStore(views)
        users.setup()
        app.state.users = users
        embedded = None
        if settings.runs_embedded_projector:
            embedded = EmbeddedProjector(projector, poll_interval=settings.projector_poll_interval)
            embedded.start()
        app.state.kam = application
        app.state.views = views
        app.state.projector = projector
        # The handover report's health reads (database-bound: the GIL is free while they wait).
        app.state.report_executor = ThreadPoolExecutor(4, thread_name_prefix="kam-report-health")
        try:
            yield
        finally:
            app.state.report_executor.shutdown()
            if embedded is not None:
                embedded.stop()
            views.close()
            application.close()

    app = FastAPI(
        title="KAM Ledger",
        version="0.1.0",
        summary="Key accounts, plans and relationships kept as an append-only event history.",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "Not ready"}})
    def readyz(request: Request) -> JSONResponse:
        """Readiness: the event store answers and the read models are not too far behind."""
        kam: KamApplication = request.app.state.kam
        projector: Projector = request.app.state.projector
        try:
            head = kam.recorder.max_notification_id() or 0
            position = projector.position()
        except Exception as error:  # any store failure means "not ready", never a 500
            return JSONResponse(
                {"status": "unavailable", "store": type(error).__name__}, status_code=503
            )
        lag = max(head - position, 0)
        ready = lag <= settings.readiness_max_lag
        return JSONResponse(
            {
                "status": "ready" if ready else "lagging",
                "position": head,
                "read_models_position": position,
                "lag": lag,
            },
            status_code=200 if ready else 503,
        )

    return app
