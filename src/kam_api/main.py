"""The composition root: ``create_app(settings)`` builds the FastAPI app and its services.

Nothing is configured at import time; tests pass their own settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kam_api.bootstrap import open_application
from kam_api.settings import Settings
from kam_domain.application import KamApplication


def create_app(settings: Settings | None = None) -> FastAPI:
    """The KAM Ledger HTTP API on the store the settings name."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        application = open_application(settings)
        app.state.kam = application
        try:
            yield
        finally:
            application.close()

    app = FastAPI(
        title="KAM Ledger",
        version="0.1.0",
        summary="Key accounts, plans and relationships kept as an append-only event history.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "Not ready"}})
    def readyz(request: Request) -> JSONResponse:
        """Readiness: the event store answers."""
        kam: KamApplication = request.app.state.kam
        try:
            position = kam.recorder.max_notification_id() or 0
        except Exception as error:  # any store failure means "not ready", never a 500
            return JSONResponse(
                {"status": "unavailable", "store": type(error).__name__}, status_code=503
            )
        return JSONResponse({"status": "ready", "position": position})

    return app
