"""Web sign-in sessions: a random token in an HttpOnly cookie, its SHA-256 hash in
``kam_sessions`` (``kam_projections.sessions``) with the user and the session's CSRF token.

A session ends at sign-out, after ``session_idle_minutes`` unused, ``session_max_hours`` after
sign-in, or as soon as its user is revoked or given a new password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from kam_api.auth import Role, User
from kam_api.settings import Settings
from kam_projections.db import ViewDatabase
from kam_projections.sessions import SessionTable
from kam_store.bounded_cache import BoundedCache

COOKIE = "kam_session"
#: A session's last-seen time is written at most this often (not on every page).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Session:
    """The signed-in user of a request and the CSRF token their forms must carry."""

    user: User
    csrf: str

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class SessionStore:
    """Starts, finds and ends web sessions.

    A session found is kept in memory for ``session_cache_seconds`` (not past its expiry), so
    a page costs no session query. Sign-out, revocation and rotation in this process forget it
    at once (``forget_user``, called by the user store); in another process of the service, a
    session ended elsewhere may still be accepted for up to that long (the bearer tokens'
    cache has the same bound, 30 s).
    """

    def __init__(
        self, views: ViewDatabase, settings: Settings, now: Callable[[], datetime] = _now
    ) -> None:
        self.table = SessionTable(views)
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.lifetime = timedelta(hours=settings.session_max_hours)
        self.keep = timedelta(seconds=settings.session_cache_seconds)
        self.now = now
        #: token hash -> (session, kept until, the session's expiry): at most
        #: ``session_cache_size`` sessions, the most recently used.
        self._kept: BoundedCache[str, tuple[Session, datetime, datetime]] = BoundedCache(
            "web_sessions", settings.session_cache_size
        )
        #: Counts the forgettings: a session read before one is not kept.
        self._forgotten = 0
        self._lock = threading.Lock()

    def setup(self) -> None:
        self.table.setup()

    def start(self, user: User) -> tuple[str, Session]:
        """A new session for the user: the cookie's token (shown only to the browser) and
        the session. Expired sessions are cleared on the way."""
        now = self.now()
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        self.table.purge(now.isoformat(), (now - self.idle).isoformat())
        self.table.insert(
            _hash(token), user.name, csrf, now.isoformat(), (now + self.lifetime).isoformat()
        )
        return token, Session(user, csrf)

    def find(self, token: str | None) -> Session | None:
        """The live session of this cookie token, or None."""
        if not token or len(token) > 100:
            return None
        now = self.now()
        key = _hash(token)
        with self._lock:
            kept = self._kept.get(key)
            forgotten = self._forgotten
        if kept is not None and now < kept[1] and now < kept[2]:
            return kept[0]
        row = self.table.live(key, now.isoformat(), (now - self.idle).isoformat())
        if row is None:
            with self._lock:
                self._kept.pop(key)
            return None
        if datetime.fromisoformat(row.seen_at) < now - TOUCH_EVERY:
            self.table.touch(key, now.isoformat())
        session = Session(User(row.user_name, Role(row.role)), row.csrf)
        with self._lock:
            if forgotten == self._forgotten and self.keep:
                expires = datetime.fromisoformat(row.expires_at)
                self._kept.put_dropping_stale(
                    key, (session, now + self.keep, expires), lambda kept: kept[1] <= now
                )
        return session

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._forgotten += 1
                self._kept.pop(_hash(token))
            self.table.delete(_hash(token))

    def end_all(self, user_name: str) -> None:
        """Ends every session of the user (a new password, a revocation)."""
        self.forget_user(user_name)
        self.table.delete_user(user_name)

    def forget_user(self, user_name: str) -> None:
        """Drops the user's sessions from memory: the next page reads them again (and finds
        them gone, for a revoked user)."""
        with self._lock:
            self._forgotten += 1
            self._kept.discard_where(lambda _, kept: kept[0].user.name == user_name)


def secure_request(request: Request, settings: Settings) -> bool:
    """Whether the session cookie is marked Secure (HTTPS only)."""
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    if settings.public_url and settings.public_url.startswith("https://"):
        return True
    return request.url.scheme == "https"


def set_cookie(response: Response, token: str, secure: bool, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def clear_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(COOKIE, httponly=True, samesite="lax", secure=secure, path="/")
