"""The database URL, parsed once into one typed value.

``KAM_DATABASE_URL`` names the event store: ``sqlite:///path/to/kam.db`` (the embedded
default; ``sqlite://`` or ``sqlite:///:memory:`` for a shared in-memory database) or
``postgresql://user:pass@host:5432/db?schema=tenant``. Everything that needs to know where the
store is (the library's environment, the set-up lock, the read-model database) reads this
value instead of the string.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlparse

Backend = Literal["sqlite", "postgres"]

POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")

#: The shared in-memory SQLite databases: every connection in the process sees the same one.
SQLITE_MEMORY_EVENTS = "file:kam_memory_db?mode=memory&cache=shared"
SQLITE_MEMORY_VIEWS = "file:kam_views_memory?mode=memory&cache=shared"


class DatabaseURLError(ValueError):
    """The database URL cannot name a store: mistyped, or of a scheme KAM Ledger does not use."""


class UnsupportedDatabaseURLError(DatabaseURLError):
    """The database URL's scheme is neither sqlite nor postgresql."""


@dataclass(frozen=True)
class SqliteTarget:
    """A SQLite event store: a file, or (``path`` None) a shared in-memory database."""

    path: str | None

    @property
    def in_memory(self) -> bool:
        return self.path is None

    @property
    def events_dbname(self) -> str:
        """What the library opens for the events (its ``SQLITE_DBNAME``)."""
        return SQLITE_MEMORY_EVENTS if self.path is None else self.path

    @property
    def views_path(self) -> str:
        """Where the read models live: ``<name>-views.db`` next to the events file, so the
        projector's writes never contend with commands for the store's single-writer lock."""
        if self.path is None:
            return SQLITE_MEMORY_VIEWS
        file = Path(self.path)
        return str(file.with_name(f"{file.stem}-views{file.suffix or '.db'}"))

    def make_directory(self) -> None:
        """Creates the directory the database files go in (nothing for in-memory)."""
        if self.path is not None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class PostgresTarget:
    """A PostgreSQL event store; the read models live in the same database and schema."""

    #: libpq connection URL without the query (credentials included).
    conninfo: str
    host: str
    port: int
    dbname: str
    user: str
    password: str = field(repr=False)
    #: The schema of the events and read-model tables (``?schema=``), or the default.
    schema: str | None = None


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed ``KAM_DATABASE_URL``: the text as given and where it points."""

    text: str
    target: SqliteTarget | PostgresTarget

    @classmethod
    def parse(cls, text: str) -> DatabaseURL:
        """Parses a ``sqlite:///...`` or ``postgresql://...`` URL; refuses other schemes and
        URLs that look mistyped (``DatabaseURLError``, one line saying what to write), so a
        typo never opens a new, empty store somewhere else."""
        parsed = urlparse(text)
        scheme = parsed.scheme.lower()
        if scheme == "sqlite":
            return cls(text, SqliteTarget(_sqlite_path(text, parsed.netloc, parsed.path)))
        if scheme in POSTGRES_SCHEMES:
            return cls(text, _postgres_target(text))
        raise UnsupportedDatabaseURLError(_unknown_scheme(text, scheme))

    @property
    def backend(self) -> Backend:
        return "postgres" if isinstance(self.target, PostgresTarget) else "sqlite"

    @property
    def is_postgres(self) -> bool:
        return isinstance(self.target, PostgresTarget)

    def __str__(self) -> str:
        return self.text


def _sqlite_path(text: str, netloc: str, path: str) -> str | None:
    """The file a ``sqlite:`` URL names (None: in memory), or why it looks mistyped."""
    rest = text.split(":", 1)[1]
    if not rest.startswith("//"):
        name = rest.lstrip("/")
        raise DatabaseURLError(
            f"database URL {text!r} looks mistyped: a SQLite URL is sqlite:/// followed by "
            f"the file's path (sqlite:///{name} for a path relative to the working folder, "
            f"sqlite:////{name} for an absolute one)"
        )
    if netloc:
        raise DatabaseURLError(
            f"database URL {text!r} looks mistyped: {netloc!r} would be a host, which SQLite "
            f"has not; write three slashes, sqlite:///{netloc}{path}"
        )
    # sqlite:///./var/kam.db -> ./var/kam.db ; sqlite:////abs/kam.db -> /abs/kam.db
    file = unquote(path)[1:]
    if file in ("", ":memory:"):
        return None
    if file.endswith("/"):
        raise DatabaseURLError(
            f"database URL {text!r} names a folder, not a file: add the file's name, "
            f"e.g. sqlite:///{file}kam.db"
        )
    return file


def _postgres_target(text: str) -> PostgresTarget:
    """The PostgreSQL store a ``postgresql://`` URL names, or why it looks mistyped."""
    parsed = urlparse(text)
    if not text.split(":", 1)[1].startswith("//"):
        raise DatabaseURLError(
            f"database URL {_without_password(text)!r} looks mistyped: write "
            "postgresql://user:password@host:5432/database"
        )
    try:
        port = parsed.port
    except ValueError:
        raise DatabaseURLError(
            f"database URL {_without_password(text)!r} has a port that is not a number "
            "from 0 to 65535"
        ) from None
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    return PostgresTarget(
        conninfo=parsed._replace(query="", scheme="postgresql").geturl(),
        host=parsed.hostname or "localhost",
        port=port or 5432,
        dbname=unquote(parsed.path.lstrip("/")) or "postgres",
        user=unquote(parsed.username or "postgres"),
        password=unquote(parsed.password or ""),
        schema=query.get("schema"),
    )


def _unknown_scheme(text: str, scheme: str) -> str:
    """Why a URL of another scheme (or none) is refused, with the likeliest intended one."""
    if not scheme:
        return (
            f"database URL {_without_password(text)!r} has no scheme: use sqlite:///{text} "
            "for a SQLite file, or postgresql://user:password@host/database"
        )
    close = difflib.get_close_matches(scheme, ("sqlite", *POSTGRES_SCHEMES), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}://? " if close else ""
    return f"unsupported database URL scheme {scheme!r}: {hint}use sqlite:/// or postgresql://"


def _without_password(text: str) -> str:
    """The URL with its password (if any) replaced by ``***``, for messages."""
    parsed = urlparse(text)
    if not parsed.password:
        return text
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return parsed._replace(netloc=netloc).geturl()
