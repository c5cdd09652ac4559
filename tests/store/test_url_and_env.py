"""The database URL, parsed once, and its translation into the library's environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from kam_projections.db import SETUP_LOCK_KEY as VIEWS_SETUP_LOCK_KEY
from kam_store.env import library_env
from kam_store.setup_lock import SETUP_LOCK_KEY
from kam_store.url import (
    SQLITE_MEMORY_EVENTS,
    SQLITE_MEMORY_VIEWS,
    DatabaseURL,
    DatabaseURLError,
    PostgresTarget,
    SqliteTarget,
    UnsupportedDatabaseURLError,
)


def test_a_sqlite_url_names_a_file_under_its_path(tmp_path: Path) -> None:
    env = library_env(f"sqlite:///{tmp_path}/sub/kam.db")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == f"{tmp_path}/sub/kam.db"
    assert (tmp_path / "sub").is_dir()


def test_a_relative_sqlite_url_stays_relative() -> None:
    assert library_env("sqlite:///./var/kam.db")["SQLITE_DBNAME"] == "./var/kam.db"


def test_a_postgres_url_sets_pool_timeouts_and_the_group_commit_recorder() -> None:
    env = library_env(
        "postgresql://u:p%40ss@db.example:6543/kam?schema=tenant1", pool_size=7, lock_timeout=3
    )
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.example",
        "6543",
        "kam",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("u", "p@ss")
    assert env["POSTGRES_POOL_SIZE"] == "7"
    assert env["POSTGRES_LOCK_TIMEOUT"] == "3"
    assert env["POSTGRES_SCHEMA"] == "tenant1"
    assert env["APPLICATION_RECORDER_TOPIC"].endswith("KamPostgresApplicationRecorder")


def test_an_unknown_url_scheme_is_refused() -> None:
    with pytest.raises(UnsupportedDatabaseURLError):
        library_env("mysql://localhost/kam")


def test_an_unknown_url_scheme_is_refused_when_parsed() -> None:
    with pytest.raises(UnsupportedDatabaseURLError, match="'mysql'"):
        DatabaseURL.parse("mysql://localhost/kam")


def test_a_sqlite_url_parses_to_its_file_and_the_read_models_file_next_to_it() -> None:
    url = DatabaseURL.parse("sqlite:///./var/kam.db")
    assert url.backend == "sqlite" and not url.is_postgres
    assert url.target == SqliteTarget("./var/kam.db")
    assert url.target.events_dbname == "./var/kam.db"
    assert url.target.views_path == "var/kam-views.db"
    assert DatabaseURL.parse("sqlite:////abs/kam").target.views_path == "/abs/kam-views.db"
    assert str(url) == "sqlite:///./var/kam.db"


@pytest.mark.parametrize("text", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_an_empty_or_memory_sqlite_url_is_a_shared_in_memory_database(text: str) -> None:
    target = DatabaseURL.parse(text).target
    assert isinstance(target, SqliteTarget) and target.in_memory
    assert (target.events_dbname, target.views_path) == (SQLITE_MEMORY_EVENTS, SQLITE_MEMORY_VIEWS)
    assert library_env(text)["SQLITE_DBNAME"] == SQLITE_MEMORY_EVENTS


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_a_postgres_url_parses_to_a_conninfo_without_the_query_and_its_schema(
    scheme: str,
) -> None:
    url = DatabaseURL.parse(f"{scheme}://u:p%40ss@db.example:6543/kam?schema=tenant1")
    assert url.backend == "postgres" and url.is_postgres
    assert url.target == PostgresTarget(
        conninfo="postgresql://u:p%40ss@db.example:6543/kam",
        host="db.example",
        port=6543,
        dbname="kam",
        user="u",
        password="p@ss",
        schema="tenant1",
    )
    assert "p@ss" not in repr(url.target)


def test_a_bare_postgres_url_takes_the_defaults() -> None:
    target = DatabaseURL.parse("postgresql://")
    assert isinstance(target.target, PostgresTarget)
    assert (target.target.host, target.target.port, target.target.dbname) == (
        "localhost",
        5432,
        "postgres",
    )
    assert (target.target.user, target.target.password, target.target.schema) == (
        "postgres",
        "",
        None,
    )
    assert "POSTGRES_SCHEMA" not in library_env("postgresql://h/db?schema=")


def test_the_event_store_and_the_read_models_take_the_same_set_up_lock() -> None:
    assert SETUP_LOCK_KEY == VIEWS_SETUP_LOCK_KEY


def test_without_set_up_the_library_creates_no_postgres_tables(tmp_path: Path) -> None:
    url = "postgresql://kam_service:pw@db:5432/kam?schema=kam"
    assert library_env(url, create_tables=False)["CREATE_TABLE"] == "no"
    assert "CREATE_TABLE" not in library_env(url)
    # SQLite has no roles: its tables are always set up.
    assert "CREATE_TABLE" not in library_env(f"sqlite:///{tmp_path}/kam.db", create_tables=False)


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("sqlite:/nonsense", "sqlite:///nonsense"),  # one slash: would open ./nonsense
        ("sqlite:kam.db", "sqlite:///kam.db"),  # no slash at all
        ("sqlite://var/kam.db", "sqlite:///var/kam.db"),  # 'var' taken for a host
        ("sqlite:///var/", "sqlite:///var/kam.db"),  # a folder, not a file
        ("postgresql:/db.example/kam", "postgresql://user:password@host:5432/database"),
    ],
)
def test_a_url_that_looks_mistyped_is_refused_with_what_to_write(
    text: str, suggestion: str
) -> None:
    # Given a URL that names a store only by accident, when it is parsed, then it is refused
    with pytest.raises(DatabaseURLError, match=r"mistyped|folder") as refused:
        DatabaseURL.parse(text)
    # and the message says what to write instead
    assert suggestion in str(refused.value)


def test_a_bad_port_is_refused_without_showing_the_password() -> None:
    with pytest.raises(DatabaseURLError, match="port") as refused:
        DatabaseURL.parse("postgresql://kam:s3cret@db.example:54x2/kam")
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "hint"),
    [("postgress://h/kam", "did you mean postgres://"), ("sqlit:///kam.db", "sqlite://")],
)
def test_a_misspelt_scheme_is_refused_with_the_closest_one(text: str, hint: str) -> None:
    with pytest.raises(UnsupportedDatabaseURLError, match=hint):
        DatabaseURL.parse(text)


def test_a_path_without_a_scheme_is_refused_with_its_sqlite_url() -> None:
    with pytest.raises(DatabaseURLError, match=r"sqlite:///var/kam\.db"):
        DatabaseURL.parse("var/kam.db")
