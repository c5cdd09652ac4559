"""Users, roles and bearer tokens. Tokens are random, shown once, stored only as SHA-256 hashes.

Roles (DESIGN §5): ``admin`` (users and tokens, and everything a director may do), ``director``
(writes anything, reads everything), ``manager`` (the day-to-day work on accounts they manage or
are on the team of; reads everything), ``auditor`` (reads everything, history included; writes
nothing), ``viewer`` (read-model endpoints only).

Directors and admins decide (``DECISIONS``): which accounts are key (registration, exit), their
tier (classification, tier overrides included), their selection criteria, re-evaluation, and who
manages them. Managers do everything else on their accounts, handing one over included.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from kam_domain import commands as cmd
from kam_domain.commands import Command
from kam_projections.db import ViewDatabase
from kam_projections.users import UserExistsError as UserExistsError  # raised by UserStore.add
from kam_projections.users import UserTable


class Role(StrEnum):
    ADMIN = "admin"
    DIRECTOR = "director"
    MANAGER = "manager"
    AUDITOR = "auditor"
    VIEWER = "viewer"


WRITERS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER})
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
        cmd.ExitAccount,
    }
)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    @property
    def writes_anything(self) -> bool:
        return self.role in (Role.ADMIN, Role.DIRECTOR)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore:
    """Users in the read-model database (they are not domain history)."""

    def __init__(self, views: ViewDatabase, *, cache_seconds: float = 30.0) -> None:
        self.views = views
        self.table = UserTable(views)
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[User | None, float]] = {}
        self._lock = threading.Lock()

    def setup(self) -> None:
        self.table.setup()

    def add(self, name: str, role: Role) -> str:
        """Creates a user; returns their token (the only time it is shown)."""
        if not NAME.match(name):
            raise ValueError("user names are 1-64 letters, digits, '.', '_', '@' or '-'")
        token = "kam_" + secrets.token_urlsafe(32)
        self.table.insert(name, role.value, hash_token(token), datetime.now(UTC).isoformat())
        return token

    def count(self) -> int:
        return self.table.count()

    def authenticate(self, token: str) -> User | None:
        """The user holding this token, or None."""
        digest = hash_token(token)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        row = self.table.role_of_token(digest)
        user = User(row[0], Role(row[1])) if row else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (user, now + self.cache_seconds)
        return user
