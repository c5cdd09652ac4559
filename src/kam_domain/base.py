"""What every KAM aggregate shares: the envelope on each event and small rule helpers."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Self, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from kam_domain.dates import fact_time
from kam_domain.errors import InvalidValueError, ReasonRequiredError
from kam_domain.names import normal_name
from kam_domain.values import CONTROL_CHARACTERS, Envelope

A = TypeVar("A", bound="KamAggregate")

#: Set by a snapshot upcaster on a state it cannot bring up to date (a date the old state
#: left None was an event's recorded time): the application rebuilds it from the events.
REPLAY_MARK = "_replay_from_events"


class KamAggregate(Aggregate):
    """Base aggregate. Every ``@event`` method takes ``meta: Envelope`` as its last argument,
    so each stored event carries actor, occurred-on, reason and correlation id.

    Inside an event body, ``modified_on`` is that event's own recorded time (its stored
    timestamp; in ``__init__`` the library has already set it from the created event), so a
    body dates what it keeps with ``happened_at``: the same date on the first run and on
    every replay.
    """

    class Event(Aggregate.Event):
        def mutate(self, aggregate: Any) -> Any:
            """The library's mutate, with the aggregate's ``modified_on`` set to this event's
            timestamp before the body runs (the library sets it after), and put back if the
            body fails."""
            if aggregate is None:  # a created event: the library sets it before __init__
                return super().mutate(aggregate)
            before = aggregate.modified_on
            aggregate.modified_on = self.timestamp
            try:
                return super().mutate(aggregate)
            except BaseException:
                aggregate.modified_on = before
                raise

    def happened_at(self, meta: Envelope, own: date | None = None) -> datetime:
        """When the fact of the event being applied happened (``kam_domain.dates.fact_time``):
        its ``own`` date, else the envelope's ``occurred_on``, else its recorded time. Only
        for event bodies, where ``modified_on`` is the event's own timestamp."""
        return fact_time(own, meta.occurred_on, self.modified_on)

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """A copy that shares immutable values and copies only the containers.

        The repository hands commands a deep copy of a cached aggregate; ``copy.deepcopy``
        walked every frozen dataclass and enum and cost more than the command itself. State
        holds only immutable values (frozen dataclasses, enums, scalars) in dicts and lists,
        and event bodies replace values rather than mutate them, so sharing them is safe.
        """
        clone = object.__new__(type(self))
        clone.__dict__.update({k: _clone(v) for k, v in self.__dict__.items()})
        return clone

    @staticmethod
    def require_reason(meta: Envelope, what: str) -> None:
        if not meta.has_reason:
            raise ReasonRequiredError(f"{what} needs a reason")


_IMMUTABLE = (str, int, float, bool, type(None), UUID, Decimal, date, Enum)


def _clone(value: Any) -> Any:
    if isinstance(value, _IMMUTABLE):
        return value
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if dataclasses.is_dataclass(value) and getattr(value, "__dataclass_params__").frozen:  # noqa: B009
        return value
    return copy.deepcopy(value)


def require_text(field: str, value: str | None, *, max_length: int = 2000) -> str:
    """A stripped, non-empty string of bounded length, or ``InvalidValueError``."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(field, "must not be empty")
    if len(value) > max_length:
        raise InvalidValueError(field, f"must be at most {max_length} characters")
    if CONTROL_CHARACTERS.search(value):
        raise InvalidValueError(field, "must not contain control characters")
    return value.strip()


def require_name(field: str, value: str | None, *, max_length: int = 200) -> str:
    """A name: ``require_text``, then NFC, with no bidirectional or zero-width characters."""
    try:
        return normal_name(require_text(field, value, max_length=max_length))
    except ValueError as error:
        raise InvalidValueError(field, str(error)) from None


def require_range(field: str, value: Any, low: int, high: int) -> int:
    """An int within ``low..high`` (inclusive), or ``InvalidValueError``."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidValueError(field, f"must be a whole number from {low} to {high}")
    return value


def replay(events: Iterable[Any], aggregate: A | None = None) -> A | None:
    """Rebuilds an aggregate by applying events in order (as the repository does)."""
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate
