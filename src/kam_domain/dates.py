"""Dates that cannot be: the bounds every command's dates must keep.

Pure: "today" is not read here but given (``DateBounds.today``), by the application from the
clock its caller passes (the API: ``Settings.clock()``, which ``KAM_TODAY`` fixes). Without a
clock only the bounds that need no today apply.

The bounds (README, "Dates that cannot be"):

- no date is before ``FLOOR`` (1990-01-01);
- what happened (``occurred_on``, an interaction's ``on``, a departure's ``left_on``) is not
  after today plus ``tolerance_days`` (``KAM_FUTURE_TOLERANCE_DAYS``, default 1: time zones);
- what is planned (a handover's ``effective_on``, a due date) is not more than
  ``MAX_YEARS_AHEAD`` years after today;
- an objective is not due before its plan's period starts (``period_start``; kept by the
  plan itself, which knows its period).

And when a fact happened (``fact_time``): its own date, else ``occurred_on``, else the time it
was recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kam_domain.errors import InvalidValueError

#: No date of the ledger is before this day.
FLOOR = date(1990, 1, 1)
#: How far ahead a planned date may be, in years after today.
MAX_YEARS_AHEAD = 10
#: Days after today a past event may be dated by default (a customer a day ahead of us).
DEFAULT_TOLERANCE_DAYS = 1

_YEAR = re.compile(r"\s*(\d{4})")


def period_start(period: str) -> date | None:
    """The first day of a planning period that starts with its year ("2027", "2027-H2":
    1 January 2027); None for a period without a leading year."""
    match = _YEAR.match(period)
    if match is None:
        return None
    year = int(match.group(1))
    return date(year, 1, 1) if year >= 1 else None


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class DateBounds:
    """The bounds for one command: ``today`` (None: unknown, only the floor applies) and the
    days of tolerance after it for what already happened."""

    today: date | None = None
    tolerance_days: int = DEFAULT_TOLERANCE_DAYS

    @property
    def latest_past(self) -> date | None:
        """The last day a past event may be dated."""
        if self.today is None:
            return None
        return self.today + timedelta(days=self.tolerance_days)

    @property
    def latest_planned(self) -> date | None:
        """The last day a planned date may be."""
        if self.today is None:
            return None
        try:
            return self.today.replace(year=self.today.year + MAX_YEARS_AHEAD)
        except ValueError:  # 29 February
            return self.today.replace(year=self.today.year + MAX_YEARS_AHEAD, day=28)

    def past(self, field: str, value: date | datetime | None) -> None:
        """Refuses a date of something that happened: before the floor or after today plus
        the tolerance."""
        if value is None:
            return
        day = _day(value)
        self._not_before_floor(field, day)
        latest = self.latest_past
        if latest is not None and day > latest:
            raise InvalidValueError(
                field,
                f"{day.isoformat()} is in the future: what happened is dated at most "
                f"{self.tolerance_days} day(s) after today ({self.today})",
            )

    def planned(self, field: str, value: date | datetime | None) -> None:
        """Refuses a planned date before the floor or more than ``MAX_YEARS_AHEAD`` years
        after today."""
        if value is None:
            return
        day = _day(value)
        self._not_before_floor(field, day)
        latest = self.latest_planned
        if latest is not None and day > latest:
            raise InvalidValueError(
                field,
                f"{day.isoformat()} is more than {MAX_YEARS_AHEAD} years after today "
                f"({self.today})",
            )

    @staticmethod
    def _not_before_floor(field: str, day: date) -> None:
        if day < FLOOR:
            raise InvalidValueError(
                field, f"{day.isoformat()} is before {FLOOR.isoformat()}, the earliest date"
            )


def not_before_period(field: str, due_on: date, period: str) -> None:
    """Refuses a due date before the start of the plan's period (when it has a leading year)."""
    start = period_start(period)
    if start is not None and due_on < start:
        raise InvalidValueError(
            field,
            f"{due_on.isoformat()} is before the plan's period {period!r} starts "
            f"({start.isoformat()})",
        )


# --- When a fact happened ------------------------------------------------------------------

#: The events whose own date field says when the fact happened, by event name
#: ("Aggregate.Event"): it beats the envelope's ``occurred_on``.
OWN_DATE_FIELDS: dict[str, str] = {
    "Relationship.InteractionLogged": "on",
    "Relationship.LeftCompany": "left_on",
    "KeyAccount.HandedOver": "effective_on",
}


def fact_time(
    own: date | datetime | None, occurred_on: datetime | None, recorded_at: datetime
) -> datetime:
    """When a fact happened: the command's own date where it has one (``own``: an
    interaction's ``on``, a handover's ``effective_on``, a departure's ``left_on``; midnight
    UTC of that day), else the envelope's ``occurred_on`` (as given), else the time it was
    recorded (the stored event's timestamp). The one rule every state, read model, report and
    as-of query dates a fact by; its ``.date()`` is the fact's day."""
    if own is not None:
        if isinstance(own, datetime):
            return own
        return datetime(own.year, own.month, own.day, tzinfo=UTC)
    return occurred_on if occurred_on is not None else recorded_at


def event_fact_time(name: str, data: Mapping[str, Any], recorded_at: datetime) -> datetime:
    """``fact_time`` of a stored event named ``name`` ("Relationship.InteractionLogged") with
    its ``data`` (``meta`` the envelope) and its recorded time."""
    field = OWN_DATE_FIELDS.get(name)
    own = data.get(field) if field is not None else None
    meta = data.get("meta")
    occurred_on = getattr(meta, "occurred_on", None)
    return fact_time(
        own if isinstance(own, date) else None,
        occurred_on if isinstance(occurred_on, datetime) else None,
        recorded_at,
    )
