"""The users table, in the read-model database (users are not domain history).

Only the SQL lives here: token hashing, roles and the authentication cache are
``kam_api.auth.UserStore``'s.
"""

from __future__ import annotations

from kam_projections.db import ViewDatabase


class UserExistsError(ValueError):
    """A user with that name already exists."""


class UserTable:
    """Rows of ``kam_users``: name, role, token hash, creation time."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def setup(self) -> None:
        with self.views.transaction() as tx:
            self.views.lock_for_setup(tx)
            tx.execute(
                "CREATE TABLE IF NOT EXISTS kam_users (name TEXT PRIMARY KEY, role TEXT NOT NULL, "
                "token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)"
            )

    def insert(self, name: str, role: str, token_hash: str, created_at: str) -> None:
        """Adds a user; ``UserExistsError`` if the name is taken (nothing written)."""
        with self.views.transaction() as tx:
            if tx.one("SELECT name FROM kam_users WHERE name = :name", {"name": name}):
                raise UserExistsError(f"user {name!r} already exists")
            tx.execute(
                "INSERT INTO kam_users (name, role, token_hash, created_at) "
                "VALUES (:name, :role, :hash, :at)",
                {"name": name, "role": role, "hash": token_hash, "at": created_at},
            )

    def count(self) -> int:
        rows = self.views.query("SELECT COUNT(*) AS n FROM kam_users")
        return int(rows[0]["n"]) if rows else 0

    def role_of_token(self, token_hash: str) -> tuple[str, str] | None:
        """(name, role) of the user holding the token with this hash, or None."""
        rows = self.views.query(
            "SELECT name, role FROM kam_users WHERE token_hash = :hash", {"hash": token_hash}
        )
        return (str(rows[0]["name"]), str(rows[0]["role"])) if rows else None
