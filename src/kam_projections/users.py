"""The users table and its log, in the read-model database (users are not domain history).

Only the SQL lives here: token hashing, roles, the rules (the last admin) and the
authentication cache are ``kam_api.auth.UserStore``'s.

- ``kam_users``: one row per user: name, role, token hash, password hash (argon2; NULL: they
  cannot sign in to the web app), creation time, the time they
  were revoked (NULL while active) and the e-mail address their digest goes to (NULL: none).
  A revoked user's row stays: their name is on events.
- ``kam_users_log``: every change to a user, appended in the same transaction as the change:
  sequence number, when, who did it (the actor), whose user, what (``created``, ``revoked``,
  ``token-rotated``, ``password-set``, ``email-set``, ``email-removed``: the address itself
  is not logged, since
  the log is never rewritten and an address is the user's personal data) and the role.
  Never updated or deleted: triggers refuse it (the service's role owns the table and could
  drop them; the log is not tamper-evident like the ledger).
  A rebuild of the read models never touches either table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kam_projections.db import Tx, ViewDatabase

APPEND_ONLY = "kam_users_log is append-only"
#: PostgreSQL advisory-lock key serialising changes to users (SQLite's write lock does there).
USERS_LOCK_KEY = 0x4B414D55  # "KAMU"


class UserExistsError(ValueError):
    """A user with that name already exists."""


class UserNotFoundError(LookupError):
    """No user has that name."""


@dataclass(frozen=True)
class UserRow:
    """A user as stored (no token hash)."""

    name: str
    role: str
    created_at: str
    revoked_at: str | None
    email: str | None = None  # where their digest is sent (none: not sent)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class UserChange:
    """One entry of the users log."""

    seq: int
    at: str
    actor: str
    user_name: str
    change: str
    role: str


_USER_COLUMNS = "name, role, created_at, revoked_at, email"


def _user(row: dict[str, Any]) -> UserRow:
    return UserRow(
        str(row["name"]),
        str(row["role"]),
        str(row["created_at"]),
        None if row["revoked_at"] is None else str(row["revoked_at"]),
        None if row["email"] is None else str(row["email"]),
    )


class UserTable:
    """Rows of ``kam_users`` and ``kam_users_log``."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def setup(self) -> None:
        postgres = self.views.dialect == "postgres"
        seq = (
            "seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
            if postgres
            else "seq INTEGER PRIMARY KEY AUTOINCREMENT"
        )
        with self.views.transaction() as tx:
            self.views.lock_for_setup(tx)
            tx.execute(
                "CREATE TABLE IF NOT EXISTS kam_users (name TEXT PRIMARY KEY, role TEXT NOT NULL, "
                "token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT)"
            )
            columns = self._columns(tx)
            # A users table from before revocation: add the column.
            if "revoked_at" not in columns:
                tx.execute("ALTER TABLE kam_users ADD COLUMN revoked_at TEXT")
            # A users table from before e-mail addresses: add the column.
            if "email" not in columns:
                tx.execute("ALTER TABLE kam_users ADD COLUMN email TEXT")
            # A users table from before web sign-in: add the password hash (NULL: none set).
            if "password_hash" not in columns:
                tx.execute("ALTER TABLE kam_users ADD COLUMN password_hash TEXT")
            tx.execute(
                f"CREATE TABLE IF NOT EXISTS kam_users_log ({seq}, at TEXT NOT NULL, "
                "actor TEXT NOT NULL, user_name TEXT NOT NULL, change TEXT NOT NULL, "
                "role TEXT NOT NULL)"
            )
            tx.execute(
                "CREATE INDEX IF NOT EXISTS kam_users_log_user ON kam_users_log (user_name, seq)"
            )
            if postgres:
                self._postgres_append_only(tx)
            else:
                for verb in ("UPDATE", "DELETE"):
                    tx.execute(
                        f"CREATE TRIGGER IF NOT EXISTS kam_users_log_no_{verb.lower()} "
                        f"BEFORE {verb} ON kam_users_log "
                        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
                    )

    @staticmethod
    def _postgres_append_only(tx: Tx) -> None:
        """A trigger function (the service's own; not ``kam_``-prefixed, so ``kam db-setup``
        never hands it to the event store's owner) and triggers refusing UPDATE, DELETE and
        TRUNCATE of the log, each created only if missing, so a start takes no lock."""
        found = tx.one("SELECT to_regproc('rm_users_log_refuse') AS f")
        if not (found and found["f"]):
            tx.execute(
                "CREATE FUNCTION rm_users_log_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                f"$body$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $body$"
            )
        existing = {
            str(row["tgname"])
            for row in tx.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass('kam_users_log')"
            )
        }
        for name, when in (
            ("rm_users_log_append_only", "BEFORE UPDATE OR DELETE ON kam_users_log FOR EACH ROW"),
            ("rm_users_log_no_truncate", "BEFORE TRUNCATE ON kam_users_log FOR EACH STATEMENT"),
        ):
            if name not in existing:
                tx.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION rm_users_log_refuse()")

    def _columns(self, tx: Tx) -> set[str]:
        if self.views.dialect == "postgres":
            # The catalogue itself: information_schema's view took milliseconds at each start.
            rows = tx.execute(
                "SELECT attname AS name FROM pg_attribute "
                "WHERE attrelid = to_regclass('kam_users') AND attnum > 0 AND NOT attisdropped"
            )
        else:
            rows = tx.execute("PRAGMA table_info(kam_users)")
        return {str(row["name"]) for row in rows}

    def _lock(self, tx: Tx) -> None:
        if self.views.dialect == "postgres":
            tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": USERS_LOCK_KEY})

    @staticmethod
    def _log(tx: Tx, at: str, actor: str, name: str, change: str, role: str) -> None:
        tx.execute(
            "INSERT INTO kam_users_log (at, actor, user_name, change, role) "
            "VALUES (:at, :actor, :name, :change, :role)",
            {"at": at, "actor": actor, "name": name, "change": change, "role": role},
        )

    def insert(
        self,
        name: str,
        role: str,
        token_hash: str,
        created_at: str,
        actor: str,
        email: str | None = None,
    ) -> None:
        """Adds a user (logged as created by ``actor``, and their address as set);
        ``UserExistsError`` if the name is taken (nothing written)."""
        with self.views.transaction() as tx:
            self._lock(tx)
            if tx.one("SELECT name FROM kam_users WHERE name = :name", {"name": name}):
                raise UserExistsError(f"user {name!r} already exists")
            tx.execute(
                "INSERT INTO kam_users (name, role, token_hash, created_at, email) "
                "VALUES (:name, :role, :hash, :at, :email)",
                {"name": name, "role": role, "hash": token_hash, "at": created_at, "email": email},
            )
            self._log(tx, created_at, actor, name, "created", role)
            if email is not None:
                self._log(tx, created_at, actor, name, "email-set", role)

    def set_email(self, name: str, email: str | None, at: str, actor: str) -> UserRow:
        """Sets (None: removes) a user's e-mail address (logged). ``UserNotFoundError``;
        ``ValueError`` when it is the address they have already."""
        with self.views.transaction() as tx:
            self._lock(tx)
            user = self._get(tx, name)
            if user.email == email:
                raise ValueError(f"user {name!r} has that address already")
            tx.execute(
                "UPDATE kam_users SET email = :email WHERE name = :name",
                {"email": email, "name": name},
            )
            change = "email-removed" if email is None else "email-set"
            self._log(tx, at, actor, name, change, user.role)
            return UserRow(user.name, user.role, user.created_at, user.revoked_at, email)

    def revoke(self, name: str, at: str, actor: str, *, keep_role: str | None = None) -> UserRow:
        """Marks the user revoked (logged). ``UserNotFoundError``; ``ValueError`` if they are
        revoked already, or if they are the last active user of ``keep_role``."""
        with self.views.transaction() as tx:
            self._lock(tx)
            user = self._get(tx, name)
            if not user.active:
                raise ValueError(f"user {name!r} is revoked already")
            if keep_role is not None and user.role == keep_role:
                others = tx.one(
                    "SELECT COUNT(*) AS n FROM kam_users WHERE role = :role "
                    "AND revoked_at IS NULL AND name <> :name",
                    {"role": keep_role, "name": name},
                )
                if not others or int(others["n"]) == 0:
                    raise ValueError(f"{name!r} is the last active {keep_role}")
            tx.execute(
                "UPDATE kam_users SET revoked_at = :at WHERE name = :name",
                {"at": at, "name": name},
            )
            self._log(tx, at, actor, name, "revoked", user.role)
            return UserRow(user.name, user.role, user.created_at, at, user.email)

    def replace_token(self, name: str, token_hash: str, at: str, actor: str) -> UserRow:
        """Gives an active user a new token hash (logged). ``UserNotFoundError``;
        ``ValueError`` for a revoked user."""
        with self.views.transaction() as tx:
            self._lock(tx)
            user = self._get(tx, name)
            if not user.active:
                raise ValueError(f"user {name!r} is revoked; a revoked user gets no token")
            tx.execute(
                "UPDATE kam_users SET token_hash = :hash WHERE name = :name",
                {"hash": token_hash, "name": name},
            )
            self._log(tx, at, actor, name, "token-rotated", user.role)
            return user

    def set_password_hash(self, name: str, password_hash: str, at: str, actor: str) -> UserRow:
        """Gives an active user a new password hash (logged as ``password-set``; the hash is
        not). ``UserNotFoundError``; ``ValueError`` for a revoked user."""
        with self.views.transaction() as tx:
            self._lock(tx)
            user = self._get(tx, name)
            if not user.active:
                raise ValueError(f"user {name!r} is revoked; a revoked user gets no password")
            tx.execute(
                "UPDATE kam_users SET password_hash = :hash WHERE name = :name",
                {"hash": password_hash, "name": name},
            )
            self._log(tx, at, actor, name, "password-set", user.role)
            return user

    def password_of(self, name: str) -> tuple[str, str] | None:
        """(role, password hash) of the active user of that name who has a password, or None."""
        rows = self.views.query(
            "SELECT role, password_hash FROM kam_users WHERE name = :name "
            "AND revoked_at IS NULL AND password_hash IS NOT NULL",
            {"name": name},
        )
        return (str(rows[0]["role"]), str(rows[0]["password_hash"])) if rows else None

    @staticmethod
    def _get(tx: Tx, name: str) -> UserRow:
        row = tx.one(f"SELECT {_USER_COLUMNS} FROM kam_users WHERE name = :name", {"name": name})
        if row is None:
            raise UserNotFoundError(f"no user named {name!r}")
        return _user(row)

    def get(self, name: str) -> UserRow | None:
        """The user of that name (revoked or not), or None."""
        rows = self.views.query(
            f"SELECT {_USER_COLUMNS} FROM kam_users WHERE name = :name", {"name": name}
        )
        return _user(rows[0]) if rows else None

    def all(self) -> list[UserRow]:
        """Every user, by name."""
        rows = self.views.query(f"SELECT {_USER_COLUMNS} FROM kam_users ORDER BY name")
        return [_user(row) for row in rows]

    def log(self, name: str | None = None) -> list[UserChange]:
        """The users log (of one user, if named), oldest first."""
        where, params = ("WHERE user_name = :name", {"name": name}) if name else ("", {})
        rows = self.views.query(
            f"SELECT seq, at, actor, user_name, change, role FROM kam_users_log {where} "
            "ORDER BY seq",
            params,
        )
        return [
            UserChange(
                int(r["seq"]),
                str(r["at"]),
                str(r["actor"]),
                str(r["user_name"]),
                str(r["change"]),
                str(r["role"]),
            )
            for r in rows
        ]

    def count(self) -> int:
        rows = self.views.query("SELECT COUNT(*) AS n FROM kam_users")
        return int(rows[0]["n"]) if rows else 0

    def role_of_token(self, token_hash: str) -> tuple[str, str] | None:
        """(name, role) of the active user holding the token with this hash, or None."""
        rows = self.views.query(
            "SELECT name, role FROM kam_users WHERE token_hash = :hash AND revoked_at IS NULL",
            {"hash": token_hash},
        )
        return (str(rows[0]["name"]), str(rows[0]["role"])) if rows else None
