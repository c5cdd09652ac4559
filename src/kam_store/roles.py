"""PostgreSQL roles: an owner of the event store and a service role that may only append to it.

``setup_database(admin_url)`` (the ``kam db-setup`` command) runs with an administrator's URL
(a superuser, or a role with CREATEROLE that owns or may create in the schema) and, every time
idempotently:

1. creates the owner role (NOLOGIN) and the service role (LOGIN, with the password given);
2. gives the owner what the store already holds that someone else owns (an existing database);
3. creates the store's tables, functions and triggers as the owner (``SET ROLE``), through the
   recorders themselves, so they are exactly what the service would have created;
4. grants the service role what ``SERVICE_TABLE_PRIVILEGES`` says on each store table (and the
   use of the tables' sequences), execution of the owner's functions (the insert functions run
   as the owner: ``SECURITY DEFINER``), and USAGE and CREATE on the schema, because the
   service creates, owns and rebuilds the read-model tables (``rm_*``, ``kam_users``) there.

The service then starts with ``KAM_DATABASE_SETUP=false``: it cannot replace the owner's
functions, so it must not try to create the store's tables at start-up. After an upgrade that
adds a store table or function, run ``kam db-setup`` again before the service starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal

from kam_store.env import APP_NAME, library_env
from kam_store.setup_lock import SETUP_LOCK_KEY
from kam_store.url import DatabaseURL, PostgresTarget

OWNER_ROLE = "kam_owner"
SERVICE_ROLE = "kam_service"

#: The store's functions in the schema have names that start with one of these: ours, and the
#: library's (``es_insert_events_uuid``).
FUNCTION_PREFIXES = (f"{APP_NAME.lower()}_", "es_")


@dataclass(frozen=True)
class TablePrivileges:
    """What the service's role may do to one of the store's tables."""

    table: str
    privileges: tuple[str, ...]


#: The store's tables (owned by the owner role) and the service's privileges on each: adding an
#: append-only table is one line. Never UPDATE, DELETE or TRUNCATE on the events. The projector's
#: tracking positions are a read-model table (``rm_tracking``), the service's own.
SERVICE_TABLE_PRIVILEGES: tuple[TablePrivileges, ...] = (
    TablePrivileges(f"{APP_NAME.lower()}_events", ("SELECT", "INSERT")),
    TablePrivileges(f"{APP_NAME.lower()}_snapshots", ("SELECT", "INSERT")),
    # The ledger's hash chain: the events' trigger appends to it in the writer's transaction.
    TablePrivileges(f"{APP_NAME.lower()}_events_chain", ("SELECT", "INSERT")),
    # The signed checkpoints the service has handed out, which `kam verify` checks again.
    TablePrivileges(f"{APP_NAME.lower()}_events_checkpoints", ("SELECT", "INSERT")),
    # Each person's data key: created by the service before first use; destroyed only by the
    # erasure trigger (SECURITY DEFINER, as the owner). Rotation runs as the owner.
    TablePrivileges(f"{APP_NAME.lower()}_person_keys", ("SELECT", "INSERT")),
    # Idempotency keys: written and purged by the insert functions (SECURITY DEFINER, as the
    # owner); the service looks them up.
    TablePrivileges(f"{APP_NAME.lower()}_events_idempotency", ("SELECT",)),
)


class DatabaseSetupError(RuntimeError):
    """The database cannot be set up as asked (not PostgreSQL, or unsafe roles)."""


@dataclass(frozen=True)
class SetupReport:
    """What ``setup_database`` did, one line each."""

    schema: str
    owner: str
    service: str
    actions: tuple[str, ...]


def setup_database(
    admin_url: DatabaseURL | str,
    *,
    owner: str = OWNER_ROLE,
    service: str = SERVICE_ROLE,
    service_password: str | None = None,
    service_tables: Sequence[str] = (),
) -> SetupReport:
    """Creates the roles and the store's tables as the owner, and grants the service role what
    it needs (idempotent; see the module docstring). Tables of the schema whose names match one
    of ``service_tables`` (``LIKE`` patterns: the read models) become the service's, if another
    role created them before."""
    if isinstance(admin_url, str):
        admin_url = DatabaseURL.parse(admin_url)
    target = admin_url.target
    if not isinstance(target, PostgresTarget):
        raise DatabaseSetupError("database roles need PostgreSQL (a postgresql:// URL)")
    if owner == service:
        raise DatabaseSetupError("the owner and the service roles must differ")
    schema = target.schema or "public"
    actions: list[str] = []
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK_KEY,))
        try:
            _create_roles(conn, owner, service, service_password, actions)
            _prepare_schema(conn, schema, owner, service, actions)
            _adopt_store_objects(conn, schema, owner, actions)
            _give_tables(conn, schema, service_tables, service, actions)
            _create_store_tables(admin_url, owner)
            actions.append(f"store tables, functions and triggers set up as {owner}")
            # One transaction: a running service never sees its privileges revoked and not
            # yet granted again (kam db-setup is re-run at every deployment).
            with conn.transaction():
                _grant_service(conn, schema, owner, service, actions)
                _check_service_cannot_change_events(conn, schema, owner, service)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))
    return SetupReport(schema, owner, service, tuple(actions))


def _run(conn: psycopg.Connection[Any], statement: Composed) -> None:
    conn.execute(statement)


def _exists(conn: psycopg.Connection[Any], query: str, *params: object) -> bool:
    return conn.execute(query, params).fetchone() is not None


def _create_roles(
    conn: psycopg.Connection[Any],
    owner: str,
    service: str,
    password: str | None,
    actions: list[str],
) -> None:
    if _exists(
        conn,
        "SELECT FROM pg_roles WHERE rolname = %s AND (rolsuper OR rolname = current_user)",
        owner,
    ):
        raise DatabaseSetupError(
            f"role {owner} is a superuser or the administrator running the set-up: the owner "
            "role must be a role of its own (it is made NOLOGIN)"
        )
    if _exists(conn, "SELECT FROM pg_roles WHERE rolname = %s", owner):
        _run(conn, SQL("ALTER ROLE {} NOLOGIN").format(Identifier(owner)))
    else:
        _run(conn, SQL("CREATE ROLE {} NOLOGIN").format(Identifier(owner)))
        actions.append(f"created role {owner} (NOLOGIN)")
    row = conn.execute(
        "SELECT rolsuper, rolbypassrls, rolname = current_user FROM pg_roles WHERE rolname = %s",
        (service,),
    ).fetchone()
    if row is not None and any(row):
        raise DatabaseSetupError(
            f"role {service} is a superuser, bypasses row security or is the administrator "
            "running the set-up: the service role must be an ordinary role"
        )
    password_clause: Composable = SQL("")
    if password is not None:
        # Hashed here (SCRAM), so the password never reaches the server's statement log.
        hashed = conn.pgconn.encrypt_password(password.encode(), service.encode(), b"scram-sha-256")
        password_clause = SQL(" PASSWORD {}").format(Literal(hashed.decode()))
    verb = "ALTER" if row is not None else "CREATE"
    _run(
        conn,
        SQL("{} ROLE {} LOGIN NOCREATEDB NOCREATEROLE{}").format(
            SQL(verb), Identifier(service), password_clause
        ),
    )
    if row is None:
        note = "" if password is not None else ", no password yet: give --service-password"
        actions.append(f"created role {service} (LOGIN{note})")
    # The service must never act as the owner (it could then drop the triggers).
    if _exists(
        conn,
        "SELECT FROM pg_auth_members WHERE roleid = to_regrole(%s) AND member = to_regrole(%s)",
        owner,
        service,
    ):
        _run(conn, SQL("REVOKE {} FROM {}").format(Identifier(owner), Identifier(service)))
        actions.append(f"revoked {owner} from {service}")
    # An administrator without superuser rights needs the owner role to SET ROLE to it.
    if not _exists(conn, "SELECT FROM pg_roles WHERE rolname = current_user AND rolsuper") and (
        not _exists(conn, "SELECT WHERE pg_has_role(current_user, %s, 'MEMBER')", owner)
    ):
        _run(conn, SQL("GRANT {} TO CURRENT_USER").format(Identifier(owner)))


def _prepare_schema(
    conn: psycopg.Connection[Any], schema: str, owner: str, service: str, actions: list[str]
) -> None:
    if not _exists(conn, "SELECT FROM pg_namespace WHERE nspname = %s", schema):
        _run(conn, SQL("CREATE SCHEMA {}").format(Identifier(schema)))
        actions.append(f"created schema {schema}")
    for role in (owner, service):
        # The service creates and rebuilds the read-model tables in the same schema.
        _run(
            conn,
            SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(
                Identifier(schema), Identifier(role)
            ),
        )


def _adopt_store_objects(
    conn: psycopg.Connection[Any], schema: str, owner: str, actions: list[str]
) -> None:
    """A store set up before the roles existed (by the service itself, or a superuser): its
    tables and functions become the owner's, so it can replace the functions. Only then, and
    only what the role that created the events table owns: a function the service role created
    later (it may create in the schema) never becomes the owner's, which would let it run
    code as the owner; the set-up then fails on it instead."""
    row = conn.execute(
        "SELECT pg_get_userbyid(c.relowner) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, SERVICE_TABLE_PRIVILEGES[0].table),
    ).fetchone()
    if row is None or row[0] == owner:
        return  # a new store, or one the owner has already
    previous = row[0]
    with conn.transaction():
        for (table,) in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relowner = to_regrole(%s)",
            (schema, [grant.table for grant in SERVICE_TABLE_PRIVILEGES], previous),
        ).fetchall():
            _run(
                conn,
                SQL("ALTER TABLE {}.{} OWNER TO {}").format(
                    Identifier(schema), Identifier(table), Identifier(owner)
                ),
            )
            actions.append(f"{table}: owner {previous} -> {owner}")
        for (signature,) in conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proname LIKE ANY(%s) AND p.proowner = to_regrole(%s)",
            (schema, [prefix.replace("_", "\\_") + "%" for prefix in FUNCTION_PREFIXES], previous),
        ).fetchall():
            alter = SQL("ALTER FUNCTION {} OWNER TO {}")
            _run(conn, alter.format(SQL(signature), Identifier(owner)))
            actions.append(f"{signature}: owner {previous} -> {owner}")


def _give_tables(
    conn: psycopg.Connection[Any],
    schema: str,
    patterns: Sequence[str],
    service: str,
    actions: list[str],
) -> None:
    store_tables = [grant.table for grant in SERVICE_TABLE_PRIVILEGES]
    for table, previous in conn.execute(
        "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relname LIKE ANY(%s) "
        "AND NOT c.relname = ANY(%s) AND c.relowner <> to_regrole(%s)",
        (schema, list(patterns), store_tables, service),
    ).fetchall():
        _run(
            conn,
            SQL("ALTER TABLE {}.{} OWNER TO {}").format(
                Identifier(schema), Identifier(table), Identifier(service)
            ),
        )
        actions.append(f"{table}: owner {previous} -> {service}")


def _create_store_tables(admin_url: DatabaseURL, owner: str) -> None:
    """The recorders the application opens create the tables, as the owner: one pooled
    connection, switched to the owner role before anything else runs on it."""
    env = library_env(admin_url, pool_size=1, max_overflow=0, create_tables=False)
    factory = InfrastructureFactory.construct(Environment(APP_NAME, env))
    try:
        assert isinstance(factory, PostgresFactory)
        with factory.datastore.get_connection() as conn:
            conn.execute(SQL("SET ROLE {}").format(Identifier(owner)))
        with _closing(factory.application_recorder()) as recorder:
            recorder.create_table()
        with _closing(factory.aggregate_recorder(purpose="snapshots")) as recorder:
            recorder.create_table()
        with factory.datastore.get_connection() as conn:
            row = conn.execute("SELECT current_user AS name").fetchone()
            if row is None or row["name"] != owner:
                raise DatabaseSetupError(f"the tables were not created as {owner}")
    finally:
        factory.close()


@contextmanager
def _closing(recorder: object) -> Iterator[Any]:
    try:
        yield recorder
    finally:
        close = getattr(recorder, "close", None)
        if close is not None:
            close()


def _grant_service(
    conn: psycopg.Connection[Any], schema: str, owner: str, service: str, actions: list[str]
) -> None:
    for grant in SERVICE_TABLE_PRIVILEGES:
        table = SQL("{}.{}").format(Identifier(schema), Identifier(grant.table))
        _run(conn, SQL("REVOKE ALL ON TABLE {} FROM PUBLIC, {}").format(table, Identifier(service)))
        _run(
            conn,
            SQL("GRANT {} ON TABLE {} TO {}").format(
                SQL(", ").join(SQL(privilege) for privilege in grant.privileges),
                table,
                Identifier(service),
            ),
        )
        actions.append(f"{service}: {', '.join(grant.privileges)} on {grant.table}")
        for (sequence,) in _owned_sequences(conn, schema, grant.table):
            _run(
                conn,
                SQL("REVOKE ALL ON SEQUENCE {} FROM {}").format(SQL(sequence), Identifier(service)),
            )
            if "INSERT" in grant.privileges:
                _run(
                    conn,
                    SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(
                        SQL(sequence), Identifier(service)
                    ),
                )
    # The owner's functions: the insert functions run as the owner, so only the service may
    # call them.
    for (signature,) in conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s AND p.proowner = to_regrole(%s)",
        (schema, owner),
    ).fetchall():
        _run(conn, SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(SQL(signature)))
        _run(
            conn,
            SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(SQL(signature), Identifier(service)),
        )


def _owned_sequences(
    conn: psycopg.Connection[Any], schema: str, table: str
) -> Sequence[tuple[str]]:
    """The sequences of the table's serial or identity columns (qualified, quoted)."""
    return conn.execute(
        "SELECT s.oid::regclass::text FROM pg_class s "
        "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
        "JOIN pg_class t ON t.oid = d.refobjid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE s.relkind = 'S' AND n.nspname = %s AND t.relname = %s",
        (schema, table),
    ).fetchall()


def _check_service_cannot_change_events(
    conn: psycopg.Connection[Any], schema: str, owner: str, service: str
) -> None:
    events = SQL("{}.{}").format(Identifier(schema), Identifier(SERVICE_TABLE_PRIVILEGES[0].table))
    row = conn.execute(
        "SELECT has_table_privilege(%(service)s, c.oid, 'UPDATE, DELETE, TRUNCATE') "
        "OR pg_has_role(%(service)s, %(owner)s, 'MEMBER') "
        "OR pg_get_userbyid(c.relowner) <> %(owner)s "
        "FROM pg_class c WHERE c.oid = %(events)s::regclass",
        {"service": service, "owner": owner, "events": events.as_string(conn)},
    ).fetchone()
    if row is None or row[0]:
        raise DatabaseSetupError(f"{service} could change the stored events: set-up refused")
