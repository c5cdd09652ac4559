"""Copying a store's log into a new, empty store: the upgrade that removes old plaintext.

An append-only log cannot be encrypted in place: events written before encryption keep their
plaintext bytes. Copying reads every event through the source's mapper (so an erased person's
old plaintext comes out redacted and everyone else's data in clear) and writes it through the
target's mapper (so personal data is sealed with a key of each person in the new store; an
erasure event copied destroys that person's new key, by the target's trigger). Ids, versions,
timestamps and topics are kept; positions (notification ids) are the new store's, so read
models are rebuilt on the new store afterwards. Snapshots are not copied: they are taken again
as aggregates change.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from eventsourcing.application import Application


class TargetNotEmptyError(Exception):
    """The target store already holds events."""


def copy_log(
    source: Application[UUID],
    target: Application[UUID],
    *,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Copies every event of ``source`` into the empty ``target``, in log order, one
    transaction per batch; returns how many."""
    if target.recorder.max_notification_id():
        raise TargetNotEmptyError("the target store already holds events; copy into an empty one")
    last = source.recorder.max_notification_id() or 0
    copied, start = 0, 1
    while start <= last:
        batch = source.recorder.select_notifications(start, limit=batch_size, stop=last)
        if not batch:
            break
        stored = [
            target.mapper.to_stored_event(source.mapper.to_domain_event(notification))
            for notification in batch
        ]
        target.recorder.insert_events(stored)
        copied += len(stored)
        start = batch[-1].id + 1
        if progress is not None:
            progress(batch[-1].id, last)
    return copied
