"""The handover report: JSON for integrations, Markdown to paste, printable HTML."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from kam_api.deps import AppServices, AppSettings, Kam, MinPosition, StoreReader, Today, Views
from kam_api.presenters import ledger_status
from kam_api.report import render_html, render_markdown
from kam_api.report.document import check_base_url
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
    request: Request,
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
    its history and read models: a first-week summary, then nine sections (DESIGN §4), each
    fact with the log positions of the events it comes from, and the gaps the history cannot
    answer. In Markdown and HTML each source is the event's name, linked to it in the
    account's history (``/accounts/{id}/history?position=``), under ``KAM_PUBLIC_URL`` or
    else this request's address."""
    report = build_report(
        kam,
        views,
        account_id,
        today=today,
        weights=settings.health_weights,
        executor=services.report_executor,
        ledger=ledger_status(services.ledger),
    )
    base_url = settings.public_url or _own_address(request)
    if format == "markdown":
        body = render_markdown(report, base_url)
    elif format == "html":
        body = render_html(report, base_url)
    else:
        body = report.model_dump_json()
    return Response(body, media_type=MEDIA_TYPES[format])


def _own_address(request: Request) -> str | None:
    """This request's base address, if it is a plain http(s) one (the Host header is the
    client's to write); None: the sources are plain text."""
    try:
        return check_base_url(str(request.base_url))
    except ValueError:
        return None
