"""The ledger endpoints on both backends: checkpoints that verify with the published key,
inclusion and consistency proofs that verify against them, problems for bad parameters and for
a missing key, the ledger tail in /readyz and the ledger line of the handover report."""

from __future__ import annotations

import base64
import sqlite3
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem, register
from tests.support import POSTGRES_URL, api_app

from kam_api.settings import Settings
from kam_store.checkpoint import SigningKey, VerifierKey, parse_checkpoint
from kam_store.merkle import verify_consistency, verify_inclusion
from kam_store.url import DatabaseURL

KEY = SigningKey.generate("kam-ledger.dev/log")


@pytest.fixture
def api_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        embedded_projector=True,
        projector_poll_interval=0.05,
        read_wait_seconds=10,
        pg_pool_size=8,
        ledger_key=KEY.to_base64(),
    )


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def positions(client: TestClient, auth: dict[str, dict[str, str]]) -> list[int]:
    response = client.get("/events", params={"limit": 1000}, headers=auth["audrey"])
    assert response.status_code == 200, response.text
    return [e["position"] for e in response.json()["items"]]


def test_a_checkpoint_verifies_and_so_does_every_inclusion_proof(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    for n in range(3):
        register(client, auth["dora"], name=f"Ledger {n}")
    key = client.get("/ledger/public-key", headers=auth["audrey"]).json()
    verifier = VerifierKey.parse(key["verifier_key"])
    assert verifier == KEY.verifier and key["key_id"] == KEY.verifier.key_id.hex()
    body = client.get("/ledger/checkpoint", headers=auth["audrey"]).json()
    checkpoint = parse_checkpoint(body["note"], verifier)
    logged = positions(client, auth)
    assert checkpoint.size == body["tree_size"] == len(logged)
    assert checkpoint.position == body["position"] == logged[-1]
    assert body["root_hash"] == base64.b64encode(checkpoint.root).decode()
    assert body["problem"] is None
    note = client.get("/ledger/checkpoint", params={"format": "note"}, headers=auth["dora"])
    assert note.headers["content-type"].startswith("text/plain")
    assert parse_checkpoint(note.text, verifier).size == checkpoint.size
    for position in logged:
        proof = client.get(
            "/ledger/proofs/inclusion", params={"position": position}, headers=auth["root"]
        ).json()
        assert proof["tree_size"] == checkpoint.size
        assert verify_inclusion(
            unb64(proof["leaf_hash"]),
            proof["leaf_index"],
            proof["tree_size"],
            [unb64(p) for p in proof["proof"]],
            checkpoint.root,
        )
    # Against an earlier tree, too.
    proof = client.get(
        "/ledger/proofs/inclusion",
        params={"position": logged[0], "tree_size": 2},
        headers=auth["audrey"],
    ).json()
    assert proof["tree_size"] == 2 and proof["leaf_index"] == 0
    assert not verify_inclusion(
        unb64(proof["leaf_hash"]), 0, 2, [unb64(p) for p in proof["proof"]], checkpoint.root
    )


def test_a_later_checkpoint_is_consistent_with_an_earlier_one(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    register(client, auth["dora"], name="Before")
    old = parse_checkpoint(
        client.get("/ledger/checkpoint", headers=auth["audrey"]).json()["note"], KEY.verifier
    )
    register(client, auth["dora"], name="After")
    new = parse_checkpoint(
        client.get("/ledger/checkpoint", headers=auth["audrey"]).json()["note"], KEY.verifier
    )
    assert new.size > old.size
    body = client.get(
        "/ledger/proofs/consistency",
        params={"from": old.size, "to": new.size},
        headers=auth["audrey"],
    ).json()
    assert body["from"] == old.size and body["to"] == new.size
    path = [unb64(p) for p in body["proof"]]
    assert verify_consistency(old.size, new.size, old.root, new.root, path)
    assert not verify_consistency(old.size, new.size, new.root, new.root, path)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/ledger/proofs/inclusion", {"position": 0}),
        ("/ledger/proofs/inclusion", {"position": -3}),
        ("/ledger/proofs/inclusion", {"position": 10**6}),
        ("/ledger/proofs/inclusion", {"position": 1, "tree_size": 10**6}),
        ("/ledger/proofs/inclusion", {"position": 1, "tree_size": 0}),
        ("/ledger/proofs/inclusion", {"position": "x"}),
        ("/ledger/proofs/inclusion", {}),
        ("/ledger/proofs/consistency", {"from": 3, "to": 2}),
        ("/ledger/proofs/consistency", {"from": 0, "to": 2}),
        ("/ledger/proofs/consistency", {"from": 1, "to": 10**6}),
        ("/ledger/proofs/consistency", {"from": 10**6}),
    ],
)
def test_bad_parameters_are_problems(
    client: TestClient, auth: dict[str, dict[str, str]], path: str, params: dict[str, Any]
) -> None:
    register(client, auth["dora"])
    response = client.get(path, params=params, headers=auth["audrey"])
    assert_problem(response, 422)


def test_a_position_after_the_tree_size_is_not_in_that_tree(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    register(client, auth["dora"])
    last = positions(client, auth)[-1]
    response = client.get(
        "/ledger/proofs/inclusion", params={"position": last, "tree_size": 1}, headers=auth["dora"]
    )
    assert_problem(response, 422, "outside-tree")


@pytest.mark.parametrize("name", ["mia", "vic"])
def test_managers_and_viewers_cannot_read_the_ledger(
    client: TestClient, auth: dict[str, dict[str, str]], name: str
) -> None:
    for path in ("/ledger/checkpoint", "/ledger/public-key", "/ledger/proofs/inclusion?position=1"):
        assert_problem(client.get(path, headers=auth[name]), 403, "forbidden")


def test_without_a_key_checkpoints_answer_503_and_proofs_still_work(database_url: str) -> None:
    settings = Settings(database_url=database_url, embedded_projector=False, pg_pool_size=8)
    with TestClient(api_app(settings), raise_server_exceptions=False) as client:
        from kam_api.auth import Role

        token = client.app.state.users.add("audrey", Role.AUDITOR)  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {token}"}
        token = client.app.state.users.add("dora", Role.DIRECTOR)  # type: ignore[attr-defined]
        register(client, {"Authorization": f"Bearer {token}"})
        for path in ("/ledger/checkpoint", "/ledger/public-key"):
            body = assert_problem(client.get(path, headers=headers), 503, "ledger-key-missing")
            assert "KAM_LEDGER_KEY" in body["detail"]
        response = client.get("/ledger/proofs/inclusion?position=1", headers=headers)
        assert response.status_code == 200, response.text


def test_a_key_that_does_not_load_is_named_in_the_problem(database_url: str) -> None:
    settings = Settings(database_url=database_url, embedded_projector=False, ledger_key="bm9wZQ==")
    with TestClient(api_app(settings), raise_server_exceptions=False) as client:
        from kam_api.auth import Role

        token = client.app.state.users.add("audrey", Role.AUDITOR)  # type: ignore[attr-defined]
        response = client.get("/ledger/checkpoint", headers={"Authorization": f"Bearer {token}"})
        body = assert_problem(response, 503, "ledger-key-missing")
        assert "32-byte" in body["detail"]


def tamper_topic(database_url: str, position: int) -> None:
    """Changes an event's topic as a superuser would, past any append-only trigger."""
    database = DatabaseURL.parse(database_url)
    if database.is_postgres:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{database.target.schema}"')  # type: ignore[union-attr]
            conn.execute("SET session_replication_role = replica")
            conn.execute(
                "UPDATE kam_events SET topic = topic || 'x' WHERE notification_id = %s", (position,)
            )
    else:
        conn = sqlite3.connect(database.target.events_dbname)  # type: ignore[union-attr]
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("UPDATE stored_events SET topic = topic || 'x' WHERE rowid = ?", (position,))
        conn.commit()
        conn.close()


def test_readyz_reports_the_ledger_tail_and_fails_when_it_is_tampered(
    client: TestClient, auth: dict[str, dict[str, str]], database_url: str
) -> None:
    register(client, auth["dora"])
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    last = positions(client, auth)[-1]
    assert response.json()["ledger_tail"]["verified"] is True
    assert response.json()["ledger_tail"]["to"] == last
    tamper_topic(database_url, last)
    body = assert_problem(client.get("/readyz"), 503, "ledger-tail-broken")
    assert body["ledger_first_bad_position"] == last


def test_the_handover_report_states_how_far_the_ledger_verified(
    client: TestClient, auth: dict[str, dict[str, str]], database_url: str
) -> None:
    account = register(client, auth["dora"])
    wait = {"min_position": account["position"]}
    report = client.get(
        f"/accounts/{account['id']}/handover-report", params=wait, headers=auth["dora"]
    )
    assert report.status_code == 200, report.text
    last = positions(client, auth)[-1]
    assert report.json()["ledger"] == {
        "verified_to": last,
        "entries": len(positions(client, auth)),
        "problem": None,
    }
    markdown = client.get(
        f"/accounts/{account['id']}/handover-report",
        params={**wait, "format": "markdown"},
        headers=auth["dora"],
    ).text
    assert f"**Ledger verified to:** position #{last}" in markdown
