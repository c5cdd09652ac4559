"""The ``kam`` command line."""

from __future__ import annotations

from collections import Counter

import typer

from kam_api.bootstrap import open_application
from kam_api.settings import Settings

cli = typer.Typer(help="KAM Ledger: key accounts, plans and relationships as an event history.")


@cli.callback()
def _root() -> None:
    """KAM Ledger command line."""


@cli.command()
def status() -> None:
    """Prints what the event store holds: events per type, aggregates, accounts per tier."""
    settings = Settings()
    app = open_application(settings)
    try:
        last = app.recorder.max_notification_id() or 0
        per_type: Counter[str] = Counter()
        aggregates: Counter[str] = Counter()
        start = 1
        while start <= last:
            batch = app.recorder.select_notifications(start, limit=1000)
            if not batch:
                break
            for n in batch:
                event_name = n.topic.rsplit(":", 1)[-1]
                per_type[event_name] += 1
                if n.originator_version == 1:
                    aggregates[event_name.split(".")[0]] += 1
            start = batch[-1].id + 1
        typer.echo(f"store: {settings.database_url}")
        typer.echo(f"events: {sum(per_type.values())} (last position {last})")
        for name, count in sorted(aggregates.items()):
            typer.echo(f"  {name}: {count} aggregates")
        for name, count in sorted(per_type.items()):
            typer.echo(f"  {name}: {count}")
        counts = app.tier_counts()
        caps = settings.tier_caps
        typer.echo("tiers: " + ", ".join(f"{t.value} {counts[t]}/{caps[t]}" for t in counts))
    finally:
        app.close()


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8000, help="TCP port"),
    workers: int = typer.Option(1, min=1, help="Worker processes"),
) -> None:
    """Runs the HTTP API with uvicorn on the store named by KAM_DATABASE_URL."""
    import uvicorn

    settings = Settings()
    typer.echo(f"KAM Ledger on http://{host}:{port} (docs at /docs), store {settings.database_url}")
    uvicorn.run(
        "kam_api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def main() -> None:
    cli()
