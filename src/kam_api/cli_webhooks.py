"""``kam webhooks``: subscriptions, their delivery log and replays, from the command line
(the same as ``/webhooks``; the running service delivers)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from pydantic import ValidationError

from kam_api.bootstrap import open_services
from kam_api.cli_users import cli_actor
from kam_api.schemas.webhooks import WebhookCreate
from kam_api.webhooks.subscribe import subscribe
from kam_projections.webhooks import SubscriptionNotFoundError

webhooks_cli = typer.Typer(help="Webhook subscriptions: the event log pushed to a URL.")


def _unknown(subscription_id: str) -> typer.Exit:
    typer.echo(f"no webhook subscription {subscription_id}", err=True)
    return typer.Exit(1)


@webhooks_cli.command("add")
def webhooks_add(
    url: str = typer.Argument(..., help="http:// or https:// address to POST events to"),
    event_type: Annotated[
        list[str] | None,
        typer.Option(
            "--type", help="Only this event type (repeatable), e.g. Classified; default: all"
        ),
    ] = None,
    secret: str | None = typer.Option(
        None, "--secret", help="whsec_... signing secret; default: a new one"
    ),
    after: int | None = typer.Option(
        None, "--after", help="Deliver events after this position (0: all); default: from now"
    ),
) -> None:
    """Subscribes a URL; prints its id and, alone on the last line, its secret (shown once)."""
    try:
        request = WebhookCreate(url=url, event_types=event_type or [], secret=secret, after=after)
    except ValidationError as error:
        for problem in error.errors():
            typer.echo(f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}", err=True)
        raise typer.Exit(2) from None
    with open_services() as services:
        subscription, shown = subscribe(services.webhooks, services.app, request, actor=cli_actor())
    typer.echo(f"created webhook {subscription.id} from position {subscription.position}")
    typer.echo("its signing secret (shown only this once):")
    typer.echo(shown)


@webhooks_cli.command("list")
def webhooks_list() -> None:
    """Lists the subscriptions: id, status, position, URL, types, last error (no secrets)."""
    with open_services() as services:
        rows = services.webhooks.all()
    for s in rows:
        types = ",".join(s.event_types) or "*"
        error = f"\t{s.last_error} ({s.attempts} attempts)" if s.last_error else ""
        typer.echo(f"{s.id}\t{s.status}\t{s.position}\t{s.url}\t{types}{error}")


@webhooks_cli.command("remove")
def webhooks_remove(subscription_id: str = typer.Argument(..., help="The subscription")) -> None:
    """Removes a subscription: nothing more is delivered and its secret is wiped."""
    with open_services() as services:
        try:
            services.webhooks.disable(subscription_id)
        except SubscriptionNotFoundError:
            raise _unknown(subscription_id) from None
    typer.echo(f"removed webhook {subscription_id}")


@webhooks_cli.command("deliveries")
def webhooks_deliveries(
    subscription_id: str = typer.Argument(..., help="The subscription"),
    limit: int = typer.Option(50, min=1, max=1000, help="How many attempts, newest first"),
) -> None:
    """A subscription's delivery log: attempt time, event position, attempt number, status
    code or error, duration."""
    with open_services() as services:
        try:
            attempts = services.webhooks.deliveries(subscription_id, limit=limit)
        except SubscriptionNotFoundError:
            raise _unknown(subscription_id) from None
    for a in attempts:
        outcome = str(a.status_code) if a.status_code is not None else a.error
        typer.echo(
            f"{a.attempted_at}\t{a.position}\t#{a.attempt}\t{outcome}\t{a.duration_ms:.1f} ms"
        )


@webhooks_cli.command("replay")
def webhooks_replay(
    subscription_id: str = typer.Argument(..., help="The subscription"),
    after: int = typer.Option(..., "--after", min=0, help="Deliver again every event after it"),
) -> None:
    """Delivers again every event after a position, in order (resumes a paused one)."""
    with open_services() as services:
        try:
            services.webhooks.replay(subscription_id, after, time.time())
        except SubscriptionNotFoundError:
            raise _unknown(subscription_id) from None
    typer.echo(f"webhook {subscription_id} delivers again from after position {after}")
