"""The handover report: JSON for integrations, Markdown to paste, printable HTML."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kam_api.deps import AppServices, AppSettings, Kam, MinPosition, StoreReader, Today, Views
from kam_api.presenters import ledger_status
from kam_api.report import render_html, render_markdown
from kam_api.schemas.report import HandoverReport
from kam_projections.handover import build_report

router = APIRouter(tags=["audit"])

MEDIA_TYPES = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


@router.get(
    "/accounts/{account_id}/handover-report",
    response_model=HandoverReport,
    responses={
        200: {
            "description": "The report in the format asked for",
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
        }
    },
)
def get_handover_report(
    account_id: UUID,
    user: StoreReader,
    today: Today,
    kam: Kam,
    views: Views,
    settings: AppSettings,
    services: AppServices,
    _wait: MinPosition,
    format: Annotated[
        Literal["json", "markdown", "html"],
        Query(description="json (the default), markdown, or html (a printable page)"),
    ] = "json",
) -> Response:
    """Everything the company knows about the account for the manager taking it over, from
    its history and read models: nine sections (DESIGN §4), each fact with the log positions
    of the events it comes from, and the gaps the history cannot answer."""
    report = build_report(
        kam,
        views,
        account_id,
        today=today,
        weights=settings.health_weights,
        executor=services.report_executor,
        ledger=ledger_status(services.ledger),
    )
    if format == "markdown":
        body = render_markdown(report)
    elif format == "html":
        body = render_html(report)
    else:
        body = report.model_dump_json()
    return Response(body, media_type=MEDIA_TYPES[format])
