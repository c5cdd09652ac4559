"""``kam users``: the users, their roles, tokens, passwords and e-mail addresses; every change
logged with the command line's actor. ``kam_api.cli`` registers them."""

from __future__ import annotations

import typer

from kam_api.bootstrap import open_services


def serve_url(host: str, port: int) -> str:
    """The address to open for a service listening on ``host``: a wildcard (all interfaces)
    is reached on this machine at 127.0.0.1 (``::1`` for IPv6); an IPv6 address is bracketed."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


users_cli = typer.Typer(help="Users and their tokens.")


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
