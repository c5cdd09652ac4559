"""The signed-in user's digest: what needs their attention, as JSON, Markdown or HTML."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response

from kam_api.auth import MANAGING_ROLES, NAME, Role, UserStore
from kam_api.deps import CurrentUser, Kam, MinPosition, Today, Views, get_users
from kam_api.digest import digest_html, digest_markdown
from kam_api.digest.build import DEFAULT_WITHIN_DAYS, MAX_WITHIN_DAYS, manager_digest
from kam_api.errors import ApiError, ForbiddenError
from kam_projections.digest import Digest

router = APIRouter(tags=["read models"])

MEDIA_TYPES = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
Format = Literal["json", "markdown", "html"]
Users = Annotated[UserStore, Depends(get_users)]


@router.get(
    "/me/digest",
    response_model=Digest,
    responses={
        403: {"description": "Another manager's digest: directors and admins only"},
        404: {"description": "No manager of that name (`manager`)"},
        200: {
            "description": "The digest in the format asked for",
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
    },
)
def get_digest(
    user: CurrentUser,
    today: Today,
    kam: Kam,
    views: Views,
    users: Users,
    _wait: MinPosition,
    manager: Annotated[
        str | None,
        Query(
            pattern=NAME.pattern,
            description="Another manager's digest: directors and admins only (403 otherwise)",
        ),
    ] = None,
    due_within_days: Annotated[
        int, Query(ge=0, le=MAX_WITHIN_DAYS, description="'Due soon' means within this many days")
    ] = DEFAULT_WITHIN_DAYS,
    format: Annotated[
        Format | None,
        Query(description="json, markdown or html (a page); default: by Accept, else json"),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """What needs the manager's attention today: open actions they own or on their accounts
    that are overdue or due within ``due_within_days``, key people not contacted within
    their account's cadence (named, unless erased), handovers to acknowledge, plan reviews
    and re-evaluations due. The signed-in user's own, or with ``manager`` (directors and
    admins only) another's."""
    name = user.name
    if manager is not None and manager != user.name:
        if user.role not in (Role.ADMIN, Role.DIRECTOR):
            raise ForbiddenError("only directors and admins may read another manager's digest")
        found = users.get(manager)
        if found is None or Role(found.role) not in MANAGING_ROLES:
            raise ApiError(404, "not-found", "Not found", f"no manager named {manager!r}")
        name = manager
    digest = manager_digest(kam, views, name, today=today, within_days=due_within_days)
    chosen = format or _from_accept(accept)
    if chosen == "markdown":
        body = digest_markdown(digest)
    elif chosen == "html":
        body = digest_html(digest)
    else:
        body = digest.model_dump_json()
    return Response(body, media_type=MEDIA_TYPES[chosen])


def _from_accept(accept: str | None) -> Format:
    """The format an Accept header prefers most (by its q-values, then its order) among
    ours; JSON when it names none of them."""
    ranked: list[tuple[float, int, Format]] = []
    for order, part in enumerate((accept or "").split(",")):
        media, *params = (p.strip().lower() for p in part.split(";"))
        found = _ACCEPTED.get(media)
        if found is None:
            continue
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, order, found))
    return min(ranked)[2] if ranked else "json"


_ACCEPTED: dict[str, Format] = {
    "text/markdown": "markdown",
    "text/html": "html",
    "application/json": "json",
    "*/*": "json",
}
