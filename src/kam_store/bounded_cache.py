"""The in-process caches' one shape: a bounded, thread-safe LRU map that counts its hits,
misses and evictions, and a process-wide list of the caches alive, which ``GET /metrics``
reads (``kam_api.observability.CacheFigures``).

Every cache in the service is bounded by a setting (README, "Settings"): a long-running
process must level off in memory however many accounts, tokens, sessions or people it meets.
A cache of size 0 keeps nothing (every read is a miss).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISSING = object()


@dataclass(frozen=True)
class CacheStats:
    """A cache's figures now: entries held, the bound, and counts since it was made (None
    where the cache does not count them)."""

    name: str
    size: int
    maxsize: int
    hits: int | None = None
    misses: int | None = None
    evictions: int | None = None


class Figured(Protocol):
    """Anything ``/metrics`` can read a cache's figures from."""

    def stats(self) -> CacheStats: ...


_live: weakref.WeakSet[Figured] = weakref.WeakSet()
_live_lock = threading.Lock()


def register(cache: Figured) -> None:
    """Lists the cache among those ``/metrics`` reports while it is alive."""
    with _live_lock:
        _live.add(cache)


def live_stats() -> list[CacheStats]:
    """The figures of every cache alive in this process."""
    with _live_lock:
        caches = list(_live)
    return [cache.stats() for cache in caches]


class BoundedCache(Generic[K, V]):
    """At most ``maxsize`` entries; putting one more drops the least recently used.

    With ``evict_on_put=False`` the bound is applied only by ``trim()`` (a write-back cache
    whose unsaved entries must stay until they are saved)."""

    def __init__(self, name: str, maxsize: int, *, evict_on_put: bool = True) -> None:
        if maxsize < 0:
            raise ValueError(f"{name}: a cache's bound must not be negative")
        self.name = name
        self.maxsize = maxsize
        self.evict_on_put = evict_on_put
        self.hits = self.misses = self.evictions = 0
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        register(self)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: K, default: V | None = None) -> V | None:
        """The value kept under ``key`` (now the most recently used), else ``default``."""
        with self._lock:
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                self.misses += 1
                return default
            self.hits += 1
            self._entries.move_to_end(key)
            return value  # type: ignore[return-value]

    def lookup(self, key: K) -> tuple[bool, V | None]:
        """(found, value): for caches that keep None as an answer."""
        with self._lock:
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                self.misses += 1
                return False, None
            self.hits += 1
            self._entries.move_to_end(key)
            return True, value  # type: ignore[return-value]

    def peek(self, key: K) -> V | None:
        """The value kept under ``key`` or None, neither counted nor moved (bookkeeping)."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if self.maxsize == 0 and self.evict_on_put:
                return
            self._entries[key] = value
            self._entries.move_to_end(key)
            if self.evict_on_put:
                self._trim()

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """The value kept under ``key``, else ``compute()`` (kept; computed outside the lock,
        so two threads may both compute a missing value)."""
        found, value = self.lookup(key)
        if found:
            return value  # type: ignore[return-value]
        value = compute()
        self.put(key, value)
        return value

    def put_dropping_stale(self, key: K, value: V, stale: Callable[[V], bool]) -> None:
        """``put``, first dropping the least recently used entries while ``stale`` (a cache
        whose entries expire: it then holds what is still fresh, not its bound of expired
        entries). Not counted as evictions: the bound did not force them."""
        with self._lock:
            while self._entries:
                oldest = next(iter(self._entries.values()))
                if not stale(oldest):
                    break
                self._entries.popitem(last=False)
        self.put(key, value)

    def pop(self, key: K) -> V | None:
        with self._lock:
            return self._entries.pop(key, None)

    def discard_where(self, drop: Callable[[K, V], bool]) -> int:
        """Drops the entries ``drop`` picks; how many."""
        with self._lock:
            keys = [k for k, v in self._entries.items() if drop(k, v)]
            for key in keys:
                del self._entries[key]
            return len(keys)

    def trim(self) -> None:
        """Drops the least recently used entries past the bound."""
        with self._lock:
            self._trim()

    def _trim(self) -> None:
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
            self.evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def items(self) -> Iterator[tuple[K, V]]:
        """A snapshot of the entries, least recently used first."""
        with self._lock:
            return iter(list(self._entries.items()))

    def resize(self, maxsize: int) -> None:
        """A new bound (settings applied to a process-wide cache), applied at once."""
        if maxsize < 0:
            raise ValueError(f"{self.name}: a cache's bound must not be negative")
        with self._lock:
            self.maxsize = maxsize
            self._trim()

    def stats(self) -> CacheStats:
        return CacheStats(
            self.name, len(self._entries), self.maxsize, self.hits, self.misses, self.evictions
        )
