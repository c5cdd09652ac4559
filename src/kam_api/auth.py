"""Users, roles and bearer tokens. Tokens are random, shown once, stored only as SHA-256 hashes.

Roles (DESIGN §5): ``admin`` (users and tokens, and everything a director may do), ``director``
(writes anything, reads everything), ``manager`` (the day-to-day work on accounts they manage or
are on the team of; reads everything), ``auditor`` (reads everything, history included; writes
nothing), ``viewer`` (read-model endpoints only).

Directors and admins decide (``DECISIONS``): which accounts are key (registration, exit), their
tier (classification, tier overrides included), their selection criteria, re-evaluation, and who
manages them; and the exchange rates the portfolio's money is converted with. Managers do
everything else on their accounts, handing one over included.

The user store is also the application's people directory (``kam_domain.people``): the people a
command names must be its active users, and an account's manager one whose role may manage
accounts (``MANAGING_ROLES``). Revoking a user or rotating their token takes effect at once in
this process (the authentication cache forgets them); another process of the service may still
accept their old token for up to ``cache_seconds`` (30 s by default).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import MessageError
from email.headerregistry import Address
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kam_domain import commands as cmd
from kam_domain.commands import Command
from kam_domain.people import KnownPerson
from kam_projections.db import ViewDatabase
from kam_projections.users import UserChange, UserRow, UserTable
from kam_projections.users import UserExistsError as UserExistsError  # raised by UserStore.add
from kam_projections.users import UserNotFoundError as UserNotFoundError
from kam_store.bounded_cache import BoundedCache


class Role(StrEnum):
    ADMIN = "admin"
    DIRECTOR = "director"
    MANAGER = "manager"
    AUDITOR = "auditor"
    VIEWER = "viewer"


WRITERS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER})
#: The roles whose users may manage accounts (be an account's manager or a handover's target).
MANAGING_ROLES = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER})
STORE_READERS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.AUDITOR})
#: Who may read the whole event log and the ledger's proofs and checkpoints.
LOG_READERS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.AUDITOR})
#: The commands only directors and admins send: the decisions about the portfolio. A manager
#: may not send them even on their own account (403 ``forbidden``).
DECISIONS: frozenset[type[Command]] = frozenset(
    {
        cmd.RegisterAccount,
        cmd.ClassifyAccount,
        cmd.ScoreCriteria,
        cmd.ReevaluateAccount,
        cmd.ChangeServiceProfile,
        cmd.AssignManager,
        cmd.CancelHandover,
        cmd.ExitAccount,
        cmd.RecordExchangeRate,
    }
)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
#: The longest e-mail address a user may have (RFC 5321's path limit less the brackets).
EMAIL_MAX = 254


def valid_email(value: str) -> bool:
    """An e-mail address a message may be sent to: one ASCII ``local@domain`` (RFC 5322
    addr-spec, as the standard library's parser reads it), no display name, nothing else."""
    if len(value) > EMAIL_MAX or not value.isascii():
        return False
    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError, MessageError):
        return False
    return address.addr_spec == value and "." in address.domain


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    @property
    def writes_anything(self) -> bool:
        return self.role in (Role.ADMIN, Role.DIRECTOR)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserChangeRefusedError(ValueError):
    """The change to a user breaks a rule: revoking a revoked user or the last active admin,
    rotating a revoked user's token."""


def _now() -> datetime:
    return datetime.now(UTC)


class UserStore:
    """Users in the read-model database (they are not domain history), and the log of every
    change to them (who made it, when). Also the application's people directory."""

    def __init__(
        self,
        views: ViewDatabase,
        *,
        cache_seconds: float = 30.0,
        cache_size: int = 10_000,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self.views = views
        self.table = UserTable(views)
        self.cache_seconds = cache_seconds
        self.now = now
        #: token hash -> (its user or None, kept until): at most ``cache_size`` tokens.
        self._cache: BoundedCache[str, tuple[User | None, float]] = BoundedCache(
            "api_tokens", cache_size
        )
        #: Counts the users forgotten: an answer read before one is not cached.
        self._forgotten = 0
        self._lock = threading.Lock()
        #: Told the name of a user revoked or given a new token (the web sessions forget them).
        self.forget_listeners: list[Callable[[str], object]] = []

    def setup(self) -> None:
        self.table.setup()

    def _at(self) -> str:
        return self.now().isoformat()

    def add(self, name: str, role: Role, *, actor: str = "system", email: str | None = None) -> str:
        """Creates a user (logged as ``actor``'s change), with the e-mail address their
        digest goes to if given; returns their token (the only time it is shown)."""
        if not NAME.match(name):
            raise ValueError("user names are 1-64 letters, digits, '.', '_', '@' or '-'")
        if email is not None and not valid_email(email):
            raise ValueError(f"{email!r} is not an e-mail address (local@domain)")
        token = _new_token()
        self.table.insert(name, Role(role).value, hash_token(token), self._at(), actor, email)
        return token

    def set_email(self, name: str, email: str | None, *, actor: str) -> UserRow:
        """Sets the e-mail address a user's digest goes to (None: removes it; logged, the
        address itself is not). ``UserNotFoundError``; ``ValueError`` for an address that is
        not one; ``UserChangeRefusedError`` when it changes nothing."""
        if email is not None and not valid_email(email):
            raise ValueError(f"{email!r} is not an e-mail address (local@domain)")
        try:
            return self.table.set_email(name, email, self._at(), actor)
        except ValueError as error:
            raise UserChangeRefusedError(str(error)) from None

    def revoke(self, name: str, *, actor: str) -> UserRow:
        """Revokes a user: their token no longer authenticates (in this process at once) and
        they may no longer be named as a new manager or owner. ``UserNotFoundError``;
        ``UserChangeRefusedError`` for a revoked user or the last active admin."""
        try:
            row = self.table.revoke(name, self._at(), actor, keep_role=Role.ADMIN.value)
        except ValueError as error:
            raise UserChangeRefusedError(str(error)) from None
        self._forget(name)
        return row

    def rotate(self, name: str, *, actor: str) -> str:
        """Gives an active user a new token and returns it (shown only this once); the old
        one no longer authenticates. ``UserNotFoundError``; ``UserChangeRefusedError`` for a
        revoked user."""
        token = _new_token()
        try:
            self.table.replace_token(name, hash_token(token), self._at(), actor)
        except ValueError as error:
            raise UserChangeRefusedError(str(error)) from None
        self._forget(name)
        return token

    def set_password(self, name: str, password: str, *, actor: str) -> None:
        """Sets an active user's web sign-in password (stored as an argon2 hash; logged as
        ``password-set``). ``UserNotFoundError``; ``ValueError`` for a password too short or
        too long; ``UserChangeRefusedError`` for a revoked user."""
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise ValueError(
                f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters, not {len(password)}"
            )
        try:
            self.table.set_password_hash(name, _HASHER.hash(password), self._at(), actor)
        except ValueError as error:
            raise UserChangeRefusedError(str(error)) from None

    def check_password(self, name: str, password: str) -> User | None:
        """The active user of that name if the password is theirs, else None. A name without
        a password costs as much time as a wrong password (no telling which names exist)."""
        found = self.table.password_of(name) if len(password) <= PASSWORD_MAX else None
        try:
            _HASHER.verify(found[1] if found else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        return User(name, Role(found[0])) if found else None

    def _forget(self, name: str) -> None:
        """Drops the user's tokens from the authentication cache."""
        with self._lock:
            self._forgotten += 1
            self._cache.discard_where(lambda _, kept: kept[0] is not None and kept[0].name == name)
        for listener in self.forget_listeners:
            listener(name)

    def get(self, name: str) -> UserRow | None:
        return self.table.get(name)

    def all(self) -> list[UserRow]:
        return self.table.all()

    def log(self, name: str | None = None) -> list[UserChange]:
        return self.table.log(name)

    def count(self) -> int:
        return self.table.count()

    def person(self, name: str) -> KnownPerson | None:
        """The people directory's answer (``kam_domain.people``): read from the table every
        time, so a revocation counts at once."""
        row = self.table.get(name)
        if row is None:
            return None
        return KnownPerson(row.name, row.active, Role(row.role) in MANAGING_ROLES)

    def authenticate(self, token: str) -> User | None:
        """The active user holding this token, or None."""
        digest = hash_token(token)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
            forgotten = self._forgotten
        if cached is not None and cached[1] > now:
            return cached[0]
        row = self.table.role_of_token(digest)
        user = User(row[0], Role(row[1])) if row else None
        with self._lock:
            if forgotten != self._forgotten:
                return user  # a revocation or rotation ran meanwhile: do not cache
            self._cache.put_dropping_stale(
                digest, (user, now + self.cache_seconds), lambda kept: kept[1] <= now
            )
        return user


#: Argon2id with the library's defaults (RFC 9106's second recommended profile: 64 MiB, 3
#: passes, 4 lanes). The tests swap ``_HASHER`` for a cheap one; the service never does.
PASSWORD_HASHER = PasswordHasher()
_HASHER = PASSWORD_HASHER
#: What an unknown name's password is checked against (``_dummy_hash``).
_DUMMY_HASH: str | None = None
PASSWORD_MIN = 10
PASSWORD_MAX = 200


def _dummy_hash() -> str:
    """A hash to check an unknown name's password against, made on first use: hashing takes
    a tenth of a second, and every ``kam`` command imports this module."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _HASHER.hash("not anyone's password")
    return _DUMMY_HASH


def new_password() -> str:
    """A random password to hand to someone who will sign in with it (about 120 bits)."""
    return secrets.token_urlsafe(15)


def _new_token() -> str:
    return "kam_" + secrets.token_urlsafe(32)
