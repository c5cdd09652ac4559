"""Idempotency keys: a command sent twice with the same key is applied once.

A client that lost the answer to a command (its connection dropped, the API process died
between the commit and the answer) cannot tell whether it was applied; with a key it simply
sends it again. The first command's answer (aggregate id, version, log position, entity id) is
stored with the key, scoped to the user, by the event store in the same transaction as the
command's events (``kam_store.idempotency``), so the events and the answer are committed
together or not at all. A repeat finds the answer and returns it without writing.

How a repeat is answered (``run_once``):

- the key is stored, for the same command: its stored answer, nothing written (a "replay");
- the key is stored for another command (another body or path): ``IdempotencyKeyReusedError``
  (422), nothing written;
- the same key is still running in this process: the repeat waits for it (up to
  ``IdempotencyPolicy.wait_seconds``) and then answers as above (the stored answer; or, if the
  first was refused and stored nothing, runs the command itself); still running after that:
  ``IdempotencyInProgressError`` (409), and the client retries shortly;
- the same key runs in two processes at once: both may run the command, but only one can
  commit (the key's row is unique per user and written with the events); the other's events
  are rolled back with its key row and it answers the winner's stored answer.

A refused command stores nothing (it wrote nothing, so running it again is safe). Keys expire
after ``IdempotencyPolicy.hours``; the store deletes expired rows as it writes new ones.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable
from uuid import UUID

from kam_domain.commands.base import CommandResult
from kam_domain.errors import KamError

#: The longest key taken (Stripe's limit): it is stored and indexed.
MAX_KEY_LENGTH = 255


class IdempotencyKeyReusedError(KamError):
    """The key was used before, by this user, for a different command (422)."""


class IdempotencyInProgressError(KamError):
    """A command with this key is still running (409): retry shortly for its answer."""


@dataclass(frozen=True)
class IdempotencyClaim:
    """A command's key: whose, which, what command it names (``fingerprint``), and the
    instants that decide expiry (from the policy's clock, so tests can move time)."""

    user: str
    key: str
    fingerprint: str
    now: datetime
    expires_at: datetime


@dataclass(frozen=True)
class StoredAnswer:
    """What the store holds for a key: the command's fingerprint and its answer."""

    fingerprint: str
    result: CommandResult


@dataclass(frozen=True)
class IdempotentWrite:
    """What the recorder writes beside a command's events: the claim and the answer, whose
    ``position`` the recorder fills in from the events' notification ids (0 for no events)."""

    claim: IdempotencyClaim
    aggregate_id: UUID
    version: int
    entity_id: UUID | None


@runtime_checkable
class AnswerStore(Protocol):
    """A recorder that keeps idempotency keys (``kam_store``'s SQLite and PostgreSQL ones)."""

    def stored_answer(self, user: str, key: str, now: datetime) -> StoredAnswer | None:
        """The unexpired answer stored for the user's key, or None."""


class AlreadyAppliedError(Exception):
    """Raised by a save whose key another writer committed first (nothing of this save was
    written): ``run_once`` answers the stored answer instead. Not a ``KamError``, so the
    command's conflict retries do not catch it."""

    def __init__(self, answer: StoredAnswer) -> None:
        super().__init__("the idempotency key was committed by another writer")
        self.answer = answer


#: The claim of the command running in this context (read by ``commit``).
_current: contextvars.ContextVar[IdempotencyClaim | None] = contextvars.ContextVar(
    "kam_idempotency_claim", default=None
)


def current_claim() -> IdempotencyClaim | None:
    """The key of the command running in this thread, if it has one."""
    return _current.get()


def claim_used() -> None:
    """The command's save carried its key: a later save in the same command carries none."""
    _current.set(None)


def fingerprint(*parts: object) -> str:
    """A digest of what names a command (its type and fields, If-Match, the envelope's
    reason and date): a reused key is told apart from a repeat by it."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class IdempotencyPolicy:
    """How long keys live, the clock that dates them, and the keys running in this process."""

    hours: float = 24.0
    now: Callable[[], datetime] = _utcnow
    #: How long a repeat waits for the same key running in this process before a 409.
    wait_seconds: float = 5.0
    _running: set[tuple[str, str]] = field(default_factory=set)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def claim(self, user: str, key: str, fingerprint: str) -> IdempotencyClaim:
        now = self.now()
        return IdempotencyClaim(user, key, fingerprint, now, now + timedelta(hours=self.hours))

    @contextlib.contextmanager
    def running(self, claim: IdempotencyClaim) -> Iterator[bool]:
        """Marks the key as running here, after waiting (up to ``wait_seconds``) for a run of
        it that is already going; yields whether it waited. ``IdempotencyInProgressError``
        if that run outlasts the wait."""
        name = (claim.user, claim.key)
        waited = False
        with self._changed:
            deadline = time.monotonic() + self.wait_seconds
            while name in self._running:
                waited = True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise IdempotencyInProgressError(
                        f"a command with idempotency key {claim.key!r} is still running; "
                        "retry shortly for its answer"
                    )
                self._changed.wait(remaining)
            self._running.add(name)
        try:
            yield waited
        finally:
            with self._changed:
                self._running.discard(name)
                self._changed.notify_all()


def _checked(claim: IdempotencyClaim, answer: StoredAnswer) -> CommandResult:
    if answer.fingerprint != claim.fingerprint:
        raise IdempotencyKeyReusedError(
            f"idempotency key {claim.key!r} was used for a different request; "
            "use a new key for a new request"
        )
    return answer.result


def run_once(
    store: object,
    policy: IdempotencyPolicy,
    claim: IdempotencyClaim,
    run: Callable[[], CommandResult],
) -> tuple[CommandResult, bool]:
    """Runs the command unless its key holds an answer; returns the answer and whether it was
    replayed (see the module docstring). ``store``: the application's recorder."""
    if not isinstance(store, AnswerStore):
        raise TypeError(f"{type(store).__name__} does not keep idempotency keys")
    stored = store.stored_answer(claim.user, claim.key, claim.now)
    if stored is not None:
        return _checked(claim, stored), True
    with policy.running(claim) as waited:
        if waited:  # the run waited for has ended: its answer, if it stored one
            stored = store.stored_answer(claim.user, claim.key, claim.now)
            if stored is not None:
                return _checked(claim, stored), True
        # Committed by another process since the look-up above: the save fails on the key's
        # row and raises AlreadyAppliedError, so no second look-up is needed otherwise.
        token = _current.set(claim)
        try:
            return run(), False
        except AlreadyAppliedError as applied:
            return _checked(claim, applied.answer), True
        finally:
            _current.reset(token)
