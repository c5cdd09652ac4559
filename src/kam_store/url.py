"""The database URL, parsed once into one typed value.

``KAM_DATABASE_URL`` names the event store: ``sqlite:///path/to/kam.db`` (the embedded
default; ``sqlite://`` or ``sqlite:///:memory:`` for a shared in-memory database) or
``postgresql://user:pass@host:5432/db?schema=tenant``. Everything that needs to know where the
store is (the library's environment, the set-up lock, the read-model database) reads this
value instead of the string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlparse

Backend = Literal["sqlite", "postgres"]

POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")

#: The shared in-memory SQLite databases: every connection in the process sees the same one.
SQLITE_MEMORY_EVENTS = "file:kam_memory_db?mode=memory&cache=shared"
SQLITE_MEMORY_VIEWS = "file:kam_views_memory?mode=memory&cache=shared"


class UnsupportedDatabaseURLError(ValueError):
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
        """Parses a ``sqlite:///...`` or ``postgresql://...`` URL; refuses other schemes."""
        parsed = urlparse(text)
        if parsed.scheme == "sqlite":
            # sqlite:///./var/kam.db -> ./var/kam.db ; sqlite:////abs/kam.db -> /abs/kam.db
            path = unquote(parsed.path)[1:]
            return cls(text, SqliteTarget(None if path in ("", ":memory:") else path))
        if parsed.scheme in POSTGRES_SCHEMES:
            query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
            return cls(
                text,
                PostgresTarget(
                    conninfo=parsed._replace(query="", scheme="postgresql").geturl(),
                    host=parsed.hostname or "localhost",
                    port=parsed.port or 5432,
                    dbname=unquote(parsed.path.lstrip("/")) or "postgres",
                    user=unquote(parsed.username or "postgres"),
                    password=unquote(parsed.password or ""),
                    schema=query.get("schema"),
                ),
            )
        raise UnsupportedDatabaseURLError(
            f"unsupported database URL scheme {parsed.scheme!r}: use sqlite:/// or postgresql://"
        )

    @property
    def backend(self) -> Backend:
        return "postgres" if isinstance(self.target, PostgresTarget) else "sqlite"

    @property
    def is_postgres(self) -> bool:
        return isinstance(self.target, PostgresTarget)

    def __str__(self) -> str:
        return self.text
