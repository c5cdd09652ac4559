"""The idempotency keys' rows in the event store, on SQLite and PostgreSQL: written in the
events' transaction (under group commit too), so a key committed by another writer rolls the
second writer's events back; expired keys are purged as new ones are written."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from kam_domain.application import KamApplication
from kam_domain.commands import RegisterAccount
from kam_domain.idempotency import (
    AnswerStore,
    IdempotencyClaim,
    IdempotencyInProgressError,
    IdempotentWrite,
)
from kam_domain.values import Envelope
from kam_store.env import library_env
from kam_store.features import store_features
from kam_store.idempotency import table_name
from kam_store.postgres_recorder import KamPostgresApplicationRecorder

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
META = Envelope(actor="dora")


def claim(key: str, now: datetime = T0, user: str = "dora") -> IdempotencyClaim:
    return IdempotencyClaim(user, key, f"print-{key}", now, now + timedelta(hours=24))


def write(key: str, now: datetime = T0, user: str = "dora") -> IdempotentWrite:
    return IdempotentWrite(claim(key, now, user), uuid.uuid4(), 1, None)


def event(originator: uuid.UUID | None = None, version: int = 1) -> StoredEvent:
    return StoredEvent(originator or uuid.uuid4(), version, "tests:Event", b'{"n":1}')


def key_rows(app: KamApplication) -> int:
    table = table_name(app.recorder.events_table_name)  # type: ignore[attr-defined]
    if isinstance(app.recorder, KamPostgresApplicationRecorder):
        with app.recorder.datastore.get_connection() as conn:
            row = conn.execute(
                f'SELECT count(*) AS n FROM "{app.recorder.datastore.schema}"."{table}"'
            ).fetchone()
            assert row is not None
            return int(row["n"])
    with app.recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
        c.execute(f"SELECT count(*) FROM {table}")
        return int(c.fetchone()[0])


def test_the_key_is_written_with_the_events_and_answers_their_position(
    app: KamApplication,
) -> None:
    recorder = app.recorder
    assert isinstance(recorder, AnswerStore)
    ids = recorder.insert_events([event(), event()], idempotency=write("a"))
    answer = recorder.stored_answer("dora", "a", T0)
    assert answer is not None and answer.fingerprint == "print-a"
    assert ids is not None and answer.result.position == max(ids)
    assert recorder.stored_answer("bob", "a", T0) is None  # per user
    # The same key again: nothing of this write is stored.
    head = recorder.max_notification_id()
    with pytest.raises(IntegrityError):
        recorder.insert_events([event()], idempotency=write("a"))
    assert recorder.max_notification_id() == head
    # A command that wrote no events still stores its answer (position 0).
    recorder.insert_events([], idempotency=write("empty"))
    empty = recorder.stored_answer("dora", "empty", T0)
    assert empty is not None and empty.result.position == 0


def test_a_conflicting_event_rolls_the_key_back(app: KamApplication) -> None:
    recorder = app.recorder
    taken = uuid.uuid4()
    recorder.insert_events([event(taken)])
    with pytest.raises(IntegrityError):
        recorder.insert_events([event(), event(taken)], idempotency=write("b"))
    assert isinstance(recorder, AnswerStore)
    assert recorder.stored_answer("dora", "b", T0) is None


def test_expired_keys_are_ignored_then_purged_by_the_next_write(app: KamApplication) -> None:
    recorder = app.recorder
    assert isinstance(recorder, AnswerStore)
    recorder.insert_events([event()], idempotency=write("old"))
    later = T0 + timedelta(hours=24, seconds=1)
    assert recorder.stored_answer("dora", "old", T0 + timedelta(hours=23)) is not None
    assert recorder.stored_answer("dora", "old", later) is None
    assert key_rows(app) == 1
    # The next write deletes it in its transaction: the key is free again.
    recorder.insert_events([event()], idempotency=write("old", now=later))
    assert key_rows(app) == 1
    fresh = recorder.stored_answer("dora", "old", later)
    assert fresh is not None


@pytest.mark.postgres
def test_group_commit_fails_only_the_command_whose_key_is_taken(pg_schema: str) -> None:
    """One batch of three commands, the second with a key already stored: the fast path
    aborts, the batch is redone one by one, and only that command fails."""
    from tests.support import postgres_url_or_skip

    url = f"{postgres_url_or_skip()}?schema={pg_schema}"
    app = KamApplication(env=library_env(url, pool_size=4), store_features=store_features)
    try:
        recorder = app.recorder
        assert isinstance(recorder, KamPostgresApplicationRecorder)
        recorder.insert_events([event()], idempotency=write("taken"))
        groups: list[tuple[list[StoredEvent], Any]] = [
            ([event(), event()], write("one")),
            ([event()], write("taken")),
            ([event()], None),
            ([], write("none")),
        ]
        results = recorder._insert_groups(groups)
        assert results[1] is None
        assert results[0] is not None and len(results[0]) == 2
        assert results[2] is not None and len(results[2]) == 1
        one = recorder.stored_answer("dora", "one", T0)
        assert one is not None and one.result.position == max(results[0])
        none = recorder.stored_answer("dora", "none", T0)
        assert none is not None and none.result.position == 0
        # The fast path (no conflict) stores each key with its own group's position.
        results = recorder._insert_groups(
            [([event()], write("x")), ([event(), event()], write("y"))]
        )
        x, y = recorder.stored_answer("dora", "x", T0), recorder.stored_answer("dora", "y", T0)
        assert x is not None and y is not None and results[0] and results[1]
        assert (x.result.position, y.result.position) == (results[0][0], max(results[1]))
    finally:
        app.close()


def test_two_processes_with_one_key_apply_the_command_once(store_env: dict[str, str]) -> None:
    """Two applications on one store (two API processes): the second looked the key up before
    the first committed, so it runs the command too; its save fails on the key's row, its
    events are rolled back, and it answers the first one's answer."""
    first = KamApplication(env=store_env, store_features=store_features)
    second = KamApplication(env=store_env, store_features=store_features)
    try:
        command = RegisterAccount(name="Acme Industrial", industry="Retail", region="EMEA")
        result, replayed = first.handle_once(command, meta=META, user="dora", key="k")
        assert not replayed
        head = first.recorder.max_notification_id()
        recorder = second.recorder
        looked: list[bool] = []

        def late_lookup(user: str, key: str, now: datetime) -> Any:
            if not looked:  # the look-up before running: the first had not committed yet
                looked.append(True)
                return None
            return type(recorder).stored_answer(recorder, user, key, now)  # type: ignore[attr-defined]

        recorder.stored_answer = late_lookup  # type: ignore[attr-defined]
        again, replayed = second.handle_once(command, meta=META, user="dora", key="k")
        assert looked and replayed and again == result
        assert second.recorder.max_notification_id() == head
    finally:
        first.close()
        second.close()


def test_a_key_running_in_this_process_makes_a_repeat_wait_or_refuse(app: KamApplication) -> None:
    policy = app.idempotency
    policy.wait_seconds = 0.05
    running = policy.claim("dora", "k", "print")
    with policy.running(running) as waited:
        assert not waited
        with pytest.raises(IdempotencyInProgressError), policy.running(running):
            pass
        # Another user's key of the same name is not the same key.
        with policy.running(policy.claim("bob", "k", "print")):
            pass
    policy.wait_seconds = 5
    entered = threading.Event()
    leave = threading.Event()

    def hold() -> None:
        with policy.running(running):
            entered.set()
            leave.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(5)
    threading.Timer(0.1, leave.set).start()
    with policy.running(running) as waited:
        assert waited
    holder.join(5)
