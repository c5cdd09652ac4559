"""The web app: server-rendered pages for the people who run key accounts, in the API's
process. Pages read through ``kam_projections`` and write through the API's command objects
and dispatcher (``forms``); sign-in is by password with a session cookie (``sessions``), and
every form carries a CSRF token (``auth``). Every asset is served from ``static/`` (htmx is
vendored with its licence): the app works without internet.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kam_api.settings import Settings
from kam_api.web import routes
from kam_api.web.auth import SignInRequiredError, sign_in_url
from kam_api.web.routes import sign_in
from kam_api.web.sessions import COOKIE, SessionStore
from kam_api.web.templating import Pages

STATIC = Path(__file__).parent / "static"
#: The paths of the web app (everything else is the JSON API).
PAGE_PREFIXES = ("/app", "/sign-in", "/sign-out")


def _routers() -> list[APIRouter]:
    """Every module of ``kam_api.web.routes`` with a ``router``: a page family is added by
    adding its module. ``sign_in`` first (it holds ``/``)."""
    found = [sign_in.router]
    for module in pkgutil.iter_modules(routes.__path__):
        if module.name != "sign_in":
            router = getattr(
                importlib.import_module(f"{routes.__name__}.{module.name}"), "router", None
            )
            if isinstance(router, APIRouter):
                found.append(router)
    return found


#: Scripts and styles from this site only; no frames; forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _page_path(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def is_page(request: Request) -> bool:
    """Whether the request is one of the web app's (its errors are pages, not problems)."""
    return _page_path(request.url.path)


PAGE_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class PageHeaders:
    """The web app's pages: a content security policy, no sniffing, no framing, no caching
    of pages that show personal data. (Plain ASGI, so the request's context variables, such
    as its correlation id, stay visible to the access log.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _page_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in PAGE_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_web(app: FastAPI, settings: Settings) -> None:
    """Adds the pages, their static files and their error pages to the app (the session
    store is opened with the services, in ``main``'s lifespan)."""
    pages = Pages(settings)
    app.state.web_pages = pages
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(PageHeaders)
    for router in _routers():
        app.include_router(router)

    @app.exception_handler(SignInRequiredError)
    async def _sign_in(_: Request, error: SignInRequiredError) -> Response:
        return RedirectResponse(sign_in_url(error.next_url), status_code=303)

    def page_errors(
        request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None
    ) -> Response | None:
        if not is_page(request):
            return None
        if getattr(request.state, "web_session", None) is None:
            sessions: SessionStore = request.app.state.web_sessions
            found = sessions.find(request.cookies.get(COOKIE))
            if found is None and status == 404 and request.method == "GET":
                # A stranger learns nothing of which pages exist: first, sign in.
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(sign_in_url(target), status_code=303)
            request.state.web_session = found
        heading = {403: "Not allowed", 404: "Not found"}.get(status, title)
        return pages.render(
            request,
            "error.html",
            {"title": heading, "heading": heading, "detail": detail},
            status=status,
            headers=headers,
        )

    app.state.page_errors = page_errors
