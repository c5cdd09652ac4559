"""The hash chain and ``kam verify`` on both backends: an untampered store verifies; each kind
of tampering, done as an attacker with superuser rights would (triggers that refuse UPDATE or
DELETE disabled or dropped first), makes ``kam verify`` exit non-zero naming the position."""

from __future__ import annotations

import base64
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import Environment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support import POSTGRES_URL
from typer.testing import CliRunner

from kam_api.auth import Role
from kam_api.bootstrap import open_services
from kam_api.cli import cli
from kam_api.settings import Settings
from kam_domain.commands import AssignManager, RegisterAccount
from kam_domain.values import Envelope, ServiceProfile
from kam_store.chain import GENESIS, chain_hash, entry_bytes
from kam_store.checkpoint import Checkpoint, SigningKey, VerifierKey, parse_checkpoint
from kam_store.env import APP_NAME, library_env
from kam_store.url import DatabaseURL
from kam_store.verifier import events_table_for, main, verify

KEY = SigningKey.generate("kam-ledger.dev/log")
OTHER_KEY = SigningKey.generate("kam-ledger.dev/log")
DORA = Envelope(actor="dora")


class Store:
    """A store with a few accounts written through the application, and an attacker's
    superuser access to its tables."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.database = DatabaseURL.parse(url)
        self.table = events_table_for(self.database)
        self.chain = f"{self.table}_chain"
        self.checkpoints = f"{self.table}_checkpoints"
        # The position: PostgreSQL's notification_id column, SQLite's rowid.
        self.id = "notification_id" if self.database.is_postgres else "rowid"

    def settings(self) -> Settings:
        return Settings(database_url=self.url, ledger_key=KEY.to_base64())

    def write(self, accounts: int) -> list[int]:
        positions = []
        with open_services(self.settings()) as services:
            kam = services.app
            if services.users.get("mia") is None:  # managers must be users of the service
                services.users.add("mia", Role.MANAGER)
            for n in range(accounts):
                name = f"Tamper {uuid.uuid4().hex[:8]} {n}"
                result = kam.handle(
                    RegisterAccount(
                        name=name, industry="x", region="y", service_profile=ServiceProfile.STANDARD
                    ),
                    meta=DORA,
                )
                positions.append(result.position)
                result = kam.handle(AssignManager(account_id=result.id, manager="mia"), meta=DORA)
                positions.append(result.position)
        return positions

    def checkpoint(self) -> str:
        with open_services(self.settings()) as services:
            return services.ledger.checkpoint()[1]

    def positions(self) -> list[int]:
        return [int(r[0]) for r in self.query(f"SELECT {self.id} FROM {self.table} ORDER BY 1")]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.tampering() as execute:
            return execute(sql, params)

    def tamper(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with self.tampering() as execute:
            execute(sql, params)

    def tampering(self) -> Any:
        from contextlib import contextmanager

        @contextmanager
        def postgres() -> Iterator[Any]:
            schema = self.database.target.schema  # type: ignore[union-attr]
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f'SET search_path TO "{schema}"')
                # Disables every ordinary trigger (append-only guards included) for us.
                conn.execute("SET session_replication_role = replica")

                def execute(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
                    cursor = conn.execute(sql.replace("?", "%s"), params)
                    return cursor.fetchall() if cursor.description else []

                yield execute

        @contextmanager
        def sqlite() -> Iterator[Any]:
            path = self.database.target.events_dbname  # type: ignore[union-attr]
            conn = sqlite3.connect(path)
            try:
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                ).fetchall():
                    conn.execute(f'DROP TRIGGER "{name}"')

                def execute(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
                    return conn.execute(sql, params).fetchall()

                yield execute
                conn.commit()
            finally:
                conn.close()

        return postgres() if self.database.is_postgres else sqlite()


@pytest.fixture
def store(database_url: str) -> Store:
    store = Store(database_url)
    store.write(4)  # a dozen events or so
    return store


def kam_verify(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, checkpoint: str | None = None
) -> Any:
    monkeypatch.setenv("KAM_DATABASE_URL", store.url)
    monkeypatch.setenv("KAM_LEDGER_KEY", KEY.to_base64())
    args = ["verify"]
    if checkpoint is not None:
        file = tmp_path / "checkpoint.txt"
        file.write_text(checkpoint, encoding="utf-8")
        key = tmp_path / "ledger.pub"
        key.write_text(KEY.verifier.encode() + "\n", encoding="utf-8")
        args += ["--checkpoint", str(file), "--public-key", str(key)]
    return CliRunner().invoke(cli, args)


def first_bad(result: Any) -> int:
    text = result.output
    assert "FIRST BAD POSITION" in text, text
    return int(text.split("FIRST BAD POSITION ", 1)[1].split(":", 1)[0])


def test_an_untampered_store_verifies_with_its_checkpoint(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    checkpoint = store.checkpoint()
    store.write(1)  # the log grows past the checkpoint: still consistent with it
    result = kam_verify(store, monkeypatch, tmp_path, checkpoint)
    assert result.exit_code == 0, result.output
    positions = store.positions()
    assert f"verified {len(positions)} entries up to position {positions[-1]}" in result.output


def test_every_event_has_one_chain_entry_computed_as_documented(store: Store) -> None:
    events = store.query(
        f"SELECT {store.id}, originator_id, originator_version, topic, state "
        f"FROM {store.table} ORDER BY {store.id}"
    )
    chain = store.query(f"SELECT seq, position, hash FROM {store.chain} ORDER BY seq")
    assert [c[1] for c in chain] == [e[0] for e in events]
    assert [c[0] for c in chain] == list(range(1, len(events) + 1))
    previous = GENESIS
    for (position, originator, version, topic, state), (_, _, stored) in zip(
        events, chain, strict=True
    ):
        originator = originator if isinstance(originator, uuid.UUID) else uuid.UUID(originator)
        previous = chain_hash(previous, position, originator, version, topic, bytes(state))
        assert bytes(stored) == previous


def test_a_flipped_byte_in_a_stored_state_is_found(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = store.positions()[3]
    (state,) = store.query(f"SELECT state FROM {store.table} WHERE {store.id} = ?", (target,))[0]
    flipped = bytearray(state)
    flipped[10] ^= 0x01
    store.tamper(
        f"UPDATE {store.table} SET state = ? WHERE {store.id} = ?", (bytes(flipped), target)
    )
    result = kam_verify(store, monkeypatch, tmp_path)
    assert result.exit_code == 1
    assert first_bad(result) == target


def test_a_changed_topic_is_found(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = store.positions()[5]
    store.tamper(
        f"UPDATE {store.table} SET topic = ? WHERE {store.id} = ?",
        ("kam_domain.key_accounts:KeyAccount.Exited", target),
    )
    result = kam_verify(store, monkeypatch, tmp_path)
    assert result.exit_code == 1
    assert first_bad(result) == target


def test_a_deleted_event_is_found_whether_or_not_its_entry_goes_too(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    positions = store.positions()
    store.tamper(f"DELETE FROM {store.table} WHERE {store.id} = ?", (positions[2],))
    result = kam_verify(store, monkeypatch, tmp_path)
    assert result.exit_code == 1
    assert first_bad(result) == positions[2]
    store.tamper(f"DELETE FROM {store.chain} WHERE position = ?", (positions[2],))
    result = kam_verify(store, monkeypatch, tmp_path)
    assert result.exit_code == 1
    assert first_bad(result) == positions[3]  # the next entry no longer chains


def test_two_swapped_events_are_found(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    positions = store.positions()
    p, q = positions[4], positions[6]
    rows = {
        r[0]: r[1:]
        for r in store.query(
            f"SELECT {store.id}, topic, state FROM {store.table} WHERE {store.id} IN (?, ?)",
            (p, q),
        )
    }
    for here, there in ((p, q), (q, p)):
        store.tamper(
            f"UPDATE {store.table} SET topic = ?, state = ? WHERE {store.id} = ?",
            (rows[there][0], bytes(rows[there][1]), here),
        )
    result = kam_verify(store, monkeypatch, tmp_path)
    assert result.exit_code == 1
    assert first_bad(result) == p


def test_a_truncated_tail_is_found(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    checkpoint = store.checkpoint()
    positions = store.positions()
    cut = positions[-2]
    # Events removed, their chain entries left behind: the chain alone shows it.
    store.tamper(f"DELETE FROM {store.table} WHERE {store.id} >= ?", (cut,))
    result = kam_verify(store, monkeypatch, tmp_path)
    assert result.exit_code == 1
    assert first_bad(result) == cut
    # Chain entries removed too: only a checkpoint can tell. The one the service handed out is
    # stored with the log, and checked again ...
    store.tamper(f"DELETE FROM {store.chain} WHERE position >= ?", (cut,))
    result = kam_verify(store, monkeypatch, tmp_path)
    assert result.exit_code == 1
    assert first_bad(result) == positions[-3] + 1
    assert "stored checkpoint" in result.output
    # ... and if the attacker removes it too, the copy the auditor kept still tells.
    store.tamper(f"DELETE FROM {store.checkpoints}")
    assert kam_verify(store, monkeypatch, tmp_path).exit_code == 0
    result = kam_verify(store, monkeypatch, tmp_path, checkpoint)
    assert result.exit_code == 1
    assert first_bad(result) == positions[-3] + 1
    assert f"after position {positions[-3]}" in result.output


def test_a_rewritten_and_rechained_log_fails_its_checkpoint(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    checkpoint = store.checkpoint()
    target = store.positions()[1]
    store.tamper(
        f"UPDATE {store.table} SET topic = ? WHERE {store.id} = ?",
        ("kam_domain.key_accounts:KeyAccount.Exited", target),
    )
    # The attacker recomputes the whole chain: it verifies on its own ...
    events = store.query(
        f"SELECT {store.id}, originator_id, originator_version, topic, state "
        f"FROM {store.table} ORDER BY {store.id}"
    )
    previous = GENESIS
    for position, originator, version, topic, state in events:
        originator = originator if isinstance(originator, uuid.UUID) else uuid.UUID(originator)
        previous = chain_hash(previous, position, originator, version, topic, bytes(state))
        store.tamper(f"UPDATE {store.chain} SET hash = ? WHERE position = ?", (previous, position))
    claimed = parse_checkpoint(checkpoint, KEY.verifier).position
    # ... but not against the checkpoint the service signed before and stored ...
    result = kam_verify(store, monkeypatch, tmp_path)
    assert result.exit_code == 1
    assert first_bad(result) == claimed
    # ... and, with that removed too, it verifies on its own ...
    store.tamper(f"DELETE FROM {store.checkpoints}")
    assert kam_verify(store, monkeypatch, tmp_path).exit_code == 0
    # ... but not against the auditor's copy.
    result = kam_verify(store, monkeypatch, tmp_path, checkpoint)
    assert result.exit_code == 1
    assert first_bad(result) == parse_checkpoint(checkpoint, KEY.verifier).position


def forged(checkpoint: str) -> list[str]:
    parsed = parse_checkpoint(checkpoint, KEY.verifier)
    bigger = Checkpoint(
        parsed.origin,
        parsed.size + 5,
        parsed.root,
        parsed.position + 5,
        parsed.chain_head,
        parsed.time,
    )
    body, _, signature = checkpoint.partition("\n\n")
    lines = body.split("\n")
    lines[2] = base64.b64encode(bytes(32)).decode()
    return [
        # The root replaced, the signature kept.
        "\n".join(lines) + "\n\n" + signature,
        # A bigger tree signed by someone else under the log's name.
        bigger.sign(OTHER_KEY),
        # No signature at all.
        body + "\n\n",
    ]


def test_a_forged_checkpoint_is_refused(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    checkpoint = store.checkpoint()
    claimed = parse_checkpoint(checkpoint, KEY.verifier).position
    for n, fake in enumerate(forged(checkpoint)):
        result = kam_verify(store, monkeypatch, tmp_path, fake)
        assert result.exit_code == 1, (n, result.output)
        assert "checkpoint refused" in result.output
        assert first_bad(result) in (claimed, claimed + 5)


def test_a_forged_stored_checkpoint_is_refused(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    checkpoint = store.checkpoint()
    assert kam_verify(store, monkeypatch, tmp_path).exit_code == 0
    fake = forged(checkpoint)[1]  # a bigger tree, signed by another key under the log's name
    size = parse_checkpoint(checkpoint, KEY.verifier).size + 5
    store.tamper(f"INSERT INTO {store.checkpoints} (tree_size, note) VALUES (?, ?)", (size, fake))
    result = kam_verify(store, monkeypatch, tmp_path)
    assert result.exit_code == 1
    assert "stored checkpoint refused" in result.output
    assert first_bad(result) == parse_checkpoint(checkpoint, KEY.verifier).position + 5


def test_stored_checkpoints_are_kept_once_per_size_and_rechecked(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = store.checkpoint()
    assert store.checkpoint().split("\n")[:3] == first.split("\n")[:3]  # same tree, no new row
    store.write(1)
    store.checkpoint()
    rows = store.query(f"SELECT tree_size FROM {store.checkpoints} ORDER BY 1")
    assert len(rows) == 2
    result = kam_verify(store, monkeypatch, tmp_path)
    assert result.exit_code == 0, result.output
    assert "2 stored checkpoints checked" in result.output
    # Without the public key the standalone verifier cannot check signatures, and says so.
    from kam_store.verifier import main as verifier_main

    assert verifier_main(["--database-url", store.url]) == 0


def test_the_standalone_verifier_agrees(store: Store, tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_text(store.checkpoint(), encoding="utf-8")
    key = tmp_path / "ledger.pub"
    key.write_text(KEY.verifier.encode(), encoding="utf-8")
    args = ["--database-url", store.url, "--checkpoint", str(checkpoint), "--public-key", str(key)]
    assert main(args) == 0
    target = store.positions()[0]
    store.tamper(f"UPDATE {store.table} SET topic = 'x' WHERE {store.id} = ?", (target,))
    assert main(args) == 1
    outcome = verify(store.database, checkpoint_text=checkpoint.read_text(), key=KEY.verifier)
    assert outcome.problem is not None and outcome.problem.position == target


def test_the_verifier_key_round_trips() -> None:
    text = KEY.verifier.encode()
    assert VerifierKey.parse(text) == KEY.verifier
    assert text.startswith("kam-ledger.dev/log+")


@pytest.mark.postgres
def test_every_postgres_insert_path_is_chained(pg_schema: str) -> None:
    """The group commit's fast path, its one-by-one path (after a conflict), concurrent
    writers and the library's stock recorder all write chain entries that verify."""
    url = f"{POSTGRES_URL}?schema={pg_schema}"
    env = library_env(url, pool_size=4, max_overflow=16)
    factory = InfrastructureFactory.construct(Environment(APP_NAME, env))
    recorder = factory.application_recorder()
    try:

        def event(originator: uuid.UUID, version: int) -> StoredEvent:
            return StoredEvent(originator, version, "tests:Event", b'{"n":1}')

        taken = uuid.uuid4()
        recorder.insert_events([event(taken, 1)])
        # One batch where one command conflicts: redone one by one, the other command kept.
        results = recorder._insert_groups(  # type: ignore[attr-defined]
            [([event(taken, 1)], None), ([event(uuid.uuid4(), 1), event(uuid.uuid4(), 1)], None)]
        )
        assert results[0] is None and results[1] is not None and len(results[1]) == 2

        def write() -> None:
            for _ in range(10):
                recorder.insert_events([event(uuid.uuid4(), 1), event(uuid.uuid4(), 1)])

        threads = [threading.Thread(target=write) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stock = PostgresApplicationRecorder(
            recorder.datastore,  # type: ignore[attr-defined]
            events_table_name=recorder.events_table_name,  # type: ignore[attr-defined]
        )
        stock.insert_events([event(uuid.uuid4(), 1), event(uuid.uuid4(), 1)])
    finally:
        recorder.close()  # type: ignore[attr-defined]
        factory.close()
    outcome = verify(DatabaseURL.parse(url))
    assert outcome.ok, outcome.lines()
    assert outcome.verifier.size == 1 + 2 + 8 * 10 * 2 + 2


def test_the_incremental_tree_equals_a_fresh_verification(store: Store) -> None:
    from kam_store.ledger import Ledger

    ledger = Ledger(store.database, store.table, key=KEY)
    first, _ = ledger.checkpoint()
    store.write(2)
    second, _ = ledger.checkpoint()  # only the new entries were read
    fresh = verify(store.database).verifier
    assert second.size == fresh.size > first.size
    assert second.root == fresh.tree.root() and second.chain_head == fresh.head
    assert ledger.verifier.tree.root(first.size) == first.root
    assert ledger.check_tail(3).ok and ledger.check_tail(3).checked == 3
    assert ledger.check_tail(1000).checked == fresh.size


def test_kam_ledger_key_creates_the_key_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "var" / "ledger.key"
    monkeypatch.delenv("KAM_LEDGER_KEY", raising=False)
    monkeypatch.setenv("KAM_LEDGER_KEY_FILE", str(path))
    first = CliRunner().invoke(cli, ["ledger-key"])
    assert first.exit_code == 0, first.output
    assert path.stat().st_mode & 0o777 == 0o600
    second = CliRunner().invoke(cli, ["ledger-key"])
    printed = [line for line in first.output.splitlines() if "+" in line]
    assert printed and printed[-1] in second.output
    seed = SigningKey.from_base64("kam-ledger.dev/log", path.read_text())
    assert VerifierKey.parse(printed[-1]) == seed.verifier


def test_a_store_older_than_the_chain_is_chained_at_set_up(store: Store) -> None:
    store.tamper(f"DROP TABLE {store.chain}")
    with open_services(store.settings()) as services:
        assert services.app  # set-up creates the table again and chains the events stored
    outcome = verify(store.database)
    assert outcome.ok, outcome.lines()
    assert outcome.verifier.size == len(store.positions())
    store.write(1)  # and new events chain on from there
    outcome = verify(store.database)
    assert outcome.ok and outcome.verifier.size == len(store.positions())


@given(
    st.lists(
        st.tuples(
            st.integers(1, 2**62),
            st.uuids(),
            st.integers(1, 2**62),
            st.text(max_size=20),
            st.binary(max_size=40),
        ),
        min_size=2,
        max_size=2,
        unique=True,
    )
)
def test_no_two_different_events_encode_alike(events: list[tuple[Any, ...]]) -> None:
    first, second = events
    assert entry_bytes(*first) != entry_bytes(*second)


@pytest.mark.postgres
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=30), st.binary(max_size=300)),
        min_size=1,
        max_size=8,
    )
)
def test_the_database_hashes_any_topic_and_state_as_python_does(
    pg_schema: str, events: list[tuple[str, bytes]]
) -> None:
    """Non-ASCII topics, empty and binary states: the trigger's encoding is the documented one."""
    url = f"{POSTGRES_URL}?schema={pg_schema}"
    factory = InfrastructureFactory.construct(Environment(APP_NAME, library_env(url)))
    recorder = factory.application_recorder()
    try:
        recorder.insert_events(
            [
                StoredEvent(uuid.uuid4(), 1, topic.replace("\x00", ""), state)
                for topic, state in events
            ]
        )
    finally:
        recorder.close()  # type: ignore[attr-defined]
        factory.close()
    outcome = verify(DatabaseURL.parse(url))
    assert outcome.ok, outcome.lines()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        # The next example starts from an empty log: as a superuser, past the append-only
        # triggers.
        conn.execute("SET session_replication_role = replica")
        conn.execute(f'TRUNCATE "{pg_schema}".kam_events, "{pg_schema}".kam_events_chain')
