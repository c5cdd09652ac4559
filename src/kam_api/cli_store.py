"""The ``kam`` commands of the trusted record: the database roles (``db-setup``), the ledger
(``verify``, ``checkpoint``, ``ledger-key``) and the keys of personal data (``keys``).
``kam_api.cli`` registers them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kam_api.bootstrap import open_services
from kam_store.crypto import MasterKey, MasterKeyError


def db_setup(
    admin_url: str = typer.Option(
        ...,
        "--admin-url",
        envvar="KAM_ADMIN_DATABASE_URL",
        help="postgresql:// URL of a superuser (or a CREATEROLE role owning the schema); "
        "?schema= as the service's URL has it",
    ),
    owner: str = typer.Option("kam_owner", help="Role that owns the event store (NOLOGIN)"),
    service_role: str = typer.Option("kam_service", help="Role the service logs in as"),
    service_password: str | None = typer.Option(
        None,
        envvar="KAM_SERVICE_PASSWORD",
        help="The service role's password (kept as it is if not given)",
    ),
) -> None:
    """Creates the owner and service roles and the event store's tables as the owner; the
    service role may then only read and append events (PostgreSQL; idempotent)."""
    import psycopg

    from kam_projections.db import READ_MODEL_TABLE_PATTERNS
    from kam_store.roles import DatabaseSetupError, setup_database
    from kam_store.url import DatabaseURLError

    try:
        report = setup_database(
            admin_url,
            owner=owner,
            service=service_role,
            service_password=service_password,
            service_tables=READ_MODEL_TABLE_PATTERNS,
        )
    except (DatabaseSetupError, DatabaseURLError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    except psycopg.Error as error:
        typer.echo(f"the database refused the set-up: {error}", err=True)
        raise typer.Exit(1) from None
    for action in report.actions:
        typer.echo(f"  {action}")
    typer.echo(
        f"schema {report.schema}: {report.owner} owns the event store, {report.service} may "
        "read and append. Start the service as it with KAM_DATABASE_SETUP=false."
    )


def verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="A signed checkpoint (from GET /ledger/checkpoint)"),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="Verifier key file (GET /ledger/public-key); default: the configured key's",
        ),
    ] = None,
) -> None:
    """Re-hashes the whole log, checks every chain entry, the checkpoints the service handed
    out and the one given; exits 1 at the first bad position."""
    from kam_api.settings import Settings
    from kam_store.checkpoint import CheckpointError, VerifierKey
    from kam_store.verifier import open_reader, read_verifier_key
    from kam_store.verifier import verify as verify_store

    settings = Settings()
    key: VerifierKey | None = None
    text = None
    try:
        if public_key is not None:
            key = read_verifier_key(public_key)
        if key is None:
            # The configured key's verifier checks the stored checkpoints too.
            signing = settings.ledger_signing_key()
            key = signing.verifier if signing is not None else None
        if checkpoint is not None:
            text = checkpoint.read_text(encoding="utf-8")
            if key is None:
                raise CheckpointError("give --public-key (no ledger key is configured)")
    except (CheckpointError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    database = settings.database
    with open_reader(database) as reader:
        total = reader.last_seq()
    with typer.progressbar(length=max(total, 1), label="verifying the ledger") as bar:
        outcome = verify_store(database, checkpoint_text=text, key=key, progress=bar.update)
    for line in outcome.lines():
        typer.echo(line, err=not outcome.ok)
    if not outcome.ok:
        raise typer.Exit(1)


def ledger_key() -> None:
    """Creates the ledger signing key in KAM_LEDGER_KEY_FILE if there is none yet; prints the
    verifier key auditors check checkpoints with."""
    from kam_api.settings import Settings
    from kam_store.checkpoint import CheckpointError, SigningKey, write_key_file

    settings = Settings()
    path = settings.ledger_key_file
    if settings.ledger_key is None and path is not None and not path.exists():
        write_key_file(path, SigningKey.generate(settings.ledger_origin))
        typer.echo(f"created the ledger signing key in {path}", err=True)
    try:
        key = settings.ledger_signing_key()
    except (CheckpointError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if key is None:
        typer.echo("no ledger key: set KAM_LEDGER_KEY or KAM_LEDGER_KEY_FILE", err=True)
        raise typer.Exit(2)
    typer.echo(key.verifier.encode())


def checkpoint(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write it to this file")
    ] = None,
) -> None:
    """Signs a checkpoint of the verified log (as GET /ledger/checkpoint does) and prints it."""
    from kam_api.cli_errors import check_output_folder
    from kam_store.ledger import LedgerKeyMissingError

    check_output_folder(output)
    with open_services() as services:
        try:
            _, text = services.ledger.checkpoint()
        except LedgerKeyMissingError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        problem = services.ledger.verifier.problem
    if problem is not None:
        typer.echo(f"warning: the log verifies only up to the first bad {problem}", err=True)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


keys_cli = typer.Typer(help="The master key and each person's data key.")


@keys_cli.command("new")
def keys_new(
    file: Annotated[
        Path, typer.Argument(help="Where to write the new master key (never overwritten)")
    ],
) -> None:
    """Writes a new random master key to FILE (readable by its owner only)."""
    try:
        with file.open("x", encoding="ascii") as out:
            file.chmod(0o600)
            out.write(MasterKey.generate_base64() + "\n")
    except FileExistsError:
        typer.echo(f"{file} exists already; not overwritten", err=True)
        raise typer.Exit(1) from None
    key = MasterKey.from_base64(file.read_text(encoding="ascii"))
    typer.echo(f"wrote a new master key to {file} (id {key.key_id})")


@keys_cli.command("rotate")
def keys_rotate(
    new_key_file: Annotated[Path, typer.Option("--new-key-file", help="The new master key's file")],
) -> None:
    """Re-wraps every person's data key with a new master key, in one transaction.

    Stop the service first; then point KAM_MASTER_KEY_FILE at the new file and start it."""
    from kam_store.crypto import PersonalDataMapper

    try:
        new = MasterKey.from_base64(
            new_key_file.read_text(encoding="ascii"), source=f"--new-key-file {new_key_file}"
        )
    except OSError as error:
        raise MasterKeyError(f"--new-key-file {new_key_file}: {error}") from None
    with open_services() as services:
        old = services.settings.master()
        if old is None:
            raise MasterKeyError("no master key is set: nothing to rotate")
        mapper = services.app.mapper
        assert isinstance(mapper, PersonalDataMapper)
        count = mapper.keys.table.rewrap_all(
            lambda person, wrapped: new.wrap(person, old.unwrap(person, wrapped)), new.key_id
        )
    typer.echo(
        f"re-wrapped {count} data keys with master key {new.key_id}; now set "
        f"KAM_MASTER_KEY_FILE={new_key_file} (and unset KAM_MASTER_KEY) and restart"
    )


@keys_cli.command("copy-store")
def keys_copy_store(
    to: Annotated[str, typer.Option("--to", help="The new, empty store's database URL")],
) -> None:
    """Copies the log into a new store with every person's data sealed (old plaintext gone).

    Erased people's old plaintext is copied redacted. Then point KAM_DATABASE_URL at the new
    store and rebuild the read models (`kam rebuild`)."""
    from kam_api.bootstrap import open_application
    from kam_store.copy import TargetNotEmptyError, copy_log

    with open_services() as services:
        settings = services.settings
        if settings.master() is None:
            raise MasterKeyError("set the master key first: the copy seals personal data")
        target = open_application(settings.model_copy(update={"database_url": to}))
        try:
            with typer.progressbar(length=100, label="copying the log") as bar:
                shown = [0]

                def progress(done: int, total: int) -> None:
                    percent = done * 100 // max(total, 1)
                    bar.update(percent - shown[0])
                    shown[0] = percent

                count = copy_log(services.app, target, progress=progress)
        except TargetNotEmptyError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from None
        finally:
            target.close()
    typer.echo(f"copied {count} events into {to}; point KAM_DATABASE_URL at it, then kam rebuild")
