"""Personal data: which stored fields are a person's, and what is shown once they are erased.

The boundary (see docs/personal-data.md): of the stored data, only the Relationship aggregate's
events and snapshots hold a person's data, in these fields:

- ``Identified``: ``personal`` (name, email, phone, notes) and ``title``;
- ``InteractionLogged``: ``summary``; ``CommitmentMade``: ``description``;
  ``CommitmentFulfilled``: ``note``;
- every Relationship event: the envelope's ``meta.reason``;
- a Relationship snapshot's state: ``personal``, ``title``, ``last_interaction``'s summary (and
  each summary of a version 1 snapshot's ``interactions``), and each commitment's
  ``description`` and ``fulfilment_note``.

Account and plan events hold no person's data and stay in clear. The functions here are pure:
they split a decoded state dict into the redacted state (each personal value replaced by
``ERASED``; None stays None, shapes, ids and dates are kept) and the secrets taken out, and put
the secrets back. The store seals the secrets with the person's key (``kam_store.crypto``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

#: Shown in place of a person's erased data (their name, contact details, notes, and the free
#: text recorded on their relationship), on every read path.
ERASED = "(erased)"

#: The topic prefix of the Relationship aggregate's events (the aggregate's topic + ".").
RELATIONSHIP_TOPIC = "kam_domain.relationships:Relationship"

#: Free-text fields of a person per Relationship event name (``meta.reason`` is in all of them).
EVENT_TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "Identified": ("title",),
    "TitleCorrected": ("title",),
    "ContactDetailsCorrected": ("email", "phone"),
    "InteractionLogged": ("summary",),
    "CommitmentMade": ("description",),
    "CommitmentFulfilled": ("note",),
}

#: What a split takes out: plain JSON values (strings, None, lists and dicts of them), keyed by
#: where they were (``"personal"``, ``"meta.reason"``, ``"commitments"`` ...).
Secrets = dict[str, Any]
PERSONAL_FIELDS = ("name", "email", "phone", "notes")


def _with(value: Any, **changes: Any) -> Any:
    """A copy of a frozen dataclass value with ``changes``, without re-running its validation
    (as the transcoder rebuilds stored values: history is not re-checked, and this is on the
    read path of every event)."""
    copied = object.__new__(type(value))
    copied.__dict__.update(value.__dict__)
    copied.__dict__.update(changes)
    return copied


def _redacted_text(value: str | None) -> str | None:
    return None if value is None else ERASED


def redact_personal(personal: Any) -> Any:
    """A ``PersonalData`` with every value given replaced by ``ERASED`` (None stays None)."""
    if personal is None:
        return None
    return _with(
        personal,
        name=ERASED,
        email=_redacted_text(personal.email),
        phone=_redacted_text(personal.phone),
        notes=_redacted_text(personal.notes),
    )


def _personal_secret(personal: Any) -> list[str | None]:
    return [getattr(personal, field) for field in PERSONAL_FIELDS]


def _restored_personal(redacted: Any, secret: list[str | None]) -> Any:
    return _with(redacted, **dict(zip(PERSONAL_FIELDS, secret, strict=True)))


def _split_meta(state: dict[str, Any], secrets: Secrets) -> None:
    meta = state.get("meta")
    if meta is not None and getattr(meta, "reason", None) is not None:
        secrets["meta.reason"] = meta.reason
        state["meta"] = _with(meta, reason=ERASED)


def split_event(event_name: str, state: dict[str, Any]) -> tuple[dict[str, Any], Secrets]:
    """A Relationship event's state split into (redacted state, secrets); the input is not
    changed. Secrets hold only values that were given (not None)."""
    redacted = dict(state)
    secrets: Secrets = {}
    if event_name == "Identified" and redacted.get("personal") is not None:
        secrets["personal"] = _personal_secret(redacted["personal"])
        redacted["personal"] = redact_personal(redacted["personal"])
    for field in EVENT_TEXT_FIELDS.get(event_name, ()):
        if redacted.get(field) is not None:
            secrets[field] = redacted[field]
            redacted[field] = ERASED
    _split_meta(redacted, secrets)
    return redacted, secrets


def restore_event(
    redacted: dict[str, Any], secrets: Secrets, *, in_place: bool = False
) -> dict[str, Any]:
    """The event state ``split_event`` was given, from its two parts. ``in_place`` reuses the
    redacted dict and its envelope (for a caller that owns them: a state just decoded)."""
    state = redacted if in_place else dict(redacted)
    for path, value in secrets.items():
        if path == "meta.reason":
            if in_place:
                state["meta"].__dict__["reason"] = value
            else:
                state["meta"] = _with(state["meta"], reason=value)
        elif path == "personal":
            state[path] = _restored_personal(state[path], value)
        else:
            state[path] = value
    return state


def split_snapshot(state: dict[str, Any]) -> tuple[dict[str, Any], Secrets]:
    """A Relationship snapshot's state (``{"timestamp", "topic", "state": {...}}``)
    split into (redacted state, secrets); the input is not changed."""
    aggregate = dict(state["state"])
    secrets: Secrets = {}
    if aggregate.get("personal") is not None:
        secrets["personal"] = _personal_secret(aggregate["personal"])
        aggregate["personal"] = redact_personal(aggregate["personal"])
    if aggregate.get("title") is not None:
        secrets["title"] = aggregate["title"]
        aggregate["title"] = ERASED
    last = aggregate.get("last_interaction")
    if last is not None:
        secrets["last_interaction"] = last.summary
        aggregate["last_interaction"] = _with(last, summary=ERASED)
    if aggregate.get("interactions"):  # a version 1 snapshot
        secrets["interactions"] = [i.summary for i in aggregate["interactions"]]
        aggregate["interactions"] = [_with(i, summary=ERASED) for i in aggregate["interactions"]]
    commitments = aggregate.get("commitments")
    if commitments:
        secrets["commitments"] = {
            key: [c.description, c.fulfilment_note] for key, c in commitments.items()
        }
        aggregate["commitments"] = {key: redact_commitment(c) for key, c in commitments.items()}
    redacted = dict(state)
    redacted["state"] = aggregate
    return redacted, secrets


def restore_snapshot(redacted: dict[str, Any], secrets: Secrets) -> dict[str, Any]:
    """The snapshot state ``split_snapshot`` was given, from its two parts."""
    aggregate = dict(redacted["state"])
    for path, value in secrets.items():
        if path == "personal":
            aggregate[path] = _restored_personal(aggregate[path], value)
        elif path == "last_interaction":
            aggregate[path] = _with(aggregate[path], summary=value)
        elif path == "interactions":
            aggregate[path] = [
                _with(i, summary=summary) for i, summary in zip(aggregate[path], value, strict=True)
            ]
        elif path == "commitments":
            aggregate[path] = {
                key: _with(c, description=value[key][0], fulfilment_note=value[key][1])
                for key, c in aggregate[path].items()
            }
        else:
            aggregate[path] = value
    state = dict(redacted)
    state["state"] = aggregate
    return state


def redact_commitment(commitment: Any) -> Any:
    """A ``StakeholderCommitment`` with its description (and note, if any) erased."""
    return _with(
        commitment,
        description=ERASED,
        fulfilment_note=_redacted_text(commitment.fulfilment_note),
    )


def redact_interaction(interaction: Any) -> Any:
    """An ``Interaction`` with its summary erased (None stays None)."""
    return None if interaction is None else _with(interaction, summary=ERASED)


def is_plain_personal(secrets: Secrets) -> bool:
    """Whether split-off secrets hold a person's data in clear (not only placeholders)."""

    def plain(value: Any) -> bool:
        if value is None or value == ERASED:
            return False
        if isinstance(value, list | tuple):
            return any(plain(v) for v in value)
        if isinstance(value, dict):
            return any(plain(v) for v in value.values())
        if dataclasses.is_dataclass(value):
            return any(plain(getattr(value, f.name)) for f in dataclasses.fields(value))
        return True

    return any(plain(value) for value in secrets.values())
