"""The handover report in the app: the same document as the API's HTML report, inside the
account's page, its sources opening each event's page; and its downloads for a session."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from kam_api.bootstrap import Services
from kam_api.presenters import ledger_status
from kam_api.report import render_html, render_markdown
from kam_api.report.document import check_base_url
from kam_api.report.html import render_html_body
from kam_api.routes.report import MEDIA_TYPES
from kam_api.settings import Settings
from kam_api.web.auth import PageStoreReader
from kam_api.web.templating import pages_of
from kam_domain.application import KamApplication
from kam_projections.handover import build_report
from kam_projections.handover.model import HandoverReport

router = APIRouter(include_in_schema=False)

#: A download's file extension → the report's format.
DOWNLOADS: dict[str, Literal["json", "markdown", "html"]] = {
    "json": "json",
    "md": "markdown",
    "html": "html",
}


def event_page(position: int) -> str:
    """Where the app shows one event."""
    return f"/app/events/{position}"


def _report(request: Request, account_id: UUID) -> HandoverReport:
    """The account's handover report as the API builds it (404 for an unknown account)."""
    kam: KamApplication = request.app.state.kam
    settings: Settings = request.app.state.settings
    services: Services = request.app.state.services
    kam.get_account(account_id)
    return build_report(
        kam,
        request.app.state.views,
        account_id,
        today=settings.clock(),
        weights=settings.health_weights,
        executor=services.report_executor,
        ledger=ledger_status(services.ledger),
    )


def _own_address(request: Request) -> str | None:
    """This request's base address if it is a plain http(s) one (as the API's report route
    decides); None: the downloaded report's sources are plain text."""
    try:
        return check_base_url(str(request.base_url))
    except ValueError:
        return None


@router.get("/app/accounts/{account_id}/handover", response_class=HTMLResponse)
def handover(request: Request, account_id: UUID, user: PageStoreReader) -> HTMLResponse:
    """The handover report, printable, its sources linked to the events' pages."""
    report = _report(request, account_id)
    name = request.app.state.kam.get_account(account_id).name
    # The writer escapes every piece of text the history holds (kam_api.report.html).
    body = Markup(render_html_body(report, event_page))
    return pages_of(request).render(
        request,
        "account/handover.html",
        {
            "title": f"Handover · {name}",
            "account_id": account_id,
            "account_name": name,
            "tab": "handover",
            "as_of_query": "",
            "report_html": body,
            "downloads": [
                (f"/app/accounts/{account_id}/handover.{ext}", label)
                for ext, label in (("md", "Markdown"), ("html", "HTML page"), ("json", "JSON"))
            ],
        },
    )


@router.get("/app/accounts/{account_id}/handover.{extension}")
def handover_download(
    request: Request, account_id: UUID, extension: str, user: PageStoreReader
) -> Response:
    """The report as the API answers it (Markdown, HTML or JSON), as a file to save."""
    kind = DOWNLOADS.get(extension)
    if kind is None:
        raise HTTPException(404, "There is no such download: use .md, .html or .json.")
    report = _report(request, account_id)
    settings: Settings = request.app.state.settings
    base_url = settings.public_url or _own_address(request)
    if kind == "markdown":
        body = render_markdown(report, base_url)
    elif kind == "html":
        body = render_html(report, base_url)
    else:
        body = report.model_dump_json()
    filename = f"handover-{account_id}.{extension}"
    return Response(
        body,
        media_type=MEDIA_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
