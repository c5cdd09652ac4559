"""The search page (the navigation bar's search box): key accounts and people by name, with the
API's rule for who sees people (``GET /search``: not viewers)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from kam_api.auth import STORE_READERS
from kam_api.web.auth import PageUser
from kam_api.web.templating import pages_of
from kam_projections.db import ViewDatabase
from kam_projections.search import SearchScope, search

router = APIRouter(include_in_schema=False)

#: The longest query (as ``GET /search``), and hits per page.
MAX_QUERY = 200
PAGE_SIZE = 50


@router.get("/app/search")
def search_page(
    request: Request,
    user: PageUser,
    q: Annotated[str, Query(max_length=10_000)] = "",
    cursor: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    """Accounts (not exited) and, for those who may read people, stakeholders (never an erased
    one) whose name or title contains ``q``, by name; an empty or too long query is told so."""
    people = user.role in STORE_READERS
    text = q.strip()
    problem, status, hits, next_url = "", 200, [], None
    if not text:
        problem = "Type part of a name to search for."
    elif len(text) > MAX_QUERY:
        problem = f"That search is too long: at most {MAX_QUERY} characters, please."
        status = 422
    else:
        views: ViewDatabase = request.app.state.views
        page = search(
            views, text, SearchScope(people=people), limit=PAGE_SIZE, cursor=cursor or None
        )
        hits = page.items
        if page.next_cursor:
            next_url = "/app/search?" + urlencode({"q": text, "cursor": page.next_cursor})
    return pages_of(request).render(
        request,
        "search/search.html",
        {
            "title": f"Search: {text[:60]}" if text and not problem else "Search",
            "q": q[:MAX_QUERY] if len(text) > MAX_QUERY else text,
            "problem": problem,
            "hits": hits,
            "people": people,
            "next_url": next_url,
            "first_url": "/app/search?" + urlencode({"q": text}) if cursor else None,
        },
        status=status,
    )
