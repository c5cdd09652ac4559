"""Signing in and out, and the start page each role lands on."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kam_api.auth import WRITERS, UserStore
from kam_api.settings import Settings
from kam_api.web.auth import Form, PageUser
from kam_api.web.forms import Refusal
from kam_api.web.sessions import COOKIE, SessionStore, clear_cookie, secure_request, set_cookie
from kam_api.web.templating import pages_of

router = APIRouter(include_in_schema=False)

#: The sign-in form's CSRF token travels in this cookie too (there is no session yet).
SIGN_IN_COOKIE = "kam_sign_in"


def safe_next(value: object) -> str:
    """Where to go after signing in: a path of this site, never another site."""
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and len(value) <= 2000
    ):
        return value
    return "/app"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/")
def root() -> RedirectResponse:
    """The service's address opens the web app."""
    return RedirectResponse("/app", status_code=303)


@router.get("/app")
def start(user: PageUser) -> RedirectResponse:
    """Managers start at their work, everyone else at the portfolio."""
    if user.role in WRITERS and not user.writes_anything:
        return RedirectResponse("/app/my-work", status_code=303)
    return RedirectResponse("/app/portfolio", status_code=303)


def _sign_in_page(
    request: Request, next_url: str, refusal: Refusal | None = None, username: str = ""
) -> Response:
    token = secrets.token_urlsafe(32)
    response = pages_of(request).render(
        request,
        "sign_in.html",
        {
            "title": "Sign in",
            "next_url": next_url,
            "refusal": refusal,
            "username": username,
            "sign_in_csrf": token,
        },
        status=refusal.status if refusal else 200,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=secure_request(request, _settings(request)),
        path="/sign-in",
    )
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, next: str = "/app") -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    sessions: SessionStore = request.app.state.web_sessions
    if sessions.find(request.cookies.get(COOKIE)) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _sign_in_page(request, safe_next(next))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Checks the user name and password; starts a session and goes on to ``next``."""
    form = await request.form()
    next_url = safe_next(form.get("next"))
    sent, expected = form.get("csrf_token"), request.cookies.get(SIGN_IN_COOKIE)
    if not (
        isinstance(sent, str) and expected and hmac.compare_digest(sent.encode(), expected.encode())
    ):
        return _sign_in_page(
            request,
            next_url,
            Refusal("This sign-in form has expired. Please try again.", 403),
        )
    name, password = form.get("username"), form.get("password")
    users: UserStore = request.app.state.users
    user = None
    if isinstance(name, str) and isinstance(password, str) and name.strip() and password:
        from fastapi.concurrency import run_in_threadpool

        user = await run_in_threadpool(users.check_password, name.strip(), password)
    if user is None:
        return _sign_in_page(
            request,
            next_url,
            Refusal("The user name or password is not right.", 401),
            name.strip()[:64] if isinstance(name, str) else "",
        )
    sessions: SessionStore = request.app.state.web_sessions
    token, _ = sessions.start(user)
    response = RedirectResponse(next_url, status_code=303)
    secure = secure_request(request, _settings(request))
    set_cookie(response, token, secure, _settings(request))
    response.delete_cookie(SIGN_IN_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out")
def sign_out(request: Request, _form: Form) -> Response:
    """Ends the session."""
    sessions: SessionStore = request.app.state.web_sessions
    sessions.end(request.cookies.get(COOKIE))
    response = RedirectResponse("/sign-in", status_code=303)
    clear_cookie(response, secure_request(request, _settings(request)))
    return response
