"""Rendering pages: the Jinja2 templates under ``templates/`` (HTML autoescaped: every
user-supplied text is shown as text), with what every page needs in its context — the
signed-in user, the CSRF token their forms carry, today's date (the settings' clock) and the
navigation."""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kam_api.auth import LOG_READERS, STORE_READERS, WRITERS, Role, User
from kam_api.settings import Settings
from kam_api.web.sessions import Session

TEMPLATES = Path(__file__).parent / "templates"


def _date(value: date | datetime | str | None, fmt: str = "%-d %b %Y") -> str:
    """``2026-03-04`` → ``4 Mar 2026`` (a datetime as its UTC day)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed.strftime(fmt)
    return value.strftime(fmt)


def _money(value: Decimal | float | int | None, currency: str = "") -> str:
    """``1234567.8`` → ``1,234,568 EUR``."""
    if value is None:
        return "—"
    text = f"{Decimal(str(value)):,.0f}"
    return f"{text} {currency}".strip()


def _percent(value: float | Decimal | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.{digits}f} %"


@functools.cache
def environment() -> Environment:
    """The templates' environment, one per process: it depends on no setting, and each app
    built in the process (the tests build hundreds) then compiles a template once."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = _date
    env.filters["money"] = _money
    # Each form rendered carries a fresh idempotency key (``forms.IDEMPOTENCY_FIELD``).
    env.globals["new_idempotency_key"] = lambda: uuid.uuid4().hex
    env.filters["percent"] = _percent
    return env


#: (path, label, roles that see it) of the navigation bar.
NAV: list[tuple[str, str, frozenset[Role]]] = [
    ("/app/portfolio", "Portfolio", frozenset(Role)),
    ("/app/my-work", "My work", WRITERS),
    ("/app/audit", "Audit", LOG_READERS),
    ("/app/search", "Search", STORE_READERS),
]


class Pages:
    """Renders the app's templates."""

    def __init__(self, settings: Settings) -> None:
        self.env = environment()
        self.settings = settings

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """The page ``template`` with ``context`` and the common context."""
        session: Session | None = getattr(request.state, "web_session", None)
        user: User | None = session.user if session else None
        common: dict[str, Any] = {
            "request": request,
            "user": user,
            "csrf_token": session.csrf if session else "",
            "today": self.settings.clock(),
            "nav": [
                (path, label, request.url.path.startswith(path))
                for path, label, roles in NAV
                if user is not None and user.role in roles
            ],
            "title": "",
        }
        common.update(context or {})
        html = self.env.get_template(template).render(common)
        return HTMLResponse(html, status_code=status, headers=headers)


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.web_pages
    return pages
