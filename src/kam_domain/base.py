"""What every KAM aggregate shares: the envelope on each event and small rule helpers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate

from kam_domain.errors import InvalidValueError, ReasonRequiredError
from kam_domain.values import Envelope

A = TypeVar("A", bound="KamAggregate")


class KamAggregate(Aggregate):
    """Base aggregate. Every ``@event`` method takes ``meta: Envelope`` as its last argument,
    so each stored event carries actor, occurred-on, reason and correlation id.
    """

    @staticmethod
    def require_reason(meta: Envelope, what: str) -> None:
        if not meta.has_reason:
            raise ReasonRequiredError(f"{what} needs a reason")


def require_text(field: str, value: str | None, *, max_length: int = 2000) -> str:
    """A stripped, non-empty string of bounded length, or ``InvalidValueError``."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(field, "must not be empty")
    if len(value) > max_length:
        raise InvalidValueError(field, f"must be at most {max_length} characters")
    return value.strip()


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
