"""Crypto-shredding: each person's data sealed with a key of theirs, erased by destroying it.

``PersonalDataMapper`` (the library's ``Mapper`` extended) stores a Relationship event or
snapshot as its clear fields, with the ``ERASED`` placeholder where a person's data was (the
boundary is ``kam_domain.personal``), and one more field after them, ``kam_sealed``: those
values sealed with the person's data key (AES-GCM, a random 96-bit nonce, the originator id,
version and topic as associated data). The stored state still starts with the recorded instant
(``stored_state.RECORDED_AT``). Reading it back:

- the person's key is there: the original values;
- the key was destroyed (the person was erased): the placeholders, never an error;
- no sealed part (written before encryption, or in plaintext mode) and the person is erased:
  the person's values are redacted on read too ("upcast on read"); the old bytes remain;
- a sealed part that does not open with the key (moved from another event, altered):
  ``TamperedPersonalDataError``.

New events of an erased person store placeholders only. Data keys live wrapped by the master
key in ``kam_person_keys`` (``person_keys.py``, ``keys.py``); unwrapped keys are cached in this
process for ``cache_seconds`` (``KAM_KEY_CACHE_SECONDS``), and a person's key is dropped here at
once when their erasure event is encoded. Another replica may still hold the key in its cache
for up to that long after the erasure commits: the cross-replica window.
"""

from __future__ import annotations

import binascii
import json
import os
from base64 import b64encode
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.application import Application
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
    find_id_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

from kam_domain.personal import (
    RELATIONSHIP_TOPIC,
    Secrets,
    is_plain_personal,
    restore_event,
    restore_snapshot,
    split_event,
    split_snapshot,
)
from kam_domain.store_features import MapperFactory
from kam_store.keys import (
    NONCE_BYTES,
    MasterKey,
    MasterKeyError,
    PersonKeys,
    check_master_key,
    person_key_table,
)
from kam_store.person_keys import ERASURE_TOPIC

#: The stored state's last field: the person's values, sealed (base64 of nonce + ciphertext).
SEALED = "kam_sealed"
EVENT_PREFIX = RELATIONSHIP_TOPIC + "."
SNAPSHOT_TOPIC = get_topic(Snapshot)

__all__ = [
    "MasterKey",
    "MasterKeyError",
    "PersonalDataMapper",
    "TamperedPersonalDataError",
    "check_master_key",
    "person_key_table",
    "personal_data_mapper",
]


class TamperedPersonalDataError(MapperDeserialisationError):
    """A sealed part does not open with its person's key: it was moved or altered."""


def _associated_data(originator_id: UUID, version: int, topic: bytes) -> bytes:
    # What a sealed part belongs to: moved to another event, it does not open.
    return originator_id.bytes + version.to_bytes(8, "big") + topic


#: Secrets are plain JSON values: the C encoder and decoder, no transcoding hooks.
SECRETS_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
SECRETS_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class _Kind:
    """What a stored topic of ours is: a Relationship event (its name) or a snapshot (None)."""

    cls: type
    event_name: str | None
    topic: bytes


class PersonalDataMapper(Mapper[UUID]):
    """The library's mapper, sealing a person's data with their key (see the module text)."""

    def __init__(self, transcoder: Transcoder, keys: PersonKeys) -> None:
        super().__init__(transcoder)
        self.keys = keys
        self._topics: dict[type, str] = {}
        self._kinds: dict[str, _Kind | None] = {}
        self._json = transcoder.decoder if isinstance(transcoder, JSONTranscoder) else None

    # --- Writing ----------------------------------------------------------------------------

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = type(domain_event)
        topic = self._topics.get(cls)
        if topic is None:
            topic = self._topics[cls] = get_topic(cls)
        is_event = topic.startswith(EVENT_PREFIX)
        if not is_event and not (
            topic == SNAPSHOT_TOPIC and getattr(domain_event, "topic", None) == RELATIONSHIP_TOPIC
        ):
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        person: UUID = state.pop("originator_id")
        version: int = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        if is_event:
            redacted, secrets = split_event(topic[len(EVENT_PREFIX) :], state)
        else:
            redacted, secrets = split_snapshot(state)
        key = self.keys.state(person, create=bool(secrets))
        if key.erased:
            stored = redacted  # an erased person's new events keep placeholders only
        elif key.aead is None:
            stored = state  # plaintext mode (no master key)
        else:
            stored = redacted
            if secrets:
                stored[SEALED] = self._seal(key.aead, secrets, person, version, topic)
        if topic == ERASURE_TOPIC:
            self.keys.forget(person)
        return StoredEvent(
            originator_id=person,
            originator_version=version,
            topic=topic,
            state=self.transcoder.encode(stored),
        )

    def _seal(self, aead: AESGCM, secrets: Secrets, person: UUID, version: int, topic: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        plain = SECRETS_ENCODER.encode(secrets).encode()
        sealed = aead.encrypt(nonce, plain, _associated_data(person, version, topic.encode()))
        return b64encode(nonce + sealed).decode("ascii")

    # --- Reading ----------------------------------------------------------------------------

    def prefetch(self, stored_events: Sequence[StoredEvent]) -> None:
        """Reads the keys of the people these events are about, in one query (see
        ``PersonKeys.prefetch``)."""
        people = [
            e.originator_id
            for e in stored_events
            if isinstance(e.originator_id, UUID) and self._kind(e.topic) is not None
        ]
        if people:
            self.keys.prefetch(people)

    def _kind(self, topic: str) -> _Kind | None:
        try:
            return self._kinds[topic]
        except KeyError:
            kind = None
            if topic.startswith(EVENT_PREFIX):
                kind = _Kind(resolve_topic(topic), topic[len(EVENT_PREFIX) :], topic.encode())
            elif topic == SNAPSHOT_TOPIC:
                kind = _Kind(resolve_topic(topic), None, topic.encode())
            self._kinds[topic] = kind
            return kind

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        kind = self._kind(stored_event.topic)
        if kind is None:
            return super().to_domain_event(stored_event)
        state = self._decode(stored_event)
        if kind.event_name is not None or state.get("topic") == RELATIONSHIP_TOPIC:
            state = self._open(stored_event, state, kind)
        return self._build(stored_event, state, kind.cls)

    def _decode(self, stored_event: StoredEvent) -> dict[str, Any]:
        try:
            if self._json is None:
                state: dict[str, Any] = self.transcoder.decode(stored_event.state)
            else:
                # What ``JSONTranscoder.decode`` does, minus its whitespace scans: a stored
                # state is compact JSON; anything after it is refused all the same.
                text = stored_event.state.decode("utf8")
                state, end = self._json.raw_decode(text)
                if end != len(text):
                    raise ValueError(f"extra data after the JSON at {end}")
        except Exception as error:
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic "
                f"'{stored_event.topic}', originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {error}"
            ) from error
        return state

    def _open(self, stored_event: StoredEvent, state: dict[str, Any], kind: _Kind) -> Any:
        person = stored_event.originator_id
        assert isinstance(person, UUID)
        sealed = state.pop(SEALED, None)
        key = self.keys.cached(person) or self.keys.state(person)
        if sealed is None:
            if not key.erased:
                return state
            # Written in clear before encryption: redacted on read once the person is erased.
            if kind.event_name is not None:
                return split_event(kind.event_name, state)[0]
            return split_snapshot(state)[0]
        if key.aead is None:
            return state  # the key is destroyed: the placeholders stay
        secrets = self._unseal(key.aead, sealed, stored_event, kind.topic)
        if kind.event_name is not None:
            return restore_event(state, secrets, in_place=True)  # the state was just decoded
        return restore_snapshot(state, secrets)

    def _unseal(
        self, aead: AESGCM, sealed: str, stored_event: StoredEvent, topic: bytes
    ) -> Secrets:
        person = stored_event.originator_id
        assert isinstance(person, UUID)
        try:
            raw = binascii.a2b_base64(sealed, strict_mode=True)
            plain = aead.decrypt(
                raw[:NONCE_BYTES],
                raw[NONCE_BYTES:],
                _associated_data(person, stored_event.originator_version, topic),
            )
        except (InvalidTag, ValueError, binascii.Error):
            raise TamperedPersonalDataError(
                f"the sealed personal data of {stored_event.topic} "
                f"{stored_event.originator_id} v{stored_event.originator_version} does not "
                "open with its person's key: it was moved from another event or altered"
            ) from None
        # raw_decode: our own compact JSON, no surrounding whitespace to skip.
        secrets: Secrets = SECRETS_DECODER.raw_decode(plain.decode())[0]
        return secrets

    def _build(self, stored_event: StoredEvent, state: dict[str, Any], cls: type) -> Any:
        # As the library's ``to_domain_event`` finishes a decoded state.
        convert = find_id_convertor(cls, cast(Hashable, type(stored_event.originator_id)))
        state["originator_id"] = convert(stored_event.originator_id)
        state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        domain_event: Any = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event

    # --- Status ------------------------------------------------------------------------------

    def holds_plain_personal_data(self, stored_event: StoredEvent) -> bool:
        """Whether a stored event or snapshot holds a person's data in clear (written before
        encryption, or in plaintext mode): its bytes hold it, whatever reads show."""
        topic = stored_event.topic
        if not topic.startswith(EVENT_PREFIX) and topic != SNAPSHOT_TOPIC:
            return False
        state = self._decode(stored_event)
        if SEALED in state:
            return False
        if topic.startswith(EVENT_PREFIX):
            secrets = split_event(topic[len(EVENT_PREFIX) :], state)[1]
        elif state.get("topic") == RELATIONSHIP_TOPIC:
            secrets = split_snapshot(state)[1]
        else:
            return False
        return is_plain_personal(secrets)


def personal_data_mapper(
    master: MasterKey | None, *, cache_seconds: float = 1.0, cache_size: int = 20_000
) -> MapperFactory:
    """The application's mapper factory: seals personal data with each person's key (with a
    master key), or stores it in clear but redacts erased people's on read (without). Keys
    are cached for ``cache_seconds``, at most ``cache_size`` people's."""

    def make(app: Application[UUID], transcoder: Transcoder) -> Mapper[UUID]:
        # The recorder does not exist yet when the mapper is made: the table is found lazily.
        keys = PersonKeys(lambda: person_key_table(app.recorder), master, cache_seconds, cache_size)
        return PersonalDataMapper(transcoder, keys)

    return make
