"""Conditional GETs on the read-model endpoints: ``ETag`` from where the read models stand,
``If-None-Match`` answered ``304 Not Modified`` before the read's own query runs.

A read-model answer is a function of the read models' state (``kam_projections.freshness``:
their positions and generations), the question (path, query, ``Accept``), the day it is read
on (overdue flags, cadences and health count days) and the service's read-time settings (CLV
assumptions, health weights, tier caps, reporting currency). The entity tag hashes all of
them (``min_position`` aside: it says when to answer, not what), with the highest position
in front so a person can see it move. Any write that reaches the read models moves the
position, so the tag changes with every write (also one that did not change this answer:
cheap to know, never wrong). ``Cache-Control: private, no-cache``: a client or a private
cache may keep the answer but must revalidate it every time, and shared caches must not
keep it.

The state is read before the answer's rows, from the same database (the read replica when
``KAM_READ_DATABASE_URL`` names one), so a tag never names a newer state than its answer
shows: a write landing in between only makes the next revalidation answer 200 again.
``min_position`` waits run first (they are a dependency of the route), so a read-your-writes
request is answered from a state that has its write, whose tag differs from any the client
held before writing.

The busiest answers (the portfolio's pages and summary) are also kept serialised in the
process (``Conditional.kept``, at most ``KAM_ANSWER_CACHE_SIZE`` of them) under their tag and
the reader's role: while nothing is written, the same question is answered with the state's
one small query instead of the page's. A kept answer is thus never older than the state its
tag names (a write landing in between makes it newer, and the next state's tag another
entry).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel

from kam_api.settings import Settings
from kam_projections.db import ViewDatabase
from kam_projections.freshness import ModelsState, models_state
from kam_store.bounded_cache import BoundedCache

CACHE_CONTROL = "private, no-cache"
JSON = "application/json"

ETAG_DESCRIPTION = (
    "Names this answer: where the read models stood, the question and the day. Send it back "
    "as `If-None-Match` to get `304 Not Modified` while nothing was written since."
)
#: What the read-model endpoints add to their OpenAPI answers.
CONDITIONAL_HEADERS: dict[str, Any] = {
    "ETag": {"description": ETAG_DESCRIPTION, "schema": {"type": "string"}},
    "Cache-Control": {
        "description": f"`{CACHE_CONTROL}`: keep it if you like, revalidate every time",
        "schema": {"type": "string"},
    },
}
NOT_MODIFIED_DESCRIPTION = (
    "Not modified: `If-None-Match` names this answer's current ETag (nothing reached the "
    "read models since); no body"
)


def conditional_responses(
    base: dict[int | str, dict[str, Any]] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=`` with the ETag/Cache-Control headers on 200 and the 304."""
    responses: dict[int | str, dict[str, Any]] = {k: dict(v) for k, v in (base or {}).items()}
    ok = responses.setdefault(200, {})
    ok["headers"] = {**ok.get("headers", {}), **CONDITIONAL_HEADERS}
    responses[304] = {"description": NOT_MODIFIED_DESCRIPTION}
    return responses


def entity_tag(state: ModelsState, request: Request, today: date, settings: Settings) -> str:
    """The ETag of a read-model answer (see the module docstring)."""
    question = (
        state,
        request.url.path,
        [item for item in request.query_params.multi_items() if item[0] != "min_position"],
        request.headers.get("accept", ""),
        today.isoformat(),
        _fingerprint(request, settings),
    )
    digest = hashlib.blake2b(repr(question).encode(), digest_size=10).hexdigest()
    return f'"{state[1] or 0}-{digest}"'


def _fingerprint(request: Request, settings: Settings) -> str:
    """The read-time settings an answer depends on, as text (worked out once per app)."""
    kept: tuple[Settings, str] | None = getattr(request.app.state, "read_fingerprint", None)
    if kept is None or kept[0] is not settings:
        text = repr(
            (
                settings.clv,
                settings.health_weights,
                [(tier.value, cap) for tier, cap in settings.tier_caps.items()],
                settings.reporting_currency,
            )
        )
        kept = (settings, text)
        request.app.state.read_fingerprint = kept
    return kept[1]


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (weak comparison, RFC 9110 13.1.2). ``*`` is
    not taken to match: a tag is only ever held for a question that was answered, so a bad
    question (a cursor not ours) still gets its 400, never a 304."""
    if not if_none_match:
        return False
    wanted = tag.removeprefix("W/")
    return any(
        candidate.strip().removeprefix("W/") == wanted for candidate in if_none_match.split(",")
    )


class Conditional:
    """One conditional read: its ETag, the 304 when the client has it, the answer with the
    headers otherwise."""

    def __init__(
        self,
        request: Request,
        views: ViewDatabase,
        settings: Settings,
        today: date,
        if_none_match: str | None,
    ) -> None:
        self.request, self.views, self.settings = request, views, settings
        self.today, self.if_none_match = today, if_none_match
        self._state: ModelsState | None = None

    @property
    def asked(self) -> bool:
        """Whether the client sent ``If-None-Match`` (so the state is worth reading first)."""
        return bool(self.if_none_match)

    def state(self) -> ModelsState:
        """Where the read models stand (read once, before the answer's rows)."""
        if self._state is None:
            self._state = models_state(self.views)
        return self._state

    def headers(self, state: ModelsState | None = None) -> dict[str, str]:
        tag = entity_tag(state or self.state(), self.request, self.today, self.settings)
        return {"ETag": tag, "Cache-Control": CACHE_CONTROL}

    def not_modified(self) -> Response | None:
        """304 when ``If-None-Match`` names the current answer, else None. Reads the state
        first: call it before the answer's own queries."""
        headers = self.headers()
        if matches(self.if_none_match, headers["ETag"]):
            return Response(status_code=304, headers=headers)
        return None

    def json(self, answer: BaseModel | list[Any]) -> Response:
        """The answer serialised once, here, as FastAPI would (by alias), with its ETag (the
        state read first)."""
        return Response(_serialised(answer), media_type=JSON, headers=self.headers())

    def kept(self, role: str, make: Callable[[], BaseModel | list[Any]]) -> Response:
        """The answer for the read models' current state, serialised once per state and
        role and kept (see the module docstring); ``make`` builds it on a miss. Only for
        answers that depend on nothing of the reader but their role."""
        headers = self.headers()
        answers = _answer_cache(self.request, self.settings)
        key = (headers["ETag"], role)
        body = answers.get(key)
        if body is None:
            body = _serialised(make())
            answers.put(key, body)
        return Response(body, media_type=JSON, headers=headers)

    def tagged(self, make: Callable[[], Response]) -> Response:
        """Another kind of answer (a CSV stream), made after the state was read, with its
        ETag."""
        headers = self.headers()
        response = make()
        response.headers.update(headers)
        return response


def _answer_cache(request: Request, settings: Settings) -> BoundedCache[tuple[str, str], bytes]:
    """The app's kept answers (made on first use, bounded by the settings)."""
    cache: BoundedCache[tuple[str, str], bytes] | None = getattr(
        request.app.state, "answer_cache", None
    )
    if cache is None:
        cache = BoundedCache("api_answers", settings.answer_cache_size)
        request.app.state.answer_cache = cache
    return cache


def _serialised(answer: BaseModel | list[Any]) -> bytes:
    if isinstance(answer, list):
        return b"[" + b",".join(_dumped(item) for item in answer) + b"]"
    return _dumped(answer)


def _dumped(model: BaseModel) -> bytes:
    return model.__pydantic_serializer__.to_json(model, by_alias=True)


async def conditional(
    request: Request,
    if_none_match: Annotated[
        str | None,
        Header(
            description="An ETag this endpoint answered before: 304 Not Modified, without a "
            "body, while it is still the current one"
        ),
    ] = None,
) -> Conditional:
    """The request's conditional read (the services straight from the app's state: fewer
    dependencies to solve on every read)."""
    settings: Settings = request.app.state.settings
    return Conditional(
        request, request.app.state.read_views, settings, settings.clock(), if_none_match
    )


Fresh = Annotated[Conditional, Depends(conditional)]
