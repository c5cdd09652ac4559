"""The PostgreSQL recorder: the group-commit write path and the server-side as-of search."""

from __future__ import annotations

import threading
import time
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, StoredEvent
from eventsourcing.utils import Environment
from tests.support import postgres_url_or_skip

from kam_store.env import APP_NAME, library_env
from kam_store.postgres_recorder import KamPostgresApplicationRecorder
from kam_store.stored_state import (
    ISOFORMAT_SHAPES,
    RECORDED_AT,
    RECORDED_AT_PREFIX,
    UNREADABLE_STATE,
)


@pytest.fixture
def pg_recorder(pg_schema: str):  # type: ignore[no-untyped-def]
    url = f"{postgres_url_or_skip()}?schema={pg_schema}"
    env = library_env(url, pool_size=4, max_overflow=16)
    factory = InfrastructureFactory.construct(Environment(APP_NAME, env))
    recorder = factory.application_recorder()
    assert isinstance(recorder, KamPostgresApplicationRecorder)
    yield recorder
    recorder.close()
    factory.close()


def event(originator: uuid.UUID, version: int) -> StoredEvent:
    return StoredEvent(originator, version, "tests:Event", b'{"n":1}')


@pytest.mark.postgres
def test_group_commit_fails_only_the_conflicting_command(pg_recorder) -> None:  # type: ignore[no-untyped-def]
    taken = uuid.uuid4()
    pg_recorder.insert_events([event(taken, 1)])
    outcomes: dict[int, object] = {}
    barrier = threading.Barrier(12)

    def write(i: int) -> None:
        barrier.wait()
        try:
            if i == 0:
                outcomes[i] = pg_recorder.insert_events([event(taken, 2), event(taken, 1)])
            else:
                outcomes[i] = pg_recorder.insert_events(
                    [event(uuid.uuid4(), 1), event(uuid.uuid4(), 1)]
                )
        except IntegrityError as error:
            outcomes[i] = error

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(outcomes[0], IntegrityError)
    assert all(
        isinstance(outcomes[i], list) and len(outcomes[i]) == 2  # type: ignore[arg-type]
        for i in range(1, 12)
    )
    # The refused command wrote nothing, not even its first (non-conflicting) event.
    assert [e.originator_version for e in pg_recorder.select_events(taken)] == [1]


@pytest.mark.postgres
def test_a_reader_following_the_log_never_skips_an_event_under_concurrent_writers(
    pg_recorder,  # type: ignore[no-untyped-def]
) -> None:
    stop = threading.Event()
    writers_done = threading.Event()
    seen: list[int] = []
    regressions: list[tuple[int, int]] = []

    def follow() -> None:
        last = 0
        while not writers_done.is_set() or last < (pg_recorder.max_notification_id() or 0):
            for notification in pg_recorder.select_notifications(last + 1, limit=500):
                if notification.id <= last:
                    regressions.append((last, notification.id))
                seen.append(notification.id)
                last = notification.id

    def write() -> None:
        while not stop.is_set():
            pg_recorder.insert_events([event(uuid.uuid4(), 1)])

    reader = threading.Thread(target=follow)
    writers = [threading.Thread(target=write) for _ in range(16)]
    reader.start()
    for w in writers:
        w.start()
    time.sleep(1.5)
    stop.set()
    for w in writers:
        w.join()
    writers_done.set()
    reader.join(timeout=30)
    stored = [n.id for n in pg_recorder.select_notifications(1, limit=10**6)]
    assert not regressions
    assert seen == stored  # nothing skipped, nothing doubled, in order
    assert len(stored) > 100


def timed_event(
    originator: uuid.UUID, version: int, at: datetime, tail: bytes = b""
) -> StoredEvent:
    """A stored event whose state starts the way the transcoder writes a domain event's."""
    head = b'{"timestamp":{"_type_":"datetime_iso","_data_":"%s"}' % at.isoformat().encode()
    return StoredEvent(originator, version, "tests:Event", head + b',"n":1' + tail + b"}")


def recorded_at(stored: StoredEvent) -> datetime:
    match = RECORDED_AT.search(stored.state)
    assert match is not None
    return datetime.fromisoformat(match.group(1).decode())


def last_version_at(events: list[StoredEvent], at: datetime) -> int | None:
    """The specification, by a linear scan: the last version recorded at or before ``at``."""
    versions = [e.originator_version for e in events if recorded_at(e) <= at]
    return max(versions, default=None)


def test_the_server_side_search_reads_what_recorded_at_reads() -> None:
    shape = str.maketrans("0123456789+", "9999999999-")
    for at in (
        datetime(2026, 3, 1, 9, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 0, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ):
        match = RECORDED_AT.match(RECORDED_AT_PREFIX + at.isoformat().encode() + b'"}')
        assert match is not None
        assert match.group(1).decode().translate(shape) in ISOFORMAT_SHAPES


@pytest.mark.postgres
def test_the_server_side_search_finds_the_last_version_at_or_before_any_instant(
    pg_recorder: KamPostgresApplicationRecorder,
) -> None:
    aggregate = uuid.uuid4()
    start = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
    cet = timezone(timedelta(hours=1))
    events, at = [], start
    for version in range(1, 334):
        # Uneven steps, runs of equal instants, whole seconds (written without a fraction) and
        # another offset: the database must read each instant the way Python does.
        if version % 4:
            at += timedelta(microseconds=(version * 7919) % 2_000_000 + 1)
        if version % 50 == 0:
            at = at.replace(microsecond=0) + timedelta(seconds=1)
        shown = at.astimezone(cet) if version % 5 == 0 else at
        # Non-ASCII text cut mid-character at the 200th byte must not stop the read.
        events.append(timed_event(aggregate, version, shown, b',"s":"' + "é".encode() * 120 + b'"'))
    pg_recorder.insert_events(events)
    instants = [start - timedelta(days=1), start - timedelta(microseconds=1)]
    for stored in events:
        at = recorded_at(stored)
        instants += [at - timedelta(microseconds=1), at, at + timedelta(microseconds=1)]
    instants.append(recorded_at(events[-1]) + timedelta(days=365))
    for instant in instants:
        assert pg_recorder.version_at(aggregate, instant) == last_version_at(events, instant), (
            instant
        )
    assert pg_recorder.version_at(aggregate, start - timedelta(microseconds=1)) is None
    assert pg_recorder.version_at(aggregate, recorded_at(events[-1])) == 333


@pytest.mark.postgres
def test_the_server_side_search_answers_none_for_an_aggregate_without_events(
    pg_recorder: KamPostgresApplicationRecorder,
) -> None:
    pg_recorder.insert_events([timed_event(uuid.uuid4(), 1, datetime.now(UTC))])
    assert pg_recorder.version_at(uuid.uuid4(), datetime.now(UTC)) is None


@pytest.mark.postgres
@pytest.mark.parametrize(
    "state",
    [
        pytest.param(lambda head: zlib.compress(head), id="compressed"),
        pytest.param(lambda head: b'{"n":1,' + head[1:], id="timestamp-not-first"),
        pytest.param(lambda head: head.replace(b"+00:00", b""), id="no-utc-offset"),
    ],
)
def test_the_server_side_search_leaves_states_it_cannot_read_to_the_caller(
    pg_recorder: KamPostgresApplicationRecorder,
    state: Callable[[bytes], bytes],
) -> None:
    aggregate = uuid.uuid4()
    now = datetime.now(UTC)
    plain = [timed_event(aggregate, v, now + timedelta(seconds=v)) for v in range(1, 8)]
    # Version 4 is the first probe of a search over versions 1 to 7.
    odd = StoredEvent(aggregate, 4, "tests:Event", state(plain[3].state))
    pg_recorder.insert_events([*plain[:3], odd, *plain[4:]])
    assert pg_recorder.version_at(aggregate, now + timedelta(seconds=5)) == UNREADABLE_STATE


@pytest.mark.postgres
def test_a_failed_set_up_leaves_no_committer_thread_behind() -> None:
    url = f"{postgres_url_or_skip()}?schema=no_such_schema_{uuid.uuid4().hex[:8]}"
    # Committers of other tests' services still closing are not this set-up's.
    before = {t.ident for t in threading.enumerate() if t.name == "kam-group-commit"}
    factory = InfrastructureFactory.construct(Environment(APP_NAME, library_env(url)))
    try:
        with pytest.raises(Exception, match="no_such_schema"):
            factory.application_recorder()
    finally:
        factory.close()
    left = [
        t
        for t in threading.enumerate()
        if t.name == "kam-group-commit" and t.is_alive() and t.ident not in before
    ]
    assert not left
