"""The ``kam`` command line."""

from __future__ import annotations

import logging.config
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from kam_api import cli_store, cli_webhooks
from kam_api.bootstrap import Services, open_services
from kam_api.cli_errors import (
    UNREACHABLE,
    USER_ERROR,
    UserError,
    check_new_store_location,
    check_output_folder,
    did_you_mean,
    settings_error,
    unreachable,
)
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
                    app, views, names, progress=progress, weights=settings.health_weights
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


@cli.command("handover-report")
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
    from kam_projections.portfolio import account_names
    from kam_projections.rebuild import rebuild_stale

    projector = services.projector
    rebuild_stale(projector)
    projector.catch_up()
    return did_you_mean(account, account_names(services.views))


def serve_url(host: str, port: int) -> str:
    """The address to open for a service listening on ``host``: a wildcard (all interfaces)
    is reached on this machine at 127.0.0.1 (``::1`` for IPv6); an IPv6 address is bracketed."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


# The trusted record's commands (kam_api.cli_store).
cli.command("db-setup")(cli_store.db_setup)
cli.command()(cli_store.verify)
cli.command("ledger-key")(cli_store.ledger_key)
cli.command()(cli_store.checkpoint)
cli.add_typer(cli_store.keys_cli, name="keys")
cli.command()(digest_cli.digest)


accounts_cli = typer.Typer(help="Key accounts.")
cli.add_typer(accounts_cli, name="accounts")


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
    from kam_projections.portfolio import SORTS, PortfolioFilter, portfolio_rows
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


users_cli = typer.Typer(help="Users and their tokens.")
cli.add_typer(users_cli, name="users")
cli.add_typer(cli_webhooks.webhooks_cli, name="webhooks")


def cli_actor() -> str:
    """Who the users log records for a change made from the command line: ``cli:<OS user>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


@users_cli.command("add")
def users_add(
    name: str = typer.Argument(..., help="User name (the actor recorded on their events)"),
    role: str = typer.Option(..., "--role", help="admin | director | manager | auditor | viewer"),
    email: str | None = typer.Option(
        None, "--email", help="Where their digest is sent (`kam digest --send`)"
    ),
) -> None:
    """Creates a user; prints their token alone on the last line (it is shown only once)."""
    from kam_api.auth import Role, UserExistsError

    try:
        chosen = Role(role)
    except ValueError:
        typer.echo(f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2) from None
    with open_services() as services:
        try:
            token = services.users.add(name, chosen, actor=cli_actor(), email=email)
        except (UserExistsError, ValueError) as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"created {chosen.value} {name}; their token (shown only this once):")
    typer.echo(token)


@users_cli.command("bootstrap")
def users_bootstrap(
    host: str = typer.Option("127.0.0.1", help="Where the service will listen"),
    port: int = typer.Option(8000, help="Its port"),
) -> None:
    """On first run (no users yet) creates an admin with a token and a web password, and
    prints both with the address to open."""
    from kam_api.auth import Role, new_password

    url = serve_url(host, port)
    with open_services() as services:
        users = services.users
        if users.count():
            typer.echo(f"Open {url}/ and sign in (`kam users set-password NAME` sets a password).")
            typer.echo(f"API docs: {url}/docs")
            return
        token = users.add("admin", Role.ADMIN, actor=cli_actor())
        password = new_password()
        users.set_password("admin", password, actor=cli_actor())
    typer.echo(f"created the first user, admin. Open {url}/ and sign in:")
    typer.echo("  user name: admin")
    typer.echo(f"  password:  {password}   (shown only this once; `kam users set-password admin`)")
    typer.echo(f"API docs: {url}/docs. Admin API token (shown only this once; keep it):")
    typer.echo(token)


@users_cli.command("list")
def users_list(
    log: bool = typer.Option(False, "--log", help="Also print the log of changes to users"),
) -> None:
    """Lists the users: name, role, status and when created (never a token or its hash)."""
    with open_services() as services:
        users = services.users
        rows = users.all()
        changes = users.log() if log else []
    for row in rows:
        status = "active" if row.active else f"revoked {row.revoked_at}"
        email = row.email or "no e-mail"
        typer.echo(f"{row.name}\t{row.role}\t{status}\tcreated {row.created_at}\t{email}")
    for change in changes:
        typer.echo(
            f"{change.seq}\t{change.at}\t{change.actor}\t{change.change}\t"
            f"{change.user_name} ({change.role})"
        )


@users_cli.command("revoke")
def users_revoke(name: str = typer.Argument(..., help="The user to revoke")) -> None:
    """Revokes a user: their token stops working (other running services: within 30 s) and
    no one may name them as a new manager or owner. Logged."""
    from kam_api.auth import UserChangeRefusedError, UserNotFoundError

    with open_services() as services:
        try:
            services.users.revoke(name, actor=cli_actor())
        except (UserNotFoundError, UserChangeRefusedError) as error:
            typer.echo(str(error).strip("'\""), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"revoked {name}")


@users_cli.command("set-email")
def users_set_email(
    name: str = typer.Argument(..., help="The user"),
    email: str | None = typer.Argument(None, help="Their address; leave out with --remove"),
    remove: bool = typer.Option(False, "--remove", help="Remove their address"),
) -> None:
    """Sets the e-mail address a user's digest is sent to (or removes it). Logged, without
    the address."""
    from kam_api.auth import UserChangeRefusedError, UserNotFoundError

    if (email is None) != remove:
        typer.echo("give an address, or --remove", err=True)
        raise typer.Exit(2)
    with open_services() as services:
        try:
            services.users.set_email(name, email, actor=cli_actor())
        except (UserNotFoundError, UserChangeRefusedError, ValueError) as error:
            typer.echo(str(error).strip("'\""), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"{name}: e-mail {'removed' if remove else f'set to {email}'}")


@users_cli.command("rotate")
def users_rotate(name: str = typer.Argument(..., help="The user who gets a new token")) -> None:
    """Gives a user a new token, printed alone on the last line (shown only once); the old
    one stops working. Logged."""
    from kam_api.auth import UserChangeRefusedError, UserNotFoundError

    with open_services() as services:
        try:
            token = services.users.rotate(name, actor=cli_actor())
        except (UserNotFoundError, UserChangeRefusedError) as error:
            typer.echo(str(error).strip("'\""), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"new token for {name} (shown only this once; the old one no longer works):")
    typer.echo(token)


@users_cli.command("set-password")
def users_set_password(
    name: str = typer.Argument(..., help="The user who signs in to the web app with it"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input"
    ),
    generate: bool = typer.Option(
        False, "--generate", help="Make up a password and print it (shown only this once)"
    ),
) -> None:
    """Sets a user's web sign-in password (typed twice, read from standard input, or made up);
    their web sessions end. Logged; the password is kept only as an argon2 hash."""
    import sys

    from kam_api.auth import UserChangeRefusedError, UserNotFoundError, new_password
    from kam_projections.sessions import SessionTable

    if password_stdin and generate:
        typer.echo("choose one of --password-stdin and --generate", err=True)
        raise typer.Exit(2)
    if generate:
        password = new_password()
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_services() as services:
        try:
            services.users.set_password(name, password, actor=cli_actor())
        except (UserNotFoundError, UserChangeRefusedError, ValueError) as error:
            typer.echo(str(error).strip("'\""), err=True)
            raise typer.Exit(1) from None
        sessions = SessionTable(services.views)
        sessions.setup()
        sessions.delete_user(name)
    typer.echo(f"password set for {name}; their web sessions have ended")
    if generate:
        typer.echo(password)


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
