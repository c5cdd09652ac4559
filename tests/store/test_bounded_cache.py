"""The one bounded cache every in-process cache is made of (``kam_store.bounded_cache``)."""

from __future__ import annotations

import gc

import pytest

from kam_store.bounded_cache import BoundedCache, live_stats


def test_putting_past_the_bound_drops_the_least_recently_used_and_counts_it() -> None:
    cache: BoundedCache[str, int] = BoundedCache("test_lru", 2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recently used
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    assert cache.get("b") is None
    stats = cache.stats()
    assert (stats.size, stats.maxsize) == (2, 2)
    assert (stats.hits, stats.misses, stats.evictions) == (3, 1, 1)


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache: BoundedCache[str, int] = BoundedCache("test_zero", 0)
    cache.put("a", 1)
    assert len(cache) == 0
    assert cache.get_or_compute("a", lambda: 7) == 7
    assert cache.get("a") is None
    assert cache.stats().misses == 2


def test_a_kept_none_is_found_by_lookup() -> None:
    cache: BoundedCache[str, int | None] = BoundedCache("test_none", 4)
    assert cache.lookup("a") == (False, None)
    cache.put("a", None)
    assert cache.lookup("a") == (True, None)


def test_a_write_back_cache_holds_entries_past_its_bound_until_trimmed() -> None:
    cache: BoundedCache[int, str] = BoundedCache("test_write_back", 2, evict_on_put=False)
    for key in range(5):
        cache.put(key, str(key))
    assert len(cache) == 5  # unsaved entries stay until they are saved
    cache.trim()
    assert [key for key, _ in cache.items()] == [3, 4]
    assert cache.stats().evictions == 3


def test_resizing_applies_the_new_bound_at_once() -> None:
    cache: BoundedCache[int, int] = BoundedCache("test_resize", 10)
    for key in range(10):
        cache.put(key, key)
    cache.resize(3)
    assert len(cache) == 3 and cache.stats().evictions == 7
    with pytest.raises(ValueError, match="must not be negative"):
        cache.resize(-1)


def test_dropping_entries_by_what_they_hold() -> None:
    cache: BoundedCache[str, str] = BoundedCache("test_discard", 10)
    cache.put("t1", "ann")
    cache.put("t2", "bob")
    cache.put("t3", "ann")
    assert cache.discard_where(lambda _, user: user == "ann") == 2
    assert [key for key, _ in cache.items()] == ["t2"]


def test_live_caches_are_listed_until_they_are_gone() -> None:
    cache: BoundedCache[str, int] = BoundedCache("test_listed", 1)
    assert any(stats.name == "test_listed" for stats in live_stats())
    del cache
    gc.collect()
    assert not any(stats.name == "test_listed" for stats in live_stats())


def test_putting_drops_the_stale_entries_first_without_counting_them_as_evictions() -> None:
    cache: BoundedCache[str, float] = BoundedCache("test_stale", 10)
    for key, expires in [("a", 1.0), ("b", 2.0), ("c", 9.0), ("d", 3.0)]:
        cache.put(key, expires)
    cache.put_dropping_stale("e", 10.0, lambda expires: expires <= 5.0)
    # the oldest two had expired; "c" is fresh, so "d" behind it stays until "c" goes
    assert [key for key, _ in cache.items()] == ["c", "d", "e"]
    assert cache.stats().evictions == 0
