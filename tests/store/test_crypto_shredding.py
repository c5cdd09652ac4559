"""Crypto-shredding on both backends: personal data is stored sealed with the person's key, and
erasure destroys the key in the same transaction as the erasure event."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from tests.support import postgres_url_or_skip

from kam_domain.application import KamApplication
from kam_domain.commands import (
    AssignRelationshipOwner,
    ChangeDisposition,
    ChangeRole,
    CorrectContactDetails,
    CorrectReportsTo,
    CorrectTitle,
    ErasePersonalData,
    FulfilCommitment,
    IdentifyStakeholder,
    LogInteraction,
    MakeCommitment,
    RecordDeparture,
    RegisterAccount,
)
from kam_domain.personal import ERASED
from kam_domain.relationships import Relationship
from kam_domain.values import (
    BuyingRole,
    Disposition,
    Envelope,
    InteractionKind,
    PersonalData,
    ServiceProfile,
)
from kam_store.copy import TargetNotEmptyError, copy_log
from kam_store.crypto import (
    SEALED,
    MasterKey,
    PersonalDataMapper,
    TamperedPersonalDataError,
    person_key_table,
    personal_data_mapper,
)
from kam_store.env import library_env
from kam_store.features import store_features
from kam_store.person_keys import ERASURE_TOPIC, TABLE
from kam_store.stored_state import recorded_at

MASTER = MasterKey(bytes(range(32)))
ANN = Envelope(actor="ann")
WHY = Envelope(actor="ann", reason="Dana's reason")
#: Every value of Dana's that the store must never hold in clear.
DANA_SECRETS = (
    "Dana Smith",
    "dana@example.com",
    "+44 1234",
    "likes golf",
    "Chief Financial",
    "Renewal kick-off",
    "Send the roadmap",
    "sent by post",
    "Dana's reason",
)


def open_app(store_env: dict[str, str], master: MasterKey | None = MASTER, **kw: Any) -> Any:
    kw.setdefault("snapshot_interval", 5)
    return KamApplication(
        env=store_env,
        store_features=store_features,
        mapper=personal_data_mapper(master, cache_seconds=kw.pop("cache_seconds", 0)),
        **kw,
    )


@pytest.fixture
def sealed(store_env: dict[str, str]) -> Iterator[KamApplication]:
    app = open_app(store_env)
    try:
        yield app
    finally:
        app.close()


def identify(
    app: KamApplication, name: str = "Dana Smith", email: str = "dana@example.com"
) -> UUID:
    account = app.handle(
        RegisterAccount(
            name=f"Acme {uuid4().hex[:6]}",
            industry="Manufacturing",
            region="EMEA",
            service_profile=ServiceProfile.PREMIUM,
        ),
        meta=ANN,
    ).id
    return app.handle(
        IdentifyStakeholder.of(
            account,
            PersonalData(name=name, email=email, phone="+44 1234", notes="likes golf"),
            title="Chief Financial Officer",
            buying_role=BuyingRole.ECONOMIC_BUYER,
            influence=4,
            reports_to=None,
        ),
        meta=WHY,
    ).id


def full_life(app: KamApplication) -> UUID:
    """Dana, with one event of every Relationship type but the erasure (8 events)."""
    dana = identify(app)
    app.handle(ChangeDisposition(stakeholder_id=dana, disposition=Disposition.SUPPORTER), meta=WHY)
    app.handle(
        ChangeRole(stakeholder_id=dana, buying_role=BuyingRole.CHAMPION, influence=5), meta=WHY
    )
    app.handle(AssignRelationshipOwner(stakeholder_id=dana, owner="bob"), meta=ANN)
    app.handle(
        LogInteraction(
            stakeholder_id=dana,
            kind=InteractionKind.MEETING,
            on=date(2026, 11, 2),
            summary="Renewal kick-off",
            sentiment=2,
        ),
        meta=ANN,
    )
    commitment = app.handle(
        MakeCommitment(stakeholder_id=dana, description="Send the roadmap", due_on=None), meta=ANN
    ).entity_id
    assert commitment is not None
    app.handle(
        FulfilCommitment(stakeholder_id=dana, commitment_id=commitment, note="sent by post"),
        meta=ANN,
    )
    app.handle(
        RecordDeparture(stakeholder_id=dana, left_on=date(2027, 2, 1), successor_id=None),
        meta=WHY,
    )
    return dana


def erase(app: KamApplication, person: UUID) -> None:
    app.handle(ErasePersonalData(stakeholder_id=person), meta=WHY)


def stored_events(app: KamApplication, person: UUID) -> list[StoredEvent]:
    return list(app.recorder.select_events(person))


def stored_snapshots(app: KamApplication, person: UUID) -> list[StoredEvent]:
    assert app.snapshots is not None
    return list(app.snapshots.recorder.select_events(person))


def mapper(app: KamApplication) -> PersonalDataMapper:
    assert isinstance(app.mapper, PersonalDataMapper)
    return app.mapper


def key_row(app: KamApplication, person: UUID) -> Any:
    return person_key_table(app.recorder).fetch(person)


def assert_holds_none_of(data: bytes, secrets: tuple[str, ...] = DANA_SECRETS) -> None:
    for secret in secrets:
        assert secret.encode() not in data, secret


# --- Sealing and round trips ---------------------------------------------------------------


def test_every_relationship_event_and_snapshot_round_trips_sealed(sealed: KamApplication) -> None:
    dana = full_life(sealed)
    plain = KamApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        relationship = sealed.get_stakeholder(dana)
        events = list(sealed.events.get(dana))
        assert [type(e).__name__ for e in events] == [
            "Identified",
            "DispositionChanged",
            "RoleChanged",
            "OwnerAssigned",
            "InteractionLogged",
            "CommitmentMade",
            "CommitmentFulfilled",
            "LeftCompany",
        ]
        # Each event decodes to exactly what the library's plain mapper gives back.
        for event in events:
            again = plain.mapper.to_domain_event(plain.mapper.to_stored_event(event))
            assert vars(again) == vars(event)
        assert events[0].personal == PersonalData(  # type: ignore[attr-defined]
            "Dana Smith", "dana@example.com", "+44 1234", "likes golf"
        )
        assert events[0].meta.reason == "Dana's reason"  # type: ignore[attr-defined]
        assert events[4].summary == "Renewal kick-off"  # type: ignore[attr-defined]
        assert relationship.title == "Chief Financial Officer"
        assert relationship.commitments and all(
            c.fulfilment_note == "sent by post" for c in relationship.commitments.values()
        )
        # The snapshot (every 5 events) decodes to the aggregate it was taken of.
        snapshots = stored_snapshots(sealed, dana)
        assert snapshots
        snapshot = mapper(sealed).to_domain_event(snapshots[-1])
        at_five = sealed.get(Relationship, dana, version=5)
        assert snapshot.state["personal"] == at_five.personal  # type: ignore[attr-defined]
        assert snapshot.state["last_interaction"] == at_five.last_interaction  # type: ignore[attr-defined]
    finally:
        plain.close()


def test_stored_bytes_hold_no_personal_value_and_start_with_the_recorded_instant(
    sealed: KamApplication,
) -> None:
    dana = full_life(sealed)
    rows = stored_events(sealed, dana) + stored_snapshots(sealed, dana)
    for stored in rows:
        assert_holds_none_of(stored.state)
        assert recorded_at(stored.state) is not None
    sealed_parts = [s for s in rows if f'"{SEALED}"'.encode() in s.state]
    # Every event but OwnerAssigned (no reason, no text) seals something; the snapshot too.
    assert len(sealed_parts) == len(rows) - 1
    assert ERASED.encode() in rows[0].state


# --- Erasure ----------------------------------------------------------------------------------


def test_after_erasure_every_read_shows_placeholders_and_never_raises(
    sealed: KamApplication,
) -> None:
    dana = full_life(sealed)
    before = sealed.get_stakeholder(dana)
    assert key_row(sealed, dana).wrapped_key is not None
    erase(sealed, dana)

    row = key_row(sealed, dana)
    assert row.wrapped_key is None and row.erased
    now = sealed.get_stakeholder(dana)
    assert now.erased and now.personal is None and now.title is None
    assert now.last_interaction is not None and now.last_interaction.summary == ERASED
    # As of before the erasure: the shape of the past, none of the person's values.
    past = sealed.get_as_of(Relationship, dana, before.modified_on)
    assert past.version == before.version
    assert past.personal is not None and past.personal.name == ERASED
    assert past.personal.phone == ERASED and past.title == ERASED
    assert past.owner == "bob" and past.buying_role is BuyingRole.CHAMPION
    # The history, every event decoded through the application.
    history = list(sealed.events.get(dana))
    assert len(history) == 9
    for event in history:
        assert_holds_none_of(repr(vars(event)).encode())
    assert history[0].personal.email == ERASED  # type: ignore[attr-defined]
    assert history[4].kind is InteractionKind.MEETING  # type: ignore[attr-defined]
    # A snapshot taken before the erasure, reloaded.
    snapshot = mapper(sealed).to_domain_event(stored_snapshots(sealed, dana)[0])
    assert snapshot.state["personal"].name == ERASED  # type: ignore[attr-defined]
    assert_holds_none_of(repr(snapshot.state).encode())  # type: ignore[attr-defined]


def test_an_erased_persons_new_events_and_snapshots_store_placeholders_only(
    sealed: KamApplication,
) -> None:
    dana = identify(sealed)
    erase(sealed, dana)
    for day in range(1, 5):  # crosses a snapshot (every 5 events)
        sealed.handle(
            LogInteraction(
                stakeholder_id=dana,
                kind=InteractionKind.CALL,
                on=date(2027, 1, day),
                summary=f"after erasure {day}",
                sentiment=0,
            ),
            meta=ANN,
        )
    for stored in stored_events(sealed, dana) + stored_snapshots(sealed, dana):
        assert b"after erasure" not in stored.state
        assert f'"{SEALED}"'.encode() not in stored.state or stored.originator_version <= 2
    assert sealed.get_stakeholder(dana).last_interaction.summary == ERASED  # type: ignore[union-attr]
    assert key_row(sealed, dana).wrapped_key is None


def test_erasure_drops_the_key_from_this_process_at_once(store_env: dict[str, str]) -> None:
    app = open_app(store_env, cache_seconds=3600)
    try:
        dana = full_life(app)
        assert app.get_stakeholder(dana).title == "Chief Financial Officer"
        erase(app, dana)
        assert app.get(Relationship, dana, version=1).personal.name == ERASED  # type: ignore[union-attr]
    finally:
        app.close()


def test_erasure_and_key_destruction_commit_together_or_not_at_all(
    sealed: KamApplication,
) -> None:
    dana, lee = identify(sealed), identify(sealed, "Lee Park", "lee@example.com")
    relationship = sealed.get_stakeholder(dana)
    relationship.erase_personal_data(meta=WHY)
    erasure = mapper(sealed).to_stored_event(relationship.collect_events()[0])
    assert erasure.topic == ERASURE_TOPIC
    taken = stored_events(sealed, lee)[0]  # version 1 of Lee: a conflict in the same insert
    with pytest.raises(IntegrityError):
        sealed.recorder.insert_events([erasure, taken])
    # Neither: no erasure event, and Dana's key (unwrapped afresh) still opens her data.
    assert len(stored_events(sealed, dana)) == 1
    assert key_row(sealed, dana).wrapped_key is not None
    assert sealed.get_stakeholder(dana).personal.name == "Dana Smith"  # type: ignore[union-attr]
    # Both.
    sealed.recorder.insert_events([erasure])
    assert key_row(sealed, dana).wrapped_key is None
    assert sealed.get_stakeholder(dana).erased


KILL_SQLITE = """
import os, sqlite3, sys
db, person, topic = sys.argv[1:4]
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("BEGIN")
conn.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state) "
              "VALUES (?, 2, ?, ?)", (person, topic, b"{}"))
row = conn.execute("SELECT wrapped_key FROM kam_person_keys WHERE person_id = ?", (person,))
print("destroyed-in-transaction" if row.fetchone()[0] is None else "still-there", flush=True)
os._exit(9)
"""

KILL_POSTGRES = """
import os, sys, uuid, psycopg
url, schema, person, topic = sys.argv[1:5]
conn = psycopg.connect(url)
conn.execute(f'INSERT INTO "{schema}".kam_events (originator_id, originator_version, topic, '
             "state) VALUES (%s, 2, %s, %s)", (uuid.UUID(person), topic, b"{}"))
row = conn.execute(f'SELECT wrapped_key FROM "{schema}".kam_person_keys WHERE person_id = %s',
                   (uuid.UUID(person),)).fetchone()
print("destroyed-in-transaction" if row[0] is None else "still-there", flush=True)
os._exit(9)
"""


def test_a_crash_between_the_trigger_and_the_commit_keeps_both(
    sealed: KamApplication, store_env: dict[str, str]
) -> None:
    dana = identify(sealed)
    if store_env["PERSISTENCE_MODULE"].endswith("sqlite"):
        args = ["-c", KILL_SQLITE, store_env["SQLITE_DBNAME"], dana.hex, ERASURE_TOPIC]
    else:
        schema = store_env["POSTGRES_SCHEMA"]
        url = (
            f"postgresql://{store_env['POSTGRES_USER']}@{store_env['POSTGRES_HOST']}:"
            f"{store_env['POSTGRES_PORT']}/{store_env['POSTGRES_DBNAME']}"
        )
        args = ["-c", KILL_POSTGRES, url, schema, str(dana), ERASURE_TOPIC]
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr
    assert done.stdout.strip() == "destroyed-in-transaction"
    assert len(stored_events(sealed, dana)) == 1
    assert key_row(sealed, dana).wrapped_key is not None
    assert sealed.get_stakeholder(dana).personal.name == "Dana Smith"  # type: ignore[union-attr]


# --- What the database files hold ------------------------------------------------------------


def test_the_store_holds_no_erased_persons_data_and_others_still_decrypt(
    sealed: KamApplication, store_env: dict[str, str]
) -> None:
    dana = full_life(sealed)
    lee = identify(sealed, "Lee Park", "lee@example.com")
    dana_key = key_row(sealed, dana).wrapped_key
    erase(sealed, dana)
    if store_env["PERSISTENCE_MODULE"].endswith("sqlite"):
        path = Path(store_env["SQLITE_DBNAME"])
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = path.read_bytes() + Path(f"{path}-wal").read_bytes()
        assert dana_key not in data
        # secure_delete, so a destroyed key's bytes are zeroed, not left in a free page.
        with sealed.recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
            c.execute("PRAGMA secure_delete")
            assert c.fetchone()[0] == 1
    else:
        schema = store_env["POSTGRES_SCHEMA"]
        data = subprocess.run(
            [
                "pg_dump",
                "--data-only",
                f"--schema={schema}",
                "-h",
                store_env["POSTGRES_HOST"],
                "-U",
                store_env["POSTGRES_USER"],
                store_env["POSTGRES_DBNAME"],
            ],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        assert b"kam_person_keys" in data and b"kam_events" in data
    assert_holds_none_of(data)
    assert b"Lee Park" not in data and b"lee@example.com" not in data  # sealed, not erased
    assert sealed.get_stakeholder(lee).personal == PersonalData(
        "Lee Park", "lee@example.com", "+44 1234", "likes golf"
    )


#: A correction's values and reasons: sealed while Dana's key lives, gone with it.
CORRECTED = ("Head of Quokka Finance", "dana.wombat@example.com", "+44 5550 1987", "Numbat")


def correct_everything(app: KamApplication, dana: UUID, boss: UUID) -> None:
    numbat = Envelope(actor="ann", reason="Numbat memo from the front desk")
    app.handle(CorrectTitle(stakeholder_id=dana, title=CORRECTED[0]), meta=numbat)
    app.handle(
        CorrectContactDetails(stakeholder_id=dana, email=CORRECTED[1], phone=CORRECTED[2]),
        meta=numbat,
    )
    app.handle(CorrectReportsTo(stakeholder_id=dana, reports_to=boss), meta=numbat)


def test_corrections_are_sealed_and_unreadable_once_the_person_is_erased(
    sealed: KamApplication,
) -> None:
    dana = identify(sealed)
    boss = sealed.handle(
        IdentifyStakeholder(
            account_id=sealed.get_stakeholder(dana).account_id,
            name="Bo Ss",
            buying_role=BuyingRole.DECISION_MAKER,
            influence=5,
        ),
        meta=ANN,
    ).id
    correct_everything(sealed, dana, boss)
    corrected = sealed.get_stakeholder(dana)
    assert corrected.title == CORRECTED[0] and corrected.reports_to == boss
    assert corrected.personal == PersonalData(
        "Dana Smith", CORRECTED[1], CORRECTED[2], "likes golf"
    )
    for stored in stored_events(sealed, dana) + stored_snapshots(sealed, dana):
        assert_holds_none_of(stored.state, (*DANA_SECRETS, *CORRECTED))

    erase(sealed, dana)

    past = sealed.get_as_of(Relationship, dana, corrected.modified_on)
    assert (past.title, past.personal.email, past.personal.phone) == (ERASED,) * 3  # type: ignore[union-attr]
    assert past.reports_to == boss  # the shape stays
    history = list(sealed.events.get(dana))
    assert [type(e).__name__ for e in history][1:4] == [
        "TitleCorrected",
        "ContactDetailsCorrected",
        "ReportsToCorrected",
    ]
    for event in history:
        assert_holds_none_of(repr(vars(event)).encode(), (*DANA_SECRETS, *CORRECTED))
    assert history[3].meta.reason == ERASED  # type: ignore[attr-defined]
    assert sealed.get_stakeholder(boss).display_name == "Bo Ss"


def test_a_sealed_part_moved_to_another_event_is_detected(
    sealed: KamApplication, store_env: dict[str, str]
) -> None:
    dana = full_life(sealed)
    events = stored_events(sealed, dana)
    donor, victim = events[1], events[7]  # both seal only the reason
    marker = f',"{SEALED}"'.encode()
    moved = victim.state.split(marker)[0] + marker + donor.state.split(marker)[1]
    replace_state(store_env, dana, victim.originator_version, moved)
    with pytest.raises(TamperedPersonalDataError, match="moved from another event or altered"):
        sealed.get_stakeholder(dana)


def replace_state(store_env: dict[str, str], person: UUID, version: int, state: bytes) -> None:
    """Rewrites a stored event as an attacker with the database's superuser would: past the
    append-only triggers."""
    if store_env["PERSISTENCE_MODULE"].endswith("sqlite"):
        with sqlite3.connect(store_env["SQLITE_DBNAME"]) as conn:
            conn.execute("DROP TRIGGER IF EXISTS stored_events_append_only_update")
            conn.execute(
                "UPDATE stored_events SET state = ? WHERE originator_id = ? "
                "AND originator_version = ?",
                (state, person.hex, version),
            )
        return
    schema = store_env["POSTGRES_SCHEMA"]
    with psycopg.connect(
        host=store_env["POSTGRES_HOST"],
        user=store_env["POSTGRES_USER"],
        dbname=store_env["POSTGRES_DBNAME"],
        autocommit=True,
    ) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            f'UPDATE "{schema}".kam_events SET state = %s WHERE originator_id = %s '
            "AND originator_version = %s",
            (state, person, version),
        )


# --- Legacy plaintext and plaintext mode -----------------------------------------------------


def test_legacy_plaintext_of_an_erased_person_is_redacted_on_read(
    store_env: dict[str, str],
) -> None:
    legacy = KamApplication(
        env=store_env, snapshot_interval=5, store_features=store_features
    )  # the library's plain mapper
    try:
        dana = full_life(legacy)
        lee = identify(legacy, "Lee Park", "lee@example.com")
    finally:
        legacy.close()
    app = open_app(store_env)
    try:
        assert sum(map(mapper(app).holds_plain_personal_data, stored_events(app, dana))) == 7
        assert app.get_stakeholder(dana).personal.name == "Dana Smith"  # type: ignore[union-attr]
        erase(app, dana)
        assert key_row(app, dana).erased
        for event in app.events.get(dana):
            assert_holds_none_of(repr(vars(event)).encode())
        snapshot = mapper(app).to_domain_event(stored_snapshots(app, dana)[0])
        assert_holds_none_of(repr(snapshot.state).encode())  # type: ignore[attr-defined]
        assert app.get_as_of(Relationship, dana, app.get_stakeholder(lee).modified_on).title == (
            ERASED
        )
        assert app.get_stakeholder(lee).personal.name == "Lee Park"  # type: ignore[union-attr]
    finally:
        app.close()


def test_plaintext_mode_stores_in_clear_but_hides_erased_people(
    store_env: dict[str, str],
) -> None:
    app = open_app(store_env, master=None)
    try:
        dana = identify(app)
        assert b"Dana Smith" in stored_events(app, dana)[0].state
        assert key_row(app, dana) is None  # no keys without a master key
        erase(app, dana)
        assert key_row(app, dana).erased  # the trigger leaves a tombstone all the same
        assert next(iter(app.events.get(dana))).personal.name == ERASED  # type: ignore[attr-defined]
    finally:
        app.close()


def test_people_erased_before_the_key_table_existed_get_a_tombstone(
    store_env: dict[str, str],
) -> None:
    legacy = KamApplication(env=store_env, snapshot_interval=5, store_features=store_features)
    try:
        dana = identify(legacy)
        erase(legacy, dana)
    finally:
        legacy.close()
    drop_key_table(store_env)  # as a store from before this table was added
    app = open_app(store_env)
    try:
        assert key_row(app, dana).erased
        assert next(iter(app.events.get(dana))).personal.name == ERASED  # type: ignore[attr-defined]
    finally:
        app.close()


def drop_key_table(store_env: dict[str, str]) -> None:
    if store_env["PERSISTENCE_MODULE"].endswith("sqlite"):
        with sqlite3.connect(store_env["SQLITE_DBNAME"]) as conn:
            conn.execute(f"DROP TABLE {TABLE}")
            conn.execute("DROP TRIGGER kam_destroy_person_key")
        return
    with psycopg.connect(
        host=store_env["POSTGRES_HOST"],
        user=store_env["POSTGRES_USER"],
        dbname=store_env["POSTGRES_DBNAME"],
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP TABLE "{store_env["POSTGRES_SCHEMA"]}".{TABLE}')


def test_copying_the_log_into_a_new_store_leaves_no_plaintext(
    store_env: dict[str, str], tmp_path: Path
) -> None:
    legacy = KamApplication(env=store_env, snapshot_interval=5, store_features=store_features)
    try:
        dana = full_life(legacy)
        lee = identify(legacy, "Lee Park", "lee@example.com")
        erase(legacy, dana)
        count = len(legacy.recorder.select_notifications(1, limit=1000))
    finally:
        legacy.close()
    source = open_app(store_env)
    target = open_app(library_env(f"sqlite:///{tmp_path / 'new.db'}"))
    try:
        assert copy_log(source, target, batch_size=7) == count
        with pytest.raises(TargetNotEmptyError):
            copy_log(source, target)
        copied = target.recorder.select_notifications(1, limit=1000)
        assert [(n.originator_id, n.originator_version, n.topic) for n in copied] == [
            (n.originator_id, n.originator_version, n.topic)
            for n in source.recorder.select_notifications(1, limit=1000)
        ]
        for stored in copied:
            assert_holds_none_of(stored.state, (*DANA_SECRETS, "Lee Park", "lee@example.com"))
        assert not any(mapper(target).holds_plain_personal_data(n) for n in copied)
        assert key_row(target, dana).erased and key_row(target, dana).wrapped_key is None
        assert target.get_stakeholder(lee).personal.name == "Lee Park"  # type: ignore[union-attr]
        assert target.get_stakeholder(dana).erased
    finally:
        source.close()
        target.close()


def test_another_replica_sees_the_erasure_once_its_key_cache_expires(
    store_env: dict[str, str],
) -> None:
    here = open_app(store_env)
    there = open_app(store_env, cache_seconds=3600)  # a replica that keeps keys for an hour
    fresh = open_app(store_env, cache_seconds=0)
    try:
        dana = identify(here)
        assert there.get(Relationship, dana, version=1).personal.name == "Dana Smith"  # type: ignore[union-attr]
        erase(here, dana)
        # The documented window: a replica holding the key still opens old events ...
        assert there.get(Relationship, dana, version=1).personal.name == "Dana Smith"  # type: ignore[union-attr]
        # ... one whose cache has expired does not.
        assert fresh.get(Relationship, dana, version=1).personal.name == ERASED  # type: ignore[union-attr]
        there.mapper.keys.forget(dana)  # type: ignore[attr-defined]  # as when its TTL runs out
        assert there.get(Relationship, dana, version=1).personal.name == ERASED  # type: ignore[union-attr]
    finally:
        for app in (here, there, fresh):
            app.close()


def test_a_key_read_before_the_erasure_never_enters_the_cache_after_it(
    store_env: dict[str, str],
) -> None:
    """Another thread (the projector) read the key just before the erasure began here, and
    files it only after: whether before or after the erasure commits, it stays out."""
    app = open_app(store_env, cache_seconds=3600)
    try:
        dana = identify(app)
        keys = mapper(app).keys
        generation = keys._generation
        alive = keys.table.fetch(dana)
        assert alive is not None and alive.wrapped_key is not None
        erase(app, dana)
        # Filed before anyone saw the erasure committed: not cached.
        assert keys._remember(dana, alive, time.monotonic(), generation).aead is not None
        assert keys.cached(dana) is None
        # Filed after a fresh read cached the tombstone: the tombstone stays.
        assert keys.state(dana).erased
        assert keys._remember(dana, alive, time.monotonic(), generation).erased
        cached = keys.cached(dana)
        assert cached is not None and cached.erased and cached.aead is None
        assert app.get(Relationship, dana, version=1).personal.name == ERASED  # type: ignore[union-attr]
    finally:
        app.close()


def test_a_reader_of_many_events_fetches_the_keys_in_one_query(
    store_env: dict[str, str],
) -> None:
    """The projector prepares a slice of the log at a time: one query for the people's keys,
    then every event decodes from the cache (and an erased person's state is right)."""
    app = open_app(store_env, cache_seconds=3600)
    try:
        people = [identify(app, name=f"Person {n}") for n in range(3)]
        erase(app, people[0])
        keys = mapper(app).keys
        for person in people:
            keys.forget(person)
        keys._erasing.clear()  # as in another process: nothing pending here
        notifications = app.recorder.select_notifications(1, 1000)
        fetched: list[UUID] = []
        fetch = keys.table.fetch

        def counting_fetch(person_id: UUID) -> Any:
            fetched.append(person_id)
            return fetch(person_id)

        keys.table.fetch = counting_fetch  # type: ignore[method-assign]
        app.store_features.prepare(notifications)
        decoded = [app.mapper.to_domain_event(n) for n in notifications]
        assert fetched == []  # every key came with the prepared slice
        names = [e.personal.name for e in decoded if type(e).__name__ == "Identified"]
        assert names == [ERASED, "Person 1", "Person 2"]
    finally:
        app.close()


def test_a_read_while_the_erasure_is_being_stored_does_not_cache_the_key_again(
    store_env: dict[str, str],
) -> None:
    """The projector and the API read while a command is stored: a read between the erasure's
    encoding and its commit must not put the (not yet destroyed) key back in the cache, or the
    person's data shows for ``cache_seconds`` after the erasure in this very process."""
    app = open_app(store_env, cache_seconds=3600)
    try:
        dana = identify(app)
        assert app.get(Relationship, dana, version=1).personal.name == "Dana Smith"  # type: ignore[union-attr]
        insert = app.recorder.insert_events
        seen: list[str] = []

        def read_first(stored: Any, **kwargs: Any) -> Any:
            seen.append(app.get(Relationship, dana, version=1).personal.name)  # type: ignore[union-attr]
            return insert(stored, **kwargs)

        app.recorder.insert_events = read_first  # type: ignore[method-assign]
        erase(app, dana)
        app.recorder.insert_events = insert  # type: ignore[method-assign]
        assert seen == ["Dana Smith"]  # the key still existed then
        assert app.get(Relationship, dana, version=1).personal.name == ERASED  # type: ignore[union-attr]
    finally:
        app.close()


@pytest.mark.postgres
def test_a_role_with_select_and_insert_only_still_destroys_keys_by_the_trigger(
    pg_schema: str,
) -> None:
    url = postgres_url_or_skip()
    app = open_app(library_env(f"{url}?schema={pg_schema}", pool_size=2))
    role = f"kam_svc_{uuid4().hex[:8]}"
    try:
        dana = identify(app)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'CREATE ROLE "{role}" LOGIN')
            admin.execute(f'GRANT USAGE ON SCHEMA "{pg_schema}" TO "{role}"')
            admin.execute(
                f'GRANT SELECT, INSERT ON "{pg_schema}".kam_events, '
                f'"{pg_schema}".kam_events_chain, "{pg_schema}".{TABLE} TO "{role}"'
            )
            admin.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{pg_schema}" TO "{role}"')
        with psycopg.connect(url, user=role, autocommit=True) as service:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                service.execute(f'UPDATE "{pg_schema}".{TABLE} SET wrapped_key = NULL')
            service.execute(
                f'INSERT INTO "{pg_schema}".kam_events (originator_id, originator_version, '
                "topic, state) VALUES (%s, 2, %s, %s)",
                (dana, ERASURE_TOPIC, b"{}"),
            )
        row = key_row(app, dana)
        assert row.wrapped_key is None and row.erased
    finally:
        app.close()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')
