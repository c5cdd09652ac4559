"""The web app's request dependencies: the signed-in session (or a redirect to sign in), the
role checks the API makes (``kam_api.auth``), and the CSRF check of every form post.

Use the ``Annotated`` aliases in page routes: ``PageUser``, ``PageWriter``, ``PageStoreReader``,
``PageLogReader``; a form route takes ``Form`` (the posted fields, CSRF-checked).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.datastructures import FormData

from kam_api.auth import LOG_READERS, STORE_READERS, WRITERS, User
from kam_api.errors import ApiError, ForbiddenError
from kam_api.web.sessions import COOKIE, Session, SessionStore

CSRF_FIELD = "csrf_token"


class SignInRequiredError(Exception):
    """The page needs a signed-in user: answered with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def sign_in_url(next_url: str) -> str:
    return "/sign-in?next=" + quote(next_url, safe="/")


async def page_session(request: Request) -> Session:
    """The session of the request's cookie; else the browser is sent to sign in."""
    sessions: SessionStore = request.app.state.web_sessions
    session = sessions.find(request.cookies.get(COOKIE))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequiredError(target if request.method == "GET" else request.url.path)
    request.state.web_session = session
    return session


PageSession = Annotated[Session, Depends(page_session)]


async def page_user(session: PageSession) -> User:
    return session.user


async def page_writer(user: Annotated[User, Depends(page_user)]) -> User:
    """A user who may change something (admin, director, manager)."""
    if user.role not in WRITERS:
        raise ForbiddenError(f"the {user.role.value} role cannot change anything")
    return user


async def page_store_reader(user: Annotated[User, Depends(page_user)]) -> User:
    """A user who may read accounts, history and people (not viewers)."""
    if user.role not in STORE_READERS:
        raise ForbiddenError(
            f"the {user.role.value} role sees the portfolio and the read models only"
        )
    return user


async def page_log_reader(user: Annotated[User, Depends(page_user)]) -> User:
    """A user who may read the whole event log and the ledger (admin, director, auditor)."""
    if user.role not in LOG_READERS:
        raise ForbiddenError(f"the {user.role.value} role cannot read the audit log")
    return user


async def checked_form(request: Request, session: PageSession) -> FormData:
    """The posted form, refused (403) unless it carries the session's CSRF token."""
    form = await request.form()
    token = form.get(CSRF_FIELD) or request.headers.get("x-csrf-token")
    if not session.csrf_matches(token if isinstance(token, str) else None):
        raise ApiError(
            403,
            "csrf",
            "Form expired",
            "This form has expired or did not come from this site. Reload the page and try again.",
        )
    return form


PageUser = Annotated[User, Depends(page_user)]
PageWriter = Annotated[User, Depends(page_writer)]
PageStoreReader = Annotated[User, Depends(page_store_reader)]
PageLogReader = Annotated[User, Depends(page_log_reader)]
Form = Annotated[FormData, Depends(checked_form)]
