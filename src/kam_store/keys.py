"""Each person's data key, wrapped by the master key, and the master key itself.

The master key (``KAM_MASTER_KEY``) wraps each person's 256-bit data key (AES-GCM, the person
id as associated data); the wrapped keys live in ``kam_person_keys`` (``person_keys.py``).
``PersonKeys`` creates a person's key before its first use (committed on its own) and caches
unwrapped keys in this process for ``cache_seconds`` (``KAM_KEY_CACHE_SECONDS``).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from base64 import b64decode, b64encode
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from kam_store.bounded_cache import BoundedCache
from kam_store.person_keys import KeyRow, PersonKeyTable, PostgresPersonKeys, SqlitePersonKeys

NONCE_BYTES = 12


class MasterKeyError(Exception):
    """The master key is missing, malformed, or not the one that wraps the store's keys."""


class MasterKey:
    """The key that wraps every person's data key (AES-GCM, the person id as associated data)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise MasterKeyError("the master key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(secret)
        #: Names the key without revealing it (stored beside each wrapped key).
        self.key_id = hashlib.sha256(b"kam master key id\x00" + secret).hexdigest()[:16]

    @classmethod
    def from_base64(cls, text: str, *, source: str = "KAM_MASTER_KEY") -> MasterKey:
        try:
            secret = b64decode(text.strip(), validate=True)
        except ValueError:
            raise MasterKeyError(f"{source} is not base64 (of 32 random bytes)") from None
        if len(secret) != 32:
            raise MasterKeyError(f"{source} must be base64 of 32 bytes, not {len(secret)}")
        return cls(secret)

    @staticmethod
    def generate_base64() -> str:
        """A new master key, as the settings take it."""
        return b64encode(os.urandom(32)).decode("ascii")

    def wrap(self, person_id: UUID, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, person_id.bytes)

    def unwrap(self, person_id: UUID, wrapped: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], person_id.bytes)
        except InvalidTag:
            raise MasterKeyError(
                f"the data key of person {person_id} does not unwrap with master key {self.key_id}"
            ) from None


@dataclass(frozen=True)
class KeyState:
    """What this process knows of one person's key, until ``expires``."""

    expires: float
    aead: AESGCM | None
    erased: bool


#: How long a person whose erasure is being stored is read without the key cache, at most.
ERASING_SECONDS = 30.0


class PersonKeys:
    """Each person's data key, created on first use and cached for ``cache_seconds`` (at
    most ``cache_size`` people, the most recently used)."""

    def __init__(
        self,
        table: Callable[[], PersonKeyTable],
        master: MasterKey | None,
        cache_seconds: float = 1.0,
        cache_size: int = 20_000,
    ) -> None:
        self._make_table = table
        self._table: PersonKeyTable | None = None
        self.master = master
        self.cache_seconds = cache_seconds
        self._cache: BoundedCache[UUID, KeyState] = BoundedCache("person_keys", cache_size)
        #: People whose erasure this process is storing, until when: their key is not cached
        #: until the store shows it destroyed (a read between the erasure's encoding and its
        #: commit would otherwise cache the key again, for ``cache_seconds`` after the erasure).
        self._erasing: dict[UUID, float] = {}
        #: Counts erasures begun here: a key read before one began is not cached after it.
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def table(self) -> PersonKeyTable:
        if self._table is None:
            self._table = self._make_table()
        return self._table

    def state(self, person_id: UUID, *, create: bool = False) -> KeyState:
        """The person's key (``aead``), or that they are erased; with ``create`` and a master
        key, a person without a key gets one first (committed on its own)."""
        now = time.monotonic()
        cached = self._cache.get(person_id)
        if (
            cached is not None
            and cached.expires > now
            and (not create or cached.aead is not None or cached.erased or self.master is None)
        ):
            return cached
        generation = self._generation
        row = self.table.fetch(person_id)
        if row is None and create and self.master is not None:
            wrapped = self.master.wrap(person_id, os.urandom(32))
            self.table.insert(person_id, wrapped, self.master.key_id)
            row = self.table.fetch(person_id)  # another writer's key, if it won the race
        return self._remember(person_id, row, now, generation)

    def prefetch(self, person_ids: Iterable[UUID]) -> None:
        """Reads the keys of those of these people not freshly cached, in one query, into the
        cache (a reader of many events fetches each person's key once, not one query each)."""
        if self.cache_seconds <= 0:
            return
        now = time.monotonic()
        missing = []
        for person_id in set(person_ids):
            cached = self._cache.get(person_id)
            if cached is None or cached.expires <= now:
                missing.append(person_id)
        if not missing:
            return
        generation = self._generation
        rows = self.table.fetch_many(missing)
        for person_id in missing:
            self._remember(person_id, rows.get(person_id), now, generation)

    def _remember(
        self, person_id: UUID, row: KeyRow | None, now: float, generation: int
    ) -> KeyState:
        """The person's key state from their row, cached unless their erasure is pending."""
        aead = None
        if row is not None and row.wrapped_key is not None and self.master is not None:
            if row.key_id != self.master.key_id:
                raise MasterKeyError(
                    f"person {person_id}'s key is wrapped by master key {row.key_id}, "
                    f"not the configured {self.master.key_id}"
                )
            aead = AESGCM(self.master.unwrap(person_id, row.wrapped_key))
        state = KeyState(now + self.cache_seconds, aead, row is not None and row.erased)
        # Checked and cached under one lock: a read that began before an erasure started here
        # (``forget``) must not put the key back after it.
        with self._lock:
            known = self._cache.peek(person_id)
            if known is not None and known.erased and not state.erased:
                return known  # erasure is final: a stale read never brings the key back
            until = self._erasing.get(person_id)
            if until is not None:
                if state.erased or until <= now:
                    del self._erasing[person_id]
                else:
                    return state  # not cached: the erasure has not committed yet
            if generation != self._generation and not state.erased:
                return state  # an erasure began while this was read: not cached
            if self.cache_seconds > 0:
                # An erased person's entry stays while the bound allows: it keeps a stale read
                # from bringing the key back (above).
                self._cache.put_dropping_stale(
                    person_id, state, lambda kept: kept.expires <= now and not kept.erased
                )
        return state

    def cached(self, person_id: UUID) -> KeyState | None:
        """What the cache knows of the person's key, if it is still fresh (the read path's
        fast lane: no lock, no store)."""
        cached = self._cache.get(person_id)
        return cached if cached is not None and cached.expires > time.monotonic() else None

    def forget(self, person_id: UUID) -> None:
        """Drops the person's key from this process's cache (their erasure is being stored),
        and keeps it out until the store shows it destroyed (at most ``ERASING_SECONDS``: an
        erasure that did not commit)."""
        with self._lock:
            self._generation += 1
            self._erasing[person_id] = time.monotonic() + ERASING_SECONDS
            self._cache.pop(person_id)


def person_key_table(recorder: object) -> PersonKeyTable:
    """The key table beside the application recorder's events table."""
    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresPersonKeys(recorder.datastore)
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SqlitePersonKeys(recorder.datastore)
    raise TypeError(f"no person-key table for {type(recorder).__name__}")


def check_master_key(table: PersonKeyTable, master: MasterKey | None) -> None:
    """Refuses (``MasterKeyError``, one line) a store whose live keys the settings cannot open:
    keys but no master key, or keys wrapped by another master key."""
    key_ids = table.live_key_ids()
    if master is None:
        if key_ids:
            raise MasterKeyError(
                "the store holds encrypted personal data but no master key is set: "
                "set KAM_MASTER_KEY or KAM_MASTER_KEY_FILE"
            )
        return
    others = key_ids - {master.key_id}
    if others:
        raise MasterKeyError(
            f"the configured master key (id {master.key_id}) is not the one that wraps this "
            f"store's personal-data keys (id {', '.join(sorted(others))})"
        )
