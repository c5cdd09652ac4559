"""The ``kam`` command line's set-up errors: each a user's mistake (a mistyped or unreachable
database URL, a missing folder, an unknown account), told in one line with exit code 2 and no
traceback. ``kam_api.cli.main`` turns them into that line."""

from __future__ import annotations

import difflib
from pathlib import Path

from eventsourcing.persistence import OperationalError as StoreOperationalError
from psycopg import OperationalError as PsycopgOperationalError
from psycopg_pool import PoolTimeout
from pydantic import ValidationError

from kam_store.reconnect import DatabaseUnreachableError
from kam_store.url import DatabaseURL, PostgresTarget, SqliteTarget

#: Exit code of a user's mistake (as click uses for a bad option).
USER_ERROR = 2


class UserError(Exception):
    """A mistake of the person running ``kam``: one line, exit code 2."""


def settings_error(error: ValidationError) -> str:
    """The settings that do not read, each named by its environment variable."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        problems.append(f"KAM_{field.upper()}: {message}" if field else message)
    return "; ".join(problems)


def unreachable(database: DatabaseURL, error: BaseException) -> str:
    """The database did not answer: where it was looked for and the driver's first line."""
    target = database.target
    where = (
        f"PostgreSQL at {target.host}:{target.port}/{target.dbname}"
        if isinstance(target, PostgresTarget)
        else f"the SQLite store {target.path}"
    )
    first = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    return f"cannot reach {where} (KAM_DATABASE_URL): {first or type(error).__name__}"


#: What a database that does not answer raises, through the library or straight from psycopg.
UNREACHABLE = (
    StoreOperationalError,
    PsycopgOperationalError,
    PoolTimeout,
    DatabaseUnreachableError,
)


def check_new_store_location(database: DatabaseURL, default: str | None = None) -> bool:
    """Whether the store is new (a SQLite file not there yet); ``UserError`` if its folder
    is missing, since a mistyped path would otherwise open a new, empty store elsewhere. The
    ``default`` URL (the setting's own, not typed by anyone) may have its folder created."""
    target = database.target
    if not isinstance(target, SqliteTarget) or target.path is None:
        return False
    file = Path(target.path)
    if not file.parent.is_dir() and database.text != default:
        raise UserError(
            f"the folder {file.parent} of KAM_DATABASE_URL {database.text} does not exist: "
            "check the URL, or create the folder for a new store"
        )
    return not file.exists()


def check_output_folder(output: Path | None, option: str = "--output") -> None:
    """``UserError`` before any work if the file to write is in a folder that is not there."""
    if output is not None and not output.parent.is_dir():
        raise UserError(f"{option} {output}: the folder {output.parent} does not exist")


def did_you_mean(name: str, names: list[str]) -> str:
    """``; did you mean 'X'?`` for the names closest to ``name`` (case-insensitive), or ''."""
    folded = {known.casefold(): known for known in names}
    close = difflib.get_close_matches(name.casefold(), list(folded), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(folded[match]) for match in close) + "?"
