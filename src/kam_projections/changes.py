"""What changed in an account between two instants ("what changed since the last review").

Two parts. ``diff`` is pure: two JSON-like trees in, the ``Change`` list that turns one into
the other out. ``account_changes`` finds the aggregates with events in the range (the timeline),
replays each over the range from the store, and reports the net diff of its public view, every
change with the events whose own step touched it. The API passes its public views in
(``Subject``); ``ChangePublic`` is the answer's item as the API shows it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast
from uuid import UUID

from pydantic import BaseModel, Field, JsonValue

from kam_domain.application import KamApplication
from kam_domain.base import KamAggregate
from kam_projections.db import Row, ViewDatabase
from kam_projections.timeline import recorded_bound

# --- What a change is, as the API shows it ------------------------------------------------

AggregateType = Literal["KeyAccount", "AccountPlan", "Relationship"]
ChangeKind = Literal["added", "removed", "changed"]


class ChangeEventPublic(BaseModel):
    """An event that caused a change, as the account's history shows it."""

    position: int = Field(description="Position in the global log")
    type: str = Field(description="The event class name, e.g. ActionRescheduled")
    actor: str
    recorded_at: datetime
    summary: str = Field(description="The one-line summary of the account's history")


class ChangePublic(BaseModel):
    """One net change of the account, a plan or a stakeholder over the range."""

    aggregate_type: AggregateType
    aggregate_id: UUID
    label: str = Field(
        description="What changed, as people call it: the account name, the plan's \"period: "
        'title", the stakeholder\'s "title: name" (no name once erased)'
    )
    path: str = Field(
        description='Where in its state: "" for a plan or stakeholder created in the range, '
        'else e.g. "tier", "financials.2026.revenue", "risks[<risk_id>]", '
        '"actions[<id>].status" (list items by their id; odd keys as ["key"])'
    )
    change: ChangeKind = Field(
        description="added or removed (a key or list item), or changed (a value)"
    )
    before: JsonValue = Field(description="The value at `from` (null when added)")
    after: JsonValue = Field(description="The value at `to` (null when removed)")
    events: list[ChangeEventPublic] = Field(
        description="The events in the range that touched this path, in log order"
    )


# --- The diff ---------------------------------------------------------------------------

#: Keys that identify the dicts of a list, first match wins: such lists are diffed item by
#: item (``risks[<id>]``), any other list as one value. ``name`` last: competitors.
IDENTITY_KEYS = (
    "id",
    "risk_id",
    "commitment_id",
    "feedback_id",
    "interaction_id",
    "question_id",
    "name",
)


@dataclass(frozen=True)
class Item:
    """A path step into a list: the item whose identity key has this value."""

    id: str | int


Path = tuple[str | Item, ...]


@dataclass(frozen=True)
class Change:
    """A key or list item added or removed, or a value changed, at ``path``."""

    path: Path
    change: ChangeKind
    before: Any = None
    after: Any = None


def diff(before: Any, after: Any) -> list[Change]:
    """The changes that turn ``before`` into ``after``, in the order their paths first appear
    (``before``'s keys, then keys new in ``after``); [] when they are equal."""
    changes: list[Change] = []
    _diff(before, after, (), changes)
    return changes


def _diff(before: Any, after: Any, path: Path, out: list[Change]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key, value in before.items():
            if key in after:
                _diff(value, after[key], (*path, key), out)
            else:
                out.append(Change((*path, key), "removed", value, None))
        out.extend(
            Change((*path, k), "added", None, v) for k, v in after.items() if k not in before
        )
        return
    if isinstance(before, list) and isinstance(after, list):
        key = identity_key(before, after)
        if key is not None:
            old = {item[key]: item for item in before}
            new = {item[key]: item for item in after}
            # Items that moved among themselves are a change of the whole list.
            if [i for i in old if i in new] == [i for i in new if i in old]:
                for item_id, item in old.items():
                    if item_id in new:
                        _diff(item, new[item_id], (*path, Item(item_id)), out)
                    else:
                        out.append(Change((*path, Item(item_id)), "removed", item, None))
                out.extend(
                    Change((*path, Item(i)), "added", None, item)
                    for i, item in new.items()
                    if i not in old
                )
                return
    if not equal(before, after):
        out.append(Change(path, "changed", before, after))


def identity_key(before: Sequence[Any], after: Sequence[Any]) -> str | None:
    """The first of ``IDENTITY_KEYS`` every dict of both lists has, as a string or integer
    unique within each list (None if the lists are not such lists, or both are empty)."""
    items = [*before, *after]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in IDENTITY_KEYS:
        if all(_is_id(item.get(key)) for item in items) and all(
            len({item[key] for item in side}) == len(side) for side in (before, after)
        ):
            return key
    return None


def _is_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def equal(a: Any, b: Any) -> bool:
    """JSON equality: unlike ``==``, ``1``, ``1.0`` and ``True`` differ."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


_PLAIN_KEY = re.compile(r"[\w-]+")


def render_path(path: Path) -> str:
    """A path as people read it: ``financials.2026.revenue``, ``actions[<id>].status``; a key
    that would read ambiguously is quoted (``team["ann.smith"]``)."""
    text = ""
    for part in path:
        if isinstance(part, Item):
            text += f"[{part.id}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


def related(a: Path, b: Path) -> bool:
    """Whether one path is the other or inside it."""
    return a[: len(b)] == b or b[: len(a)] == a


# --- An account's changes ---------------------------------------------------------------

#: Public-view fields that move with every event: not changes of their own.
IGNORED = frozenset({"version", "modified_on"})


@dataclass(frozen=True)
class Subject:
    """How the changes of one aggregate type are shown: its class, its public view, its label,
    and how a view of an erased person reads (``forget``: every view of them, earlier ones
    too, so they never show the erased data)."""

    cls: type[KamAggregate]
    view: Callable[[Any], BaseModel]
    label: Callable[[dict[str, Any]], str]
    forget: Callable[[Any], BaseModel] | None = None


def account_label(view: dict[str, Any]) -> str:
    return str(view["name"])


def plan_label(view: dict[str, Any]) -> str:
    return f"{view['period']}: {view['title']}" if view.get("title") else str(view["period"])


def stakeholder_label(view: dict[str, Any]) -> str:
    parts = [view.get("title"), None if view.get("erased") else view.get("name")]
    return ": ".join(str(p) for p in parts if p) or "(erased)"


def timeline_rows(
    views: ViewDatabase, account_id: UUID, after: datetime, until: datetime
) -> list[Row]:
    """The account's timeline rows recorded in (after, until], in log order."""
    return views.query(
        "SELECT position, aggregate_id, aggregate_type, aggregate_version, event_type, actor, "
        "recorded_at, summary FROM rm_timeline WHERE account_id = :account_id "
        "AND recorded_at > :after AND recorded_at <= :until ORDER BY position",
        {
            "account_id": str(account_id),
            "after": recorded_bound(after),
            "until": recorded_bound(until),
        },
    )


def account_changes(
    kam: KamApplication, rows: Sequence[Row], subjects: Mapping[str, Subject]
) -> list[ChangePublic]:
    """The net changes behind these timeline rows, grouped by aggregate type in the order of
    ``subjects`` (account, plans, stakeholders), each aggregate in order of its first event."""
    by_aggregate: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if row["aggregate_type"] in subjects:
            key = (str(row["aggregate_type"]), str(row["aggregate_id"]))
            by_aggregate.setdefault(key, []).append(row)
    groups = list(subjects)
    ordered = sorted(by_aggregate.items(), key=lambda item: groups.index(item[0][0]))
    changes: list[ChangePublic] = []
    for (aggregate_type, aggregate_id), own in ordered:
        changes.extend(_changes_of(kam, subjects[aggregate_type], UUID(aggregate_id), own))
    return changes


def _changes_of(
    kam: KamApplication, subject: Subject, aggregate_id: UUID, rows: Sequence[Row]
) -> list[ChangePublic]:
    """One aggregate's net changes: its view before the range against its view at the end,
    replayed event by event to learn which events touched what."""
    events = {int(r["aggregate_version"]): _event(r) for r in rows}
    first, last = min(events) - 1, max(events)
    forget = subject.forget
    if forget is not None and not getattr(kam.get(subject.cls, aggregate_id), "erased", False):
        forget = None

    def show(aggregate: KamAggregate) -> dict[str, Any]:
        model = subject.view(aggregate)
        if forget is not None:  # erasure is final: no earlier state may show the data again
            model = forget(model)
        view: dict[str, Any] = model.model_dump(mode="json")
        return view

    def public(change: Change, label: str, caused_by: list[ChangeEventPublic]) -> ChangePublic:
        return ChangePublic(
            aggregate_type=cast(Any, subject.cls.__name__),
            aggregate_id=aggregate_id,
            label=label,
            path=render_path(change.path),
            change=change.change,
            before=change.before,
            after=change.after,
            events=caused_by,
        )

    # A version given, the repository builds a fresh object: replaying never mutates the cache.
    if not first:  # created in the range: its whole view at the end, with all its events
        end = show(kam.load(subject.cls, aggregate_id, version=last, fresh=False))
        return [public(Change((), "added", None, end), subject.label(end), list(events.values()))]
    aggregate = kam.load(subject.cls, aggregate_id, version=first, fresh=False)
    start = previous = show(aggregate)
    steps: list[tuple[ChangeEventPublic | None, list[Path]]] = []
    for domain_event in kam.repository.event_store.get(aggregate_id, gt=first, lte=last):
        aggregate = cast(Any, domain_event).mutate(aggregate)
        current = show(aggregate)
        touched = [c.path for c in diff(_state(previous), _state(current))]
        steps.append((events.get(domain_event.originator_version), touched))
        previous = current
    label = subject.label(previous)
    found: list[tuple[int, ChangePublic]] = []
    for change in diff(_state(start), _state(previous)):
        hits = [
            (i, e)
            for i, (e, touched) in enumerate(steps)
            if e is not None and any(related(p, change.path) for p in touched)
        ]
        rank = hits[0][0] if hits else len(steps)
        found.append((rank, public(change, label, [e for _, e in hits])))
    found.sort(key=lambda pair: pair[0])  # stable: ties keep the order of the diff
    return [change for _, change in found]


def _state(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in IGNORED}


def _event(row: Row) -> ChangeEventPublic:
    return ChangeEventPublic(
        position=row["position"],
        type=row["event_type"],
        actor=row["actor"],
        recorded_at=row["recorded_at"],
        summary=row["summary"],
    )
