"""``kam digest``: print every manager's digest, or e-mail it (``--send``) to those with an
address and something to report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from kam_api.bootstrap import open_services
from kam_api.digest.build import DEFAULT_WITHIN_DAYS, MAX_WITHIN_DAYS, manager_digest
from kam_api.digest.mail import MailError, digest_message, send_all
from kam_api.digest.render import digest_html, digest_markdown
from kam_projections.digest import Digest


def digest(
    manager: Annotated[
        str | None, typer.Option("--manager", help="Only this manager's digest")
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="E-mail each digest with something in it to its manager's address, through "
            "KAM_SMTP_HOST (not: print them)",
        ),
    ] = False,
    format: Annotated[
        str,
        typer.Option("--format", "-f", help="markdown, html or json (printing only)"),
    ] = "markdown",
    due_within_days: Annotated[
        int,
        typer.Option(
            "--due-within-days", min=0, max=MAX_WITHIN_DAYS, help="'Due soon' means within"
        ),
    ] = DEFAULT_WITHIN_DAYS,
) -> None:
    """Prints what needs each manager's attention today (overdue and due actions, key people
    not contacted, handovers to acknowledge, reviews and re-evaluations due), or e-mails it."""
    from kam_api.auth import MANAGING_ROLES, Role
    from kam_projections.rebuild import rebuild_stale

    format = format.lower()
    if format not in ("markdown", "html", "json"):
        raise typer.BadParameter("must be markdown, html or json", param_hint="--format")
    with open_services() as services:
        settings = services.settings
        smtp = None
        if send:
            try:
                smtp = settings.smtp()
            except ValueError as error:
                typer.echo(f"kam digest: {error}", err=True)
                raise typer.Exit(2) from None
        people = [u for u in services.users.all() if u.active and Role(u.role) in MANAGING_ROLES]
        if manager is not None:
            people = [u for u in people if u.name == manager]
            if not people:
                typer.echo(f"kam digest: no active manager named {manager!r}", err=True)
                raise typer.Exit(1)
        projector = services.projector
        rebuild_stale(projector)
        app = services.app
        if (app.recorder.max_notification_id() or 0) > projector.position():
            projector.catch_up()
        today = settings.clock()
        digests = [
            (
                user,
                manager_digest(
                    app, services.views, user.name, today=today, within_days=due_within_days
                ),
            )
            for user in people
        ]
    if smtp is None:
        _print(digests_with_items(digests), format)
        return
    messages, recipients = [], []
    for user, found in digests:
        if found.empty:
            typer.echo(f"{user.name}: nothing to report, not sent")
        elif not user.email:
            typer.echo(f"{user.name}: no e-mail address, not sent (kam users set-email)")
        else:
            messages.append(digest_message(found, smtp.sender, user.email))
            recipients.append((user.name, user.email))
    if not messages:
        typer.echo("no digest to send")
        return
    try:
        send_all(smtp, messages)
    except MailError as error:
        typer.echo(f"kam digest: {error}", err=True)
        raise typer.Exit(1) from None
    for name, address in recipients:
        typer.echo(f"{name}: sent to {address}")


def digests_with_items(digests: Sequence[tuple[object, Digest]]) -> list[Digest]:
    """The digests with something to report; says on standard error whose have nothing."""
    shown = []
    for _, found in digests:
        if found.empty:
            typer.echo(f"{found.manager}: nothing to report", err=True)
        else:
            shown.append(found)
    return shown


def _print(digests: list[Digest], format: str) -> None:
    if format == "json":
        typer.echo("[" + ",\n".join(d.model_dump_json(indent=2) for d in digests) + "]")
        return
    render = digest_markdown if format == "markdown" else digest_html
    typer.echo("\n".join(render(d) for d in digests), nl=False)
