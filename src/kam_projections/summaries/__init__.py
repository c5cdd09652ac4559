"""One-line, human summaries of stored events, for an account's timeline and history.

``summarize(AccountPlan.ActionRescheduled, data)`` turns one event into a sentence such as
"Action rescheduled from 2027-03-01 to 2027-04-15 — reason: customer asked". ``data`` is the
event's decoded attributes (what the JSON transcoder with the KAM transcodings gives back), so
values are already UUIDs, dates, Decimals, enums and value dataclasses.

Rules every summary keeps:

* one line of at most ``MAX_LENGTH`` characters, starting with a capital, no trailing period;
* the important values (tier, stage, amounts, due dates in ISO form, statuses, scores), and
  ``meta.reason`` as " — reason: ..." when the event carries one;
* never personal data: a stakeholder's ``PersonalData`` (name, email, phone, personal notes)
  is not read at all; free text (interaction summaries, answers, outcomes) is truncated;
* never an exception: an unknown event, or data that does not fit, falls back to a readable
  split of the event name ("Some event recorded").

Some events refer to an action, objective, opportunity, risk or commitment only by id. A caller
that walks a history in order can name them: collect ``introduced_label`` of each event into a
dict and pass it as ``labels``, and "Action rescheduled ..." becomes "Action 'Run the QBR'
rescheduled ...".

Each aggregate family has its own module (``key_accounts``, ``account_plans``,
``relationships``) with a table ``SUMMARIES`` keyed by event class; ``text`` holds the shared
formatting. An event is given by its class, or by its name ("AccountPlan.ActionRescheduled",
or a whole stored topic), which is resolved to the class.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from kam_projections.events import AccountPlan, EventClass, KeyAccount, Relationship
from kam_projections.summaries import account_plans, key_accounts, relationships
from kam_projections.summaries.text import (
    MAX_LENGTH,
    Summariser,
    capital,
    finish,
    one_line,
    reason_of,
)

__all__ = ["EVENT_NAMES", "MAX_LENGTH", "SUMMARISERS", "introduced_label", "summarize"]

#: How each event of KeyAccount, AccountPlan and Relationship is summarised, by event class.
SUMMARISERS: dict[EventClass, Summariser] = {
    **key_accounts.SUMMARIES,
    **account_plans.SUMMARIES,
    **relationships.SUMMARIES,
}

#: The summarised event classes by name, "Aggregate.Event" (for callers that have a name).
_CLASSES: dict[str, EventClass] = {cls.__qualname__: cls for cls in SUMMARISERS}

#: Every event of KeyAccount, AccountPlan and Relationship, as "Aggregate.Event".
EVENT_NAMES: frozenset[str] = frozenset(_CLASSES)

#: Events that introduce a thing later events refer to by id: (id field, label field).
_LABELLED: dict[EventClass, tuple[str, str]] = {
    AccountPlan.ActionAdded: ("action_id", "what"),
    AccountPlan.ObjectiveSet: ("objective_id", "statement"),
    AccountPlan.OpportunityIdentified: ("opportunity_id", "title"),
    KeyAccount.RiskRaised: ("risk_id", "title"),
    Relationship.CommitmentMade: ("commitment_id", "description"),
}

_PAST_PARTICIPLES = frozenset(
    {"set", "won", "lost", "left", "made", "held", "sent", "paid", "done", "met", "kept", "taken"}
)


def _resolve(event: EventClass | str) -> tuple[EventClass | None, str]:
    """The event's class (None if unknown) and its name, "Aggregate.Event"."""
    if isinstance(event, type):
        return event, event.__qualname__
    name = _short_name(event)
    return _CLASSES.get(name), name


def _short_name(event_name: object) -> str:
    """The "Aggregate.Event" part of itself or of a whole topic "module:Aggregate.Event"."""
    return str(event_name).rpartition(":")[2].strip()


def _readable(event_name: str) -> str:
    """The event's name in words: "X.SomeEventRecorded" or "X.SomeEvent" -> "Some event
    recorded"."""
    last = event_name.rpartition(".")[2] or event_name
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+", last)
    if not words:
        return "Event recorded"
    words = [w if len(w) > 1 and w.isupper() else w.lower() for w in words]
    if not (words[-1].endswith("ed") or words[-1] in _PAST_PARTICIPLES):
        words.append("recorded")
    return capital(" ".join(words))


def introduced_label(event: EventClass | str, data: Mapping[str, Any]) -> tuple[UUID, str] | None:
    """The id and label of the action, objective, opportunity, risk or commitment an event
    introduces (e.g. an ``ActionAdded``'s ``action_id`` and ``what``), else None.

    ``event`` is the event's class or name, as for ``summarize``. Collect these over a
    history, in order, and pass them to ``summarize(labels=...)``.
    """
    try:
        cls, _ = _resolve(event)
        fields = _LABELLED.get(cls) if cls is not None else None
        if fields is None:
            return None
        key, label = data.get(fields[0]), data.get(fields[1])
        if isinstance(key, UUID) and label:
            return key, one_line(label)
    except Exception:
        return None
    return None


def summarize(
    event: EventClass | str, data: Mapping[str, Any], *, labels: Mapping[UUID, str] | None = None
) -> str:
    """A one-line, human summary of one stored event; never raises.

    ``event`` is the event's class (``AccountPlan.ActionRescheduled``) or its name,
    "Aggregate.Event" (the end of the stored topic; a whole topic works too), and ``data`` the
    event's decoded attributes. ``labels`` optionally names the things events refer to by id
    (see ``introduced_label``).
    """
    cls, name = _resolve(event)
    try:
        reason = reason_of(data)
    except Exception:
        reason = None
    summariser = SUMMARISERS.get(cls) if cls is not None else None
    if summariser is not None:
        try:
            return finish(summariser(data, labels or {}), reason)
        except Exception:
            pass  # data that does not fit the event: fall back to its name
    try:
        return finish(_readable(name), reason)
    except Exception:
        return "Event recorded"
