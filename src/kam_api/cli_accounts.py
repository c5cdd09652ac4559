"""``kam accounts`` and ``kam handover-report``: the key accounts and one account's report,
read from the read models (brought up to date first). ``kam_api.cli`` registers them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from kam_api.bootstrap import Services, open_services
from kam_api.cli_errors import USER_ERROR, check_output_folder, did_you_mean
from kam_domain.application import KamApplication

accounts_cli = typer.Typer(help="Key accounts.")


@accounts_cli.command("list")
def accounts_list(
    q: Annotated[
        str | None,
        typer.Option("--q", help="Only accounts whose name contains this (case, accents ignored)"),
    ] = None,
    tier: Annotated[str | None, typer.Option(help="Only this tier")] = None,
    manager: Annotated[str | None, typer.Option(help="Only this manager's accounts")] = None,
    sort: Annotated[str, typer.Option(help="revenue, name or health")] = "name",
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Every portfolio column as CSV, as GET /portfolio gives")
    ] = False,
) -> None:
    """Lists the key accounts (not exited): name, tier, manager, revenue in the reporting
    currency, health band and id, tab-separated (read models brought up to date first)."""
    from kam_api.csv_export import csv_lines, pages
    from kam_api.schemas.reads import PortfolioRowPublic
    from kam_domain.values import Tier
    from kam_projections.pagination import Page
    from kam_projections.portfolio_reads import SORTS, PortfolioFilter, portfolio_rows
    from kam_projections.rebuild import rebuild_stale

    tiers = [t.value for t in Tier]
    if sort not in SORTS:
        raise typer.BadParameter(f"must be one of {', '.join(SORTS)}", param_hint="--sort")
    if tier is not None and tier not in tiers:
        raise typer.BadParameter(f"must be one of {', '.join(tiers)}", param_hint="--tier")
    if q is not None and not q.strip():
        raise typer.BadParameter("must not be blank", param_hint="--q")
    where = PortfolioFilter(tier=tier, manager=manager, q=q)
    with open_services() as services:
        settings, views, projector = services.settings, services.views, services.projector
        rebuild_stale(projector)
        projector.catch_up()

        def fetch(cursor: str | None, size: int) -> Page:
            return portfolio_rows(
                views, where, today=settings.clock(), sort=sort, limit=size, cursor=cursor,
                clv=settings.clv,
            )  # fmt: skip

        batches = (
            [PortfolioRowPublic.model_validate(r) for r in page.items]
            for page in pages(fetch, None)
        )
        if as_csv:
            header = list(PortfolioRowPublic.model_fields)
            dumped = ([r.model_dump(mode="json") for r in batch] for batch in batches)
            for text in csv_lines(header, dumped):
                typer.echo(text, nl=False)
            return
        for batch in batches:
            for row in batch:
                revenue = "" if row.revenue is None else f"{row.revenue:.2f}"
                fields = [row.name, row.tier, row.manager, revenue or None, row.health_band]
                cells = [str(f) if f is not None else "-" for f in fields]
                typer.echo("\t".join([*cells, str(row.account_id)]))


def handover_report(
    account: str = typer.Argument(help="The account's id, or its name (any case)"),
    format: str = typer.Option(
        "markdown", "--format", "-f", help="markdown, html or json", case_sensitive=False
    ),
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file, not standard output"),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="The service's address (e.g. https://kam.example.com): sources link to the "
            "events in the account's history there; default KAM_PUBLIC_URL, else plain text",
        ),
    ] = None,
) -> None:
    """Prints the handover report of one account (read models brought up to date first)."""
    from kam_api.presenters import ledger_status
    from kam_api.report import render_html, render_markdown
    from kam_api.report.document import check_base_url
    from kam_domain.errors import NotFoundError
    from kam_projections.handover import build_report
    from kam_projections.rebuild import rebuild_stale

    format = format.lower()
    if format not in ("markdown", "html", "json"):
        raise typer.BadParameter("must be markdown, html or json", param_hint="--format")
    check_output_folder(output)
    if base_url is not None:
        try:
            base_url = check_base_url(base_url)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--base-url") from None
    with open_services() as services:
        settings, app, views = services.settings, services.app, services.views
        base_url = base_url or settings.public_url
        try:
            account_id = _account_id(app, account)
            projector = services.projector
            rebuild_stale(projector)
            behind = (app.recorder.max_notification_id() or 0) - projector.position()
            if behind > 0:
                typer.echo(f"bringing the read models up to date ({behind} events)...", err=True)
                projector.catch_up()
            report = build_report(
                app,
                views,
                account_id,
                today=settings.clock(),
                weights=settings.health_weights,
                executor=services.report_executor,
                ledger=ledger_status(services.ledger),
            )
        except NotFoundError as error:
            typer.echo(f"kam: {error}{_suggestion(services, account)}", err=True)
            raise typer.Exit(USER_ERROR) from None
    if format == "markdown":
        text = render_markdown(report, base_url)
    elif format == "html":
        text = render_html(report, base_url)
    else:
        text = report.model_dump_json(indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


def _account_id(app: KamApplication, account: str) -> UUID:
    """An account named by id or by name (names are unique, case-insensitively)."""
    from kam_domain.errors import NotFoundError
    from kam_domain.indexes import AccountName

    try:
        return UUID(account)
    except ValueError:
        pass
    try:
        index = app.load(AccountName, AccountName.create_id(account), fresh=True)
    except NotFoundError:
        raise NotFoundError(f"no account named {account!r}") from None
    return index.account_id


def _suggestion(services: Services, account: str) -> str:
    """``; did you mean ...?`` naming the accounts whose names are closest to ``account``."""
    from kam_projections.portfolio_reads import account_names
    from kam_projections.rebuild import rebuild_stale

    projector = services.projector
    rebuild_stale(projector)
    projector.catch_up()
    return did_you_mean(account, account_names(services.views))
