"""As-of reads: the state at any instant equals the state built from only the events recorded
up to that instant (generated histories, snapshots every 5 events, both backends); PostgreSQL's
search in the database finds the same version as the searches done in Python (reading the
stored bytes, and decoding every probed event)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from tests.strategies import apply_history, histories
from tests.support import postgres_url_or_skip

from kam_domain.account_plans import AccountPlan
from kam_domain.application import KamApplication
from kam_domain.base import KamAggregate, replay
from kam_domain.commands import AdvanceStage, NoteCompetitor, RegisterAccount
from kam_domain.errors import AccountNotFoundError
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.store_features import LibraryStoreFeatures
from kam_domain.values import Envelope, ServiceProfile, Stage, ThreatLevel
from kam_store.env import library_env
from kam_store.features import PostgresStoreFeatures, StoredBytesFeatures, store_features
from kam_store.postgres_recorder import KamPostgresApplicationRecorder
from kam_store.stored_state import UNREADABLE_STATE

META = Envelope(actor="ann")


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=histories(max_accounts=2, max_steps=40))
def test_the_state_as_of_any_instant_is_built_from_the_events_recorded_until_then(
    app: KamApplication, steps: list[object]
) -> None:
    result = apply_history(app, steps)  # type: ignore[arg-type]
    kinds: list[tuple[type[KamAggregate], object]] = (
        [(KeyAccount, a) for a in result.account_ids]
        + [(AccountPlan, p) for p in result.plan_ids]
        + [(Relationship, s) for s in result.stakeholder_ids]
    )
    for cls, aggregate_id in kinds:
        events = list(app.events.get(aggregate_id))  # type: ignore[arg-type]
        instants = [e.timestamp for e in events]
        instants += [events[-1].timestamp + timedelta(seconds=1)]
        for instant in instants:
            expected = replay([e for e in events if e.timestamp <= instant])
            as_of = app.get_as_of(cls, aggregate_id, instant)  # type: ignore[arg-type]
            assert as_of == expected, (cls.__name__, instant)
        with pytest.raises(Exception, match="did not exist"):
            app.get_as_of(
                cls,
                aggregate_id,  # type: ignore[arg-type]
                events[0].timestamp - timedelta(microseconds=1),
            )


def test_an_account_that_did_not_exist_yet_is_not_found(app: KamApplication) -> None:
    result = app.handle(
        RegisterAccount(
            name="Later Co", industry="x", region="y", service_profile=ServiceProfile.LIGHT
        ),
        meta=META,
    )
    first = next(iter(app.events.get(result.id))).timestamp
    with pytest.raises(AccountNotFoundError):
        app.get_as_of(KeyAccount, result.id, first - timedelta(days=1))
    assert app.get_as_of(KeyAccount, result.id, first).version == 1


def grow(app: KamApplication, events: int) -> uuid.UUID:
    """An account with ``events`` events (so several snapshots at the fixture's interval)."""
    account = app.handle(
        RegisterAccount(
            name=f"Grown {uuid.uuid4().hex[:6]}",
            industry="Energy",
            region="NA",
            service_profile=ServiceProfile.PREMIUM,
        ),
        meta=META,
    ).id
    app.handle(AdvanceStage(account_id=account, to=Stage.STRATEGY.next), meta=META)
    for n in range(events - 2):
        app.handle(
            NoteCompetitor(account_id=account, name=f"C{n}", threat=ThreatLevel.LOW, notes=None),
            meta=META,
        )
    return account


def boundary_instants(timestamps: list[datetime]) -> list[datetime]:
    """Before the first event, at, just before and just after each one, after the last."""
    instants = [timestamps[0] - timedelta(days=1)]
    for at in timestamps:
        instants += [at - timedelta(microseconds=1), at, at + timedelta(microseconds=1)]
    return [*instants, timestamps[-1] + timedelta(days=1)]


@pytest.fixture
def pg_app(pg_schema: str) -> Iterator[KamApplication]:
    url = f"{postgres_url_or_skip()}?schema={pg_schema}"
    application = KamApplication(
        env=library_env(url, pool_size=4), snapshot_interval=5, store_features=store_features
    )
    try:
        yield application
    finally:
        application.close()


@pytest.mark.postgres
def test_the_database_search_finds_the_version_the_python_search_finds(
    pg_app: KamApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = grow(pg_app, 70)
    instants = boundary_instants([e.timestamp for e in pg_app.events.get(account)])
    unknown = uuid.uuid4()
    in_database = [pg_app.version_at(account, at) for at in instants]
    in_database.append(pg_app.version_at(unknown, instants[-1]))
    assert isinstance(pg_app.recorder, KamPostgresApplicationRecorder)
    assert isinstance(pg_app.store_features, PostgresStoreFeatures)
    assert pg_app.recorder.version_at(account, instants[-1]) == 70  # answered, not declined
    # The other implementations, on the same store: reading the stored bytes, and the
    # domain's plain one, decoding each probed event.
    for features in (StoredBytesFeatures(pg_app), LibraryStoreFeatures(pg_app)):
        found = [features.version_at(account, at) for at in instants]
        found.append(features.version_at(unknown, instants[-1]))
        assert found == in_database, type(features).__name__
    # The recorder declining every search leaves it to the Python one, on the same store.
    monkeypatch.setattr(pg_app.recorder, "version_at", lambda *_: UNREADABLE_STATE)
    in_python = [pg_app.version_at(account, at) for at in instants]
    in_python.append(pg_app.version_at(unknown, instants[-1]))
    assert in_database == in_python
    assert in_database[:2] == [None, None]  # a day before, and just before, the first event
    assert in_database[-3:] == [70, 70, None]  # after the last; an unknown aggregate


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_states_that_are_not_plain_json_are_searched_by_decoding(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/kam.db"
    else:
        url = f"{postgres_url_or_skip()}?schema={request.getfixturevalue('pg_schema')}"
    env = {
        **library_env(url, pool_size=4),
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
    }
    app = KamApplication(env=env, snapshot_interval=5, store_features=store_features)
    try:
        account = grow(app, 23)
        events = list(app.events.get(account))
        for at in boundary_instants([e.timestamp for e in events]):
            expected = replay([e for e in events if e.timestamp <= at])
            if expected is None:
                with pytest.raises(AccountNotFoundError):
                    app.get_as_of(KeyAccount, account, at)
            else:
                assert app.get_as_of(KeyAccount, account, at) == expected
    finally:
        app.close()
