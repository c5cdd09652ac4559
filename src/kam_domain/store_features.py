"""Optional store features, reached through a protocol the domain owns.

The application needs two questions answered about stored events that the library's recorder
API answers only slowly: which version of an aggregate was current at an instant (as-of
reads), and the topic of an aggregate's last event (is the account still live). A store may
answer them faster (PostgreSQL in one round trip); the composition root passes the
application a factory of the features that fit its store (``kam_store.store_features``). The
default here uses nothing but the library's recorder API and mapper, so an application built
with only an environment (tests) works on any store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder


class StoreFeatures(Protocol):
    """What the application asks of its store beyond the recorder API."""

    def version_at(self, aggregate_id: UUID, at: datetime) -> int | None:
        """The aggregate's last version recorded at or before ``at`` (an aware instant);
        None if none was, or if it has no events."""

    def last_topic(self, aggregate_id: UUID) -> str | None:
        """The topic of the aggregate's last event, or None if it has none."""

    def prepare(self, stored_events: Sequence[StoredEvent]) -> None:
        """Reads ahead, in one go, what decoding these events will need (the people's keys),
        before a reader of many events (the projector, a page of the log) decodes them."""

    def close(self) -> None:
        """Releases whatever the features hold (called when the application closes)."""


#: Makes an application's store features once its recorder exists.
StoreFeaturesFactory = Callable[[Application[UUID]], StoreFeatures]

#: Makes an application's mapper from its transcoder (before its recorder exists: the mapper
#: reaches ``app.recorder`` only when first used). The store's mapper seals personal data
#: (``kam_store.crypto``); without a factory the application uses the library's mapper.
MapperFactory = Callable[[Application[UUID], Transcoder], Mapper[UUID]]


class LibraryStoreFeatures:
    """The plain features: the library's recorder API and mapper, nothing more."""

    def __init__(self, app: Application[UUID]) -> None:
        self.recorder = app.recorder
        self.mapper = app.mapper

    def version_at(self, aggregate_id: UUID, at: datetime) -> int | None:
        """Binary search over versions, reading one stored event per probe, so a
        5,000-event history costs ~13 small reads, not 5,000 decodes."""
        last = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        if not last:
            return None
        low, high, found = 1, last[0].originator_version, None
        while low <= high:
            middle = (low + high) // 2
            probe = self.recorder.select_events(aggregate_id, gt=middle - 1, lte=middle)
            if not probe:  # versions are contiguous from 1; be safe all the same
                high = middle - 1
                continue
            if self.recorded_at(probe[0]) <= at:
                found, low = middle, middle + 1
            else:
                high = middle - 1
        return found

    def recorded_at(self, stored: StoredEvent) -> datetime:
        """When the stored event was recorded (decoded in full)."""
        recorded: datetime = self.mapper.to_domain_event(stored).timestamp  # type: ignore[attr-defined]
        return recorded

    def last_topic(self, aggregate_id: UUID) -> str | None:
        last = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        return last[0].topic if last else None

    def prepare(self, stored_events: Sequence[StoredEvent]) -> None:
        """Nothing to read ahead for the library's mapper."""

    def close(self) -> None:
        """Nothing to release: the recorder is the application's."""
