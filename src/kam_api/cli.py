"""The ``kam`` command line."""

from __future__ import annotations

import logging.config
import shlex
import sys
from collections import Counter

import typer

from kam_api import cli_accounts, cli_store, cli_users, cli_webhooks
from kam_api.bootstrap import Services, open_services
from kam_api.cli_errors import (
    UNREACHABLE,
    USER_ERROR,
    UserError,
    check_new_store_location,
    settings_error,
    unreachable,
)
from kam_api.cli_users import cli_actor, serve_url
from kam_api.digest import cli as digest_cli
from kam_api.settings import Settings
from kam_domain.application import KamApplication
from kam_projections.projector import MODEL_NAMES
from kam_store.crypto import MasterKey, MasterKeyError

#: ``kam rebuild --model`` help, naming the read models there are.
REBUILD_MODEL_HELP = (
    f"Read model to rebuild (repeatable): one of {', '.join(MODEL_NAMES)}; "
    f"all {len(MODEL_NAMES)} by default"
)

#: The store of ``kam`` with no KAM_DATABASE_URL (./var/kam.db): its folder may be created.
DEFAULT_DATABASE_URL = str(Settings.model_fields["database_url"].default)

cli = typer.Typer(help="KAM Ledger: key accounts, plans and relationships as an event history.")


@cli.callback()
def _root() -> None:
    """KAM Ledger command line."""


@cli.command()
def status() -> None:
    """Prints what the event store holds: events per type, aggregates, accounts per tier."""
    # A missing folder is a typo, not a new store (but for the default URL's ./var).
    check_new_store_location(Settings().database, DEFAULT_DATABASE_URL)
    with open_services() as services:
        settings, app = services.settings, services.app
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
        _personal_data_status(app, settings.master())


def _personal_data_status(app: KamApplication, master: MasterKey | None) -> None:
    """Encryption on or off, people with keys, erased people, and personal data in clear."""
    from kam_store.crypto import PersonalDataMapper

    mapper = app.mapper
    assert isinstance(mapper, PersonalDataMapper)
    if master is None:
        typer.echo(
            "personal data: stored in CLEAR (plaintext mode: set KAM_MASTER_KEY or "
            "KAM_MASTER_KEY_FILE to encrypt it per person)"
        )
    else:
        typer.echo(f"personal data: encrypted per person (master key id {master.key_id})")
    with_keys, erased = mapper.keys.table.counts()
    typer.echo(f"  people with keys: {with_keys}, erased people: {erased}")
    plain = 0
    last = app.recorder.max_notification_id() or 0
    start = 1
    while start <= last:
        batch = app.recorder.select_notifications(start, limit=1000)
        if not batch:
            break
        plain += sum(1 for n in batch if mapper.holds_plain_personal_data(n))
        start = batch[-1].id + 1
    typer.echo(
        f"  events holding personal data in clear: {plain}"
        + (" (written before encryption; erased people's are hidden on read)" if master else "")
    )


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8000, help="TCP port"),
    workers: int = typer.Option(1, min=1, help="Worker processes"),
) -> None:
    """Runs the HTTP API with uvicorn on the store named by KAM_DATABASE_URL."""
    import uvicorn

    from kam_api.observability import log_config

    # A mistyped URL or a missing folder never becomes a new, empty store.
    new = check_new_store_location(Settings().database, DEFAULT_DATABASE_URL)
    with open_services() as services:  # the banner names the store the settings name
        store = services.settings.database_url
        log_format = services.settings.log_format
        # Opening the application refuses a store whose keys the settings cannot open.
        events = services.app.recorder.max_notification_id() or 0
    if new or not events:
        typer.echo(
            f"starting on an EMPTY store ({'created now' if new else 'no events yet'}): "
            f"{store}; if you expected your data here, check KAM_DATABASE_URL",
            err=True,
        )
    url = serve_url(host, port)
    typer.echo(f"KAM Ledger on {url} (docs at {url}/docs), store {store}")
    uvicorn.run(
        "kam_api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=log_config(log_format),
    )


@cli.command()
def project(
    poll_interval: float = typer.Option(2.0, help="Seconds between polls when no NOTIFY comes"),
    workers: int = typer.Option(
        1,
        min=1,
        max=len(MODEL_NAMES),
        help="Processes feeding the read models, split among them by cost; each group has its "
        "own tracked positions and lock, so a group is active in one process of all started",
    ),
    model: list[str] = typer.Option(  # noqa: B008
        [], "--model", "-m", help="Feed only this read model (repeatable; what a worker runs)"
    ),
) -> None:
    """Runs the standalone projector (PostgreSQL): one active instance per group of read
    models, others stand by."""
    from kam_api.observability import log_config
    from kam_projections.db import PostgresViews
    from kam_projections.projector import Projector, build_models, model_groups
    from kam_projections.standalone import StandaloneProjector, run_workers, stop_with_parent

    unknown = sorted(set(model) - set(MODEL_NAMES))
    if unknown:
        raise typer.BadParameter(
            f"unknown read model {', '.join(unknown)}; one of {', '.join(MODEL_NAMES)}",
            param_hint="--model",
        )
    if workers > 1:
        if model:
            raise typer.BadParameter("give --workers or --model, not both", param_hint="--model")
        command = [sys.executable, "-c", "from kam_api.cli import main; main()", "project"]
        command += ["--poll-interval", str(poll_interval)]
        groups = model_groups(workers)
        raise typer.Exit(
            run_workers([[*command, *(f"--model={n}" for n in group)] for group in groups])
        )
    with open_services() as services:
        logging.config.dictConfig(log_config(services.settings.log_format))
        if not services.database.is_postgres:
            typer.echo(
                "kam project needs PostgreSQL (KAM_DATABASE_URL=postgresql://...); on SQLite "
                "the projector runs inside `kam serve`.",
                err=True,
            )
            raise typer.Exit(2)
        app = services.app
        views = services.views
        assert isinstance(views, PostgresViews)
        projector, name = services.projector, "kam-projector"
        if model:
            names = [n for n in MODEL_NAMES if n in model]
            models = build_models(services.settings.health_weights, app.reporting_currency)
            projector = Projector(
                app,
                views,
                [m for m in models if m.name in names],
                clock=services.settings.clock,
                peers=MODEL_NAMES,
            )
            name = f"kam-projector:{'+'.join(names)}"
        runner = StandaloneProjector(
            projector,
            views,
            channel=app.recorder.channel_name,  # type: ignore[attr-defined]
            poll_interval=poll_interval,
            name=name,
        )
        runner.install_signal_handlers()
        if model:
            stop_with_parent(runner.stop)
        runner.run()


@cli.command()
def rebuild(
    model: list[str] = typer.Option(  # noqa: B008
        [], "--model", "-m", help=REBUILD_MODEL_HELP
    ),
) -> None:
    """Rebuilds read models from the whole log into fresh tables, then swaps them in."""
    from kam_projections.rebuild import UnknownReadModelError
    from kam_projections.rebuild import rebuild as rebuild_models

    with open_services() as services:
        settings, app, views = services.settings, services.app, services.views
        names = model or list(MODEL_NAMES)
        head = app.recorder.max_notification_id() or 0
        label = f"rebuilding {', '.join(names)}"
        try:
            with typer.progressbar(length=max(head, 1), label=label) as bar:
                done = [0]

                def progress(position: int, total: int) -> None:
                    bar.update(position - done[0])
                    done[0] = position

                position = rebuild_models(
                    app,
                    views,
                    names,
                    progress=progress,
                    weights=settings.health_weights,
                    clock=settings.clock,  # KAM_TODAY, as the projector's
                    row_cache_size=settings.rebuild_row_cache_size,
                )
        except UnknownReadModelError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from None
    typer.echo(f"rebuilt {', '.join(names)} to position {position}")


@cli.command()
def demo(
    accounts: int = typer.Option(60, "--accounts", min=1, help="How many demo accounts"),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed, same portfolio)"),
) -> None:
    """Loads a realistic, deterministic demo portfolio (two years of history ending today)."""
    from kam_api.demo import DemoAlreadyLoadedError, load_demo

    with open_services() as services:
        settings = services.settings
        created, password = _demo_users(services)
        if created:
            typer.echo(f"created demo users (no tokens): {', '.join(created)}")
            typer.echo(
                f"  web sign-in: any of them with the password {password} (shown only this "
                f"once; the first, {created[0]}, is a director if new, the others managers)"
            )
        try:
            with typer.progressbar(length=100, label="loading the demo history") as bar:
                shown = [0]

                def progress(done: int, total: int) -> None:
                    percent = done * 100 // total
                    bar.update(percent - shown[0])
                    shown[0] = percent

                summary = load_demo(
                    services.app,
                    accounts=accounts,
                    seed=seed,
                    today=settings.clock(),
                    progress=progress,
                )
        except DemoAlreadyLoadedError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from None
    tiers = ", ".join(f"{tier} {count}" for tier, count in sorted(summary.tiers.items()))
    typer.echo(f"loaded {summary.accounts} demo accounts into {settings.database_url}")
    typer.echo(f"  tiers: {tiers}")
    typer.echo(
        f"  stakeholders: {summary.stakeholders}, plans: {summary.plans}, "
        f"handovers: {summary.handovers}"
    )
    revenue = ", ".join(f"{c} {a:,}" for c, a in sorted(summary.last_quarter_revenue.items()))
    typer.echo(f"  last-quarter revenue: {revenue} (and exchange rates to EUR each quarter)")
    typer.echo(f"  commands: {summary.commands} (last position {summary.last_position})")
    if summary.refused or summary.skipped:
        typer.echo(f"  refused: {summary.refused}, skipped: {summary.skipped} (a generator bug)")
    if summary.handed_over:
        # The report reads the sealed personal data: with the same master key.
        key = (
            f"KAM_MASTER_KEY_FILE={shlex.quote(settings.master_key_file)} "
            if settings.master_key_file
            and not (settings.master_key and settings.master_key.get_secret_value().strip())
            else ""
        )
        typer.echo(
            f"try: {key}.venv/bin/kam handover-report {shlex.quote(summary.handed_over[0])} "
            "--format markdown"
        )


def _demo_users(services: Services) -> tuple[list[str], str | None]:
    """Creates the users the demo names as managers, team members and owners (managers; its
    director a director) that do not exist yet, with no tokens and one made-up web password
    for all of them: the commands that name them must name users. Returns the names created
    and their password (None when none was created)."""
    from kam_api.auth import Role, UserExistsError, new_password
    from kam_api.demo.words import DIRECTOR, MANAGERS, SPECIALISTS

    people = {DIRECTOR: Role.DIRECTOR} | dict.fromkeys((*MANAGERS, *SPECIALISTS), Role.MANAGER)
    created = []
    password = new_password()
    for name, role in people.items():
        if services.users.get(name) is None:
            try:
                services.users.add(name, role, actor=cli_actor())
            except UserExistsError:  # another process made them meanwhile
                continue
            services.users.set_password(name, password, actor=cli_actor())
            created.append(name)
    return created, (password if created else None)


# The trusted record's commands (kam_api.cli_store).
cli.command("db-setup")(cli_store.db_setup)
cli.command()(cli_store.verify)
cli.command("ledger-key")(cli_store.ledger_key)
cli.command()(cli_store.checkpoint)
cli.add_typer(cli_store.keys_cli, name="keys")
cli.command()(digest_cli.digest)


# Accounts, users and webhooks (kam_api.cli_accounts, cli_users, cli_webhooks).
cli.command("handover-report")(cli_accounts.handover_report)
cli.add_typer(cli_accounts.accounts_cli, name="accounts")
cli.add_typer(cli_users.users_cli, name="users")
cli.add_typer(cli_webhooks.webhooks_cli, name="webhooks")


def main() -> None:
    from pydantic import ValidationError

    from kam_store.url import DatabaseURLError

    try:
        cli()
    except MasterKeyError as error:
        typer.echo(f"kam: {error}", err=True)
        raise SystemExit(1) from None
    except (UserError, DatabaseURLError) as error:
        typer.echo(f"kam: {error}", err=True)
        raise SystemExit(USER_ERROR) from None
    except ValidationError as error:  # the settings (KAM_*) do not read
        typer.echo(f"kam: {settings_error(error)}", err=True)
        raise SystemExit(USER_ERROR) from None
    except UNREACHABLE as error:
        typer.echo(f"kam: {unreachable(Settings().database, error)}", err=True)
        raise SystemExit(USER_ERROR) from None
