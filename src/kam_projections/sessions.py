"""The web app's sign-in sessions, in the read-model database (they are not domain history).

Only the SQL lives here: tokens, expiry rules and CSRF are ``kam_api.web.sessions``'.

- ``kam_sessions``: one row per signed-in browser: the SHA-256 hash of its cookie's token
  (the token itself is never stored), the user, the session's CSRF token, when it was made,
  last seen, and when it expires at the latest. Signing out deletes the row; a rebuild of the
  read models never touches it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kam_projections.db import ViewDatabase


@dataclass(frozen=True)
class SessionRow:
    """A live session, with its user's current role (the user is active)."""

    user_name: str
    role: str
    csrf: str
    created_at: str
    seen_at: str
    expires_at: str


class SessionTable:
    """Rows of ``kam_sessions``; times are ISO 8601 UTC strings (they sort as they compare)."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def setup(self) -> None:
        with self.views.transaction() as tx:
            self.views.lock_for_setup(tx)
            tx.execute(
                "CREATE TABLE IF NOT EXISTS kam_sessions (id_hash TEXT PRIMARY KEY, "
                "user_name TEXT NOT NULL, csrf TEXT NOT NULL, created_at TEXT NOT NULL, "
                "seen_at TEXT NOT NULL, expires_at TEXT NOT NULL)"
            )
            tx.execute("CREATE INDEX IF NOT EXISTS kam_sessions_user ON kam_sessions (user_name)")

    def insert(self, id_hash: str, user_name: str, csrf: str, at: str, expires_at: str) -> None:
        with self.views.transaction() as tx:
            tx.execute(
                "INSERT INTO kam_sessions (id_hash, user_name, csrf, created_at, seen_at, "
                "expires_at) VALUES (:id, :user, :csrf, :at, :at, :expires)",
                {"id": id_hash, "user": user_name, "csrf": csrf, "at": at, "expires": expires_at},
            )

    def live(self, id_hash: str, now: str, idle_since: str) -> SessionRow | None:
        """The session with this hash if it has not expired, was seen after ``idle_since`` and
        its user is still active; else None."""
        rows = self.views.query(
            "SELECT s.user_name, u.role, s.csrf, s.created_at, s.seen_at, s.expires_at "
            "FROM kam_sessions s JOIN kam_users u ON u.name = s.user_name "
            "WHERE s.id_hash = :id AND s.expires_at > :now AND s.seen_at > :idle "
            "AND u.revoked_at IS NULL",
            {"id": id_hash, "now": now, "idle": idle_since},
        )
        if not rows:
            return None
        r = rows[0]
        return SessionRow(
            str(r["user_name"]),
            str(r["role"]),
            str(r["csrf"]),
            str(r["created_at"]),
            str(r["seen_at"]),
            str(r["expires_at"]),
        )

    def touch(self, id_hash: str, at: str) -> None:
        with self.views.transaction() as tx:
            tx.execute(
                "UPDATE kam_sessions SET seen_at = :at WHERE id_hash = :id",
                {"at": at, "id": id_hash},
            )

    def delete(self, id_hash: str) -> None:
        with self.views.transaction() as tx:
            tx.execute("DELETE FROM kam_sessions WHERE id_hash = :id", {"id": id_hash})

    def delete_user(self, user_name: str) -> None:
        """Ends every session of a user (their password changed, they were revoked)."""
        with self.views.transaction() as tx:
            tx.execute("DELETE FROM kam_sessions WHERE user_name = :user", {"user": user_name})

    def purge(self, now: str, idle_since: str) -> None:
        """Removes the sessions that have expired."""
        with self.views.transaction() as tx:
            tx.execute(
                "DELETE FROM kam_sessions WHERE expires_at <= :now OR seen_at <= :idle",
                {"now": now, "idle": idle_since},
            )
