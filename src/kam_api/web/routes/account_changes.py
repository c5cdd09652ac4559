"""What changed in an account between two days, in words (field: before → after), and the
include other pages show it with (``templates/account/_changes.html``): the Update tab shows
what a stale form missed with ``changes_since`` and ``render_changes``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from kam_api.errors import ApiError
from kam_api.routes.changes import SUBJECTS
from kam_api.web.auth import PageStoreReader
from kam_api.web.routes.account import account_at, end_of, parse_day, tabs_context
from kam_api.web.templating import pages_of
from kam_domain.application import KamApplication
from kam_projections.as_of import labels_of, rows_between, rows_since_version
from kam_projections.changes import ChangePublic, account_changes
from kam_projections.db import Row, ViewDatabase

router = APIRouter(include_in_schema=False)

_ITEM = re.compile(r"\[([^\]]*)\]")
#: The keys that name an item of a list or an added thing, first found wins.
_NAMES = ("title", "what", "statement", "name", "period", "label", "question", "summary", "notes")
_NOUNS = {"KeyAccount": "account", "AccountPlan": "plan", "Relationship": "stakeholder"}
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$")
LONGEST = 160
SEP = " \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "


@dataclass(frozen=True)
class ChangeEvent:
    position: int
    summary: str
    actor: str
    recorded_at: datetime


@dataclass(frozen=True)
class ChangeLine:
    """One change in words: of what (``label``, e.g. the plan's "2026: Grow"), which field,
    ``added``/``removed``/``changed``, the value before and after, and the events behind it."""

    label: str
    noun: str
    field: str
    kind: str
    before: str
    after: str
    events: tuple[ChangeEvent, ...]


def words(value: Any) -> str:
    """A value as a person reads it: a thing by its name, a list joined, a day as a day, null
    as a dash."""
    if value is None:
        text = "—"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, dict):
        named = next((value[k] for k in _NAMES if value.get(k)), None)
        text = (
            words(named)
            if named is not None
            else ", ".join(
                f"{k.replace('_', ' ')} {words(v)}"
                for k, v in value.items()
                if not isinstance(v, dict | list) and not k.endswith("id")
            )
        )
    elif isinstance(value, list):
        text = ", ".join(words(v) for v in value) or "none"
    elif isinstance(value, str) and _INSTANT.match(value):
        text = datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%-d %b %Y")
    else:
        text = value.replace("_", " ") if isinstance(value, str) else str(value)
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def field_name(path: str, names: dict[str, str]) -> str:
    """``actions[<id>].status`` → "actions > Call the CFO > status" (``SEP`` for ">"): an
    item by what the timeline calls it, else without its id."""

    def item(found: re.Match[str]) -> str:
        name = names.get(found.group(1))
        return f"{SEP}{name}" if name else ""

    return _ITEM.sub(item, path).replace(".", SEP).replace("_", " ")


def _noise(change: ChangePublic) -> bool:
    """An id that only follows another change (the latest feedback's id)."""
    last = _ITEM.sub("", change.path).rsplit(".", 1)[-1]
    return change.change == "changed" and (last == "id" or last.endswith("_id"))


def change_lines(
    changes: Sequence[ChangePublic], names: dict[str, str] | None = None
) -> list[ChangeLine]:
    """The changes (``kam_projections.changes``) in words, as ``_changes.html`` shows them;
    ``names``: what the items of lists are called, by id."""
    lines = []
    for c in changes:
        if _noise(c):
            continue
        kind, before, after = c.change, c.before, c.after
        if isinstance(c.before, list) and isinstance(c.after, list):
            old, new = c.before, c.after
            if new[: len(old)] == old:  # appended to: show what was added
                kind, before, after = "added", None, new[len(old) :]
        lines.append(
            ChangeLine(
                label=c.label,
                noun=_NOUNS.get(c.aggregate_type, c.aggregate_type),
                field=field_name(c.path, names or {}),
                kind=kind,
                before=words(before),
                after=words(after),
                events=tuple(
                    ChangeEvent(e.position, e.summary, e.actor, e.recorded_at) for e in c.events
                ),
            )
        )
    return lines


def _lines(request: Request, rows: list[Row]) -> list[ChangeLine]:
    kam: KamApplication = request.app.state.kam
    views: ViewDatabase = request.app.state.views
    changes = account_changes(kam, rows, SUBJECTS)
    ids = [i for c in changes for i in _ITEM.findall(c.path)]
    return change_lines(changes, labels_of(views, ids))


def changes_between(
    request: Request, account_id: UUID, start: datetime, end: datetime
) -> list[ChangeLine]:
    """What changed in the account, its plans and stakeholders from ``start`` to ``end``, by
    when things happened (as the as-of pages see the account)."""
    views: ViewDatabase = request.app.state.views
    return _lines(request, rows_between(views, account_id, start, end))


def changes_since(
    request: Request, account_id: UUID, aggregate_id: UUID, version: int
) -> list[ChangeLine]:
    """What changed in one aggregate of the account (itself, a plan or a stakeholder) after
    ``version``: what a form made at that version did not see."""
    views: ViewDatabase = request.app.state.views
    return _lines(request, rows_since_version(views, account_id, aggregate_id, version))


def render_changes(request: Request, changes: Sequence[ChangeLine]) -> Markup:
    """The ``_changes.html`` include on its own, for a page that shows it inside its own."""
    template = pages_of(request).env.get_template("account/_changes.html")
    return Markup(template.render(changes=changes))


@router.get("/app/accounts/{account_id}/changes", response_class=HTMLResponse)
def changes_page(
    request: Request,
    account_id: UUID,
    user: PageStoreReader,
    since: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> HTMLResponse:
    """What changed between two days (``from``, ``to``: YYYY-MM-DD; ``to`` today if absent),
    each as it stood at the end of the day."""
    at = account_at(request, account_id, None)
    start = parse_day(since, "from")
    if start is None:
        raise ApiError(400, "bad-range", "Which days?", "Give the first day as from=YYYY-MM-DD.")
    end = parse_day(to, "to") or at.today
    if end > at.today:
        raise ApiError(
            400, "bad-range", "Day in the future", f"{end:%-d %b %Y} has not happened yet."
        )
    if start >= end:
        raise ApiError(
            400, "bad-range", "Bad range", "The first day (from) must be before the last (to)."
        )
    context = tabs_context(at, "changes", "What changed") | {
        "since": start,
        "until": end,
        "changes": changes_between(request, account_id, end_of(start), end_of(end)),
    }
    return pages_of(request).render(request, "account/changes.html", context)
