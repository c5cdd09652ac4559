"""Small pieces of PostgreSQL DDL the store's features share."""

from __future__ import annotations

from psycopg.sql import SQL, Composable, Composed, Identifier, Literal


def create_trigger_if_missing(
    schema: str, table: str, name: str, definition: Composable
) -> Composed:
    """``CREATE TRIGGER name <definition>`` on ``schema.table`` if the table has no trigger of
    that name. PostgreSQL 15 has no ``CREATE TRIGGER IF NOT EXISTS``, and ``CREATE OR REPLACE
    TRIGGER`` would lock the table against writers at every start.

    ``definition`` is what follows the name, e.g. ``AFTER INSERT ON s.t FOR EACH ROW
    EXECUTE FUNCTION s.f()``."""
    return SQL(
        "DO $KAM$ BEGIN "
        "  IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger "
        "      WHERE tgrelid = {regclass}::regclass AND tgname = {name_literal}) THEN "
        "    CREATE TRIGGER {name} {definition}; "
        "  END IF; "
        "END $KAM$"
    ).format(
        regclass=Literal(
            Composed([Identifier(schema), SQL("."), Identifier(table)]).as_string(None)
        ),
        name_literal=Literal(name),
        name=Identifier(name),
        definition=definition,
    )
