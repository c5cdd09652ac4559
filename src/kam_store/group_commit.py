"""Group commit: write groups submitted by many threads, run in batches on one thread."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

#: One command's write: its events and what is written with them (an idempotency key), if any.
WriteGroup = tuple[list[StoredEvent], Any]


class GroupCommitter:
    """Runs submitted write groups in batches on one thread; each caller gets its own outcome.

    A group is a command's events and what is written in the same transaction (its
    idempotency key, or None). A group whose ids come back as ``None`` hit a uniqueness
    conflict (an event's version, or its key): that caller gets
    ``IntegrityError`` and the others in the batch are unaffected. An error of the whole batch
    (connection lost, lock timeout) goes to every caller in it.
    """

    def __init__(
        self,
        execute: Callable[[list[WriteGroup]], list[list[int] | None]],
        *,
        max_events: int = 500,
        wait_timeout: float = 60.0,
    ) -> None:
        self._execute = execute
        self._max_events = max_events
        self._wait_timeout = wait_timeout
        self._queue: queue.SimpleQueue[_PendingWrite | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="kam-group-commit", daemon=True)
        self._thread.start()

    def submit(self, events: list[StoredEvent], extra: Any = None) -> list[int]:
        if self._closed:
            raise OperationalError("the event store is closed")
        pending = _PendingWrite(events, extra)
        self._queue.put(pending)
        if not pending.done.wait(self._wait_timeout):
            raise OperationalError("timed out waiting for the event store to commit")
        if pending.error is not None:
            raise pending.error
        if pending.ids is None:
            raise IntegrityError(
                "an event with this aggregate version, or this idempotency key, is already stored"
            )
        return pending.ids

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            size = len(first.events)
            stopping = False
            while size < self._max_events:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
                size += len(more.events)
            self._commit(batch)
            if stopping:
                break
        # Nothing may hang: refuse whatever is still queued after close.
        while True:
            try:
                left = self._queue.get_nowait()
            except queue.Empty:
                return
            if left is not None:
                left.error = OperationalError("the event store is closed")
                left.done.set()

    def _commit(self, batch: list[_PendingWrite]) -> None:
        try:
            outcomes = self._execute([(p.events, p.extra) for p in batch])
        except BaseException as error:  # every waiter must hear how its write ended
            for pending in batch:
                pending.error = error
                pending.done.set()
            if not isinstance(error, Exception):
                raise
            return
        for pending, ids in zip(batch, outcomes, strict=True):
            pending.ids = ids
            pending.done.set()


class _PendingWrite:
    __slots__ = ("done", "error", "events", "extra", "ids")

    def __init__(self, events: list[StoredEvent], extra: Any) -> None:
        self.events = events
        self.extra = extra
        self.ids: list[int] | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
