"""Append-only tables, enforced by the database: triggers refuse every change of a stored row.

The events table is protected from the start; protecting another table (the ledger's hash
chain, its checkpoints) is one call of ``sqlite_append_only(table)`` or
``postgres_append_only(schema, table)`` in ``kam_store.schema``. Every statement is idempotent:
the recorders run them at every start.

On PostgreSQL the triggers apply to every role, the superuser and the table's owner included.
What still bypasses them: ``session_replication_role = replica`` (ordinary triggers do not fire)
or the owner (or a superuser) dropping or disabling a trigger. The service's own role can do
neither (it is not the owner: ``kam_store.roles``), and the ledger's hash chain shows any change
made that way.
"""

from __future__ import annotations

from psycopg.sql import SQL, Composed, Identifier

from kam_store.ddl import create_trigger_if_missing

#: What a refused change says (both backends).
APPEND_ONLY_MESSAGE = "stored events are append-only"

#: The PostgreSQL trigger function (one per schema, shared by every append-only table).
POSTGRES_FUNCTION = "kam_refuse_change"
#: The triggers' names on each protected table (trigger names are per table).
ROW_TRIGGER = "kam_append_only"
TRUNCATE_TRIGGER = "kam_append_only_truncate"


def sqlite_append_only(table: str) -> list[str]:
    """Triggers that refuse UPDATE and DELETE of the rows of ``table`` (SQLite has no
    TRUNCATE: ``DELETE`` without ``WHERE`` fires the delete trigger too)."""
    message = f"{APPEND_ONLY_MESSAGE} ({table})".replace("'", "''")
    return [
        f'CREATE TRIGGER IF NOT EXISTS "{table}_append_only_{operation.lower()}" '
        f'BEFORE {operation} ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        for operation in ("UPDATE", "DELETE")
    ]


def postgres_append_only(schema: str, table: str) -> list[Composed]:
    """The trigger function and, if missing, the triggers that refuse UPDATE, DELETE (each row)
    and TRUNCATE of ``schema.table``, for every role."""
    names = {
        "schema": Identifier(schema),
        "table": Identifier(table),
        "function": Identifier(POSTGRES_FUNCTION),
    }
    function = SQL(
        "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger "
        "LANGUAGE plpgsql AS $BODY$ "
        "BEGIN "
        "  RAISE EXCEPTION '{message}: % on %.% refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME "
        "    USING ERRCODE = 'insufficient_privilege', "
        "    HINT = 'events are corrected by recording new events, never by changing old ones'; "
        "END; $BODY$"
    ).format(message=SQL(APPEND_ONLY_MESSAGE), **names)
    return [
        function,
        create_trigger_if_missing(
            schema,
            table,
            ROW_TRIGGER,
            SQL(
                "BEFORE UPDATE OR DELETE ON {schema}.{table} "
                "FOR EACH ROW EXECUTE FUNCTION {schema}.{function}()"
            ).format(**names),
        ),
        create_trigger_if_missing(
            schema,
            table,
            TRUNCATE_TRIGGER,
            SQL(
                "BEFORE TRUNCATE ON {schema}.{table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{function}()"
            ).format(**names),
        ),
    ]
