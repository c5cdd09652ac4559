"""Which dates of which command keep which bound (``kam_domain.dates``), checked before the
command's handler runs, so a refused date changes nothing."""

from __future__ import annotations

from kam_domain import commands as cmd
from kam_domain.dates import DateBounds
from kam_domain.values import Envelope

#: Dates of something that happened: not before the floor, not after today (+ tolerance).
PAST: dict[type[cmd.Command], tuple[str, ...]] = {
    cmd.LogInteraction: ("on",),
}
#: Planned dates: not before the floor, not more than the years allowed ahead of today.
PLANNED: dict[type[cmd.Command], tuple[str, ...]] = {
    cmd.HandOver: ("effective_on",),
    cmd.SetObjective: ("due_on",),
    cmd.AddAction: ("due_on",),
    cmd.RescheduleAction: ("due_on",),
    cmd.MakeCommitment: ("due_on",),
    cmd.RecordDeparture: ("left_on",),
    cmd.RecordExchangeRate: ("effective_on",),
}


def check_dates(command: cmd.Command, meta: Envelope, bounds: DateBounds) -> None:
    """Refuses (``InvalidValueError`` naming the field) a command whose dates cannot be: its
    envelope's ``occurred_on`` and the command's own dates."""
    bounds.past("occurred_on", meta.occurred_on)
    for name in PAST.get(type(command), ()):
        bounds.past(name, getattr(command, name))
    for name in PLANNED.get(type(command), ()):
        bounds.planned(name, getattr(command, name))
