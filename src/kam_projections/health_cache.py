"""An account's health as of a day, remembered until the account's facts change: computing it
replays every fact of the account (thousands for a long-lived one), while the page that shows
it is read far more often than the account changes.

The facts of an account (``rm_health_log``) are only ever appended, in log order, so their
count and last position identify them: a new fact, a rebuild to other content or other weights
is a new key, never a stale answer.
"""

from __future__ import annotations

import copy
import threading
from datetime import date
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from kam_projections.db import Row, ViewDatabase
from kam_projections.health_model import HealthWeights
from kam_projections.health_reads import account_health
from kam_store.bounded_cache import BoundedCache

#: Health reports kept per views database by default (the most recently used).
SIZE = 512

_Key = tuple[str, date, HealthWeights, int, int]
_lock = threading.Lock()
_caches: WeakKeyDictionary[ViewDatabase, BoundedCache[_Key, dict[str, Any] | None]] = (
    WeakKeyDictionary()
)


def _cache_of(views: ViewDatabase) -> BoundedCache[_Key, dict[str, Any] | None]:
    with _lock:
        cache = _caches.get(views)
        if cache is None:
            cache = _caches[views] = BoundedCache("account_health", SIZE)
        return cache


def bound_health_cache(views: ViewDatabase, size: int) -> None:
    """Keeps at most ``size`` health reports for these read models (``KAM_HEALTH_CACHE_SIZE``)."""
    _cache_of(views).resize(size)


#: (how many facts, last fact's position) of the account (``:a``): one index range.
FACTS_SQL = (
    "SELECT COUNT(*) AS n, COALESCE(MAX(position), 0) AS last FROM rm_health_log "
    "WHERE account_id = :a"
)


def facts_key_of(rows: list[Row]) -> tuple[int, int]:
    """The key ``FACTS_SQL`` answers."""
    return int(rows[0]["n"]), int(rows[0]["last"])


def facts_key(views: ViewDatabase, account_id: UUID) -> tuple[int, int]:
    """(how many facts, last fact's position) of the account."""
    return facts_key_of(views.query(FACTS_SQL, {"a": str(account_id)}))


def cached_account_health(
    views: ViewDatabase,
    account_id: UUID,
    *,
    today: date,
    weights: HealthWeights,
    facts: tuple[int, int] | None = None,
) -> dict[str, Any] | None:
    """``account_health`` (a copy the caller may change), computed once per state of the
    account's facts (``facts``: their ``facts_key`` if the caller read it already), day and
    weights."""
    key = (str(account_id), today, weights, *(facts or facts_key(views, account_id)))
    cache = _cache_of(views)
    found, kept = cache.lookup(key)
    if found:
        return copy.deepcopy(kept)
    health = account_health(views, account_id, today=today, weights=weights)
    cache.put(key, health)
    return copy.deepcopy(health)
