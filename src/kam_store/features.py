"""The store features (``kam_domain.store_features``) that fit each recorder, fast where the
store allows: PostgreSQL searches versions next to the data; other stores read each probed
event's instant from its stored bytes instead of decoding it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from kam_domain.store_features import LibraryStoreFeatures, StoreFeatures
from kam_store.crypto import PersonalDataMapper
from kam_store.postgres_recorder import KamPostgresApplicationRecorder
from kam_store.stored_state import UNREADABLE_STATE, recorded_at


class StoredBytesFeatures(LibraryStoreFeatures):
    """The library's search, reading a probed event's instant from the first bytes of its
    state (``RECORDED_AT``); only a state of another layout (encrypted, compressed) is
    decoded."""

    def recorded_at(self, stored: StoredEvent) -> datetime:
        at = recorded_at(stored.state)
        return super().recorded_at(stored) if at is None else at

    def prepare(self, stored_events: Sequence[StoredEvent]) -> None:
        """The sealing mapper reads the keys of the people the events are about in one query."""
        if isinstance(self.mapper, PersonalDataMapper):
            self.mapper.prefetch(stored_events)


class PostgresStoreFeatures(StoredBytesFeatures):
    """The PostgreSQL recorder's own queries: the as-of search in one round trip (left to
    ``StoredBytesFeatures`` for states it cannot read), the last topic in one indexed row. It
    closes the recorder's committer when the application closes."""

    def __init__(self, app: Application[UUID], recorder: KamPostgresApplicationRecorder) -> None:
        super().__init__(app)
        self.postgres = recorder

    def version_at(self, aggregate_id: UUID, at: datetime) -> int | None:
        version = self.postgres.version_at(aggregate_id, at)
        if version != UNREADABLE_STATE:
            return version
        return super().version_at(aggregate_id, at)

    def last_topic(self, aggregate_id: UUID) -> str | None:
        return self.postgres.last_topic(aggregate_id)

    def close(self) -> None:
        self.postgres.close()


def store_features(app: Application[UUID]) -> StoreFeatures:
    """The features for the application's recorder (a ``StoreFeaturesFactory``)."""
    recorder = app.recorder
    if isinstance(recorder, KamPostgresApplicationRecorder):
        return PostgresStoreFeatures(app, recorder)
    return StoredBytesFeatures(app)
