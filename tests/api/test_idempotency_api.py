"""Idempotency keys over HTTP (``Idempotency-Key``), on SQLite and PostgreSQL: a repeat gets
the first answer and writes nothing, also after the process that committed died before
answering; a key reused for another request is a 422; a repeat while the first still runs
waits for it, or answers 409 ``idempotency-in-progress``; keys are per user and expire."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import assert_problem
from tests.api.idempotency_child import KILLED

from kam_api.auth import Role
from kam_api.settings import Settings
from kam_domain.application import KamApplication

ROOT = Path(__file__).resolve().parents[2]
BODY = {"name": "Acme Industrial", "industry": "Manufacturing", "region": "EMEA"}


def kam_of(client: TestClient) -> KamApplication:
    kam: KamApplication = client.app.state.kam  # type: ignore[attr-defined]
    return kam


def head(client: TestClient) -> int:
    return int(kam_of(client).recorder.max_notification_id() or 0)


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def test_a_repeat_gets_the_first_answer_and_writes_nothing(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    first = client.post("/accounts", json=BODY, headers=keyed(auth["dora"], "k-1"))
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    written = head(client)
    again = client.post("/accounts", json=BODY, headers=keyed(auth["dora"], "k-1"))
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Location"] == first.headers["Location"]
    assert head(client) == written
    # Without a key the same body is a new command (refused here: the name is taken).
    assert client.post("/accounts", json=BODY, headers=auth["dora"]).status_code == 409
    assert head(client) == written


def test_a_repeat_on_an_existing_aggregate_answers_its_entity_and_version(
    client: TestClient, auth: dict[str, dict[str, str]], account: str
) -> None:
    body = {"title": "Budget freeze", "severity": "high"}
    path = f"/accounts/{account}/risks"
    first = client.post(path, json=body, headers=keyed(auth["mia"], "risk-1"))
    assert first.status_code == 201, first.text
    assert first.json()["entity_id"] is not None
    written = head(client)
    # Another command on the account in between: the repeat still answers the first answer.
    other = client.post(path, json={"title": "Churn", "severity": "low"}, headers=auth["mia"])
    assert other.status_code == 201
    after_other = head(client)
    again = client.post(path, json=body, headers=keyed(auth["mia"], "risk-1"))
    assert again.status_code == 201
    assert again.json() == first.json() and again.json()["position"] == written
    assert head(client) == after_other
    assert len(kam_of(client).get_account(UUID(account)).risks) == 2


def test_a_key_reused_for_another_request_is_a_422_and_writes_nothing(
    client: TestClient, auth: dict[str, dict[str, str]], account: str
) -> None:
    body = {**BODY, "name": "Gamma Foods"}
    assert client.post("/accounts", json=body, headers=keyed(auth["dora"], "k")).status_code == 201
    written = head(client)
    other_body = {**BODY, "name": "Beta Logistics"}
    answer = client.post("/accounts", json=other_body, headers=keyed(auth["dora"], "k"))
    assert_problem(answer, 422, "idempotency-key-reused")
    # Another path (another command) with the same key: refused the same way.
    answer = client.post(
        f"/accounts/{account}/risks",
        json={"title": "Budget freeze", "severity": "high"},
        headers=keyed(auth["dora"], "k"),
    )
    assert_problem(answer, 422, "idempotency-key-reused")
    # The same body with another reason is another request too.
    answer = client.post(
        "/accounts", json={**body, "reason": "New logo"}, headers=keyed(auth["dora"], "k")
    )
    assert_problem(answer, 422, "idempotency-key-reused")
    assert head(client) == written


def test_keys_are_per_user(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    dora = client.post("/accounts", json=BODY, headers=keyed(auth["dora"], "same"))
    root = client.post(
        "/accounts", json={**BODY, "name": "Beta Logistics"}, headers=keyed(auth["root"], "same")
    )
    assert dora.status_code == root.status_code == 201
    assert dora.json()["id"] != root.json()["id"]
    assert "Idempotent-Replayed" not in root.headers


def test_a_refused_command_stores_nothing_so_its_retry_runs_again(
    client: TestClient, auth: dict[str, dict[str, str]], account: str
) -> None:
    path, body = f"/accounts/{account}/manager", {"manager": "nobody", "reason": "Moves"}
    refused = client.post(path, json=body, headers=keyed(auth["dora"], "m"))
    assert refused.status_code == 422, refused.text
    # Retried with the same key once the cause is fixed (the same request: the user now
    # exists), it runs.
    client.app.state.users.add("nobody", Role.MANAGER)  # type: ignore[attr-defined]
    done = client.post(path, json=body, headers=keyed(auth["dora"], "m"))
    assert done.status_code == 200, done.text
    assert kam_of(client).get_account(UUID(account)).manager == "nobody"


def test_keys_expire_after_the_setting(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    policy = kam_of(client).idempotency
    assert policy.hours == 24
    start = policy.now()
    first = client.post("/accounts", json=BODY, headers=keyed(auth["dora"], "old"))
    assert first.status_code == 201
    policy.now = lambda: start + timedelta(hours=23, minutes=59)
    assert client.post("/accounts", json=BODY, headers=keyed(auth["dora"], "old")).json() == (
        first.json()
    )
    policy.now = lambda: start + timedelta(hours=24, seconds=1)
    # Expired: the repeat is a new command (refused by the name the first one took).
    again = client.post("/accounts", json=BODY, headers=keyed(auth["dora"], "old"))
    assert_problem(again, 409, "account-name-taken")
    renamed = {**BODY, "name": "Acme Two"}
    fresh = client.post("/accounts", json=renamed, headers=keyed(auth["dora"], "old"))
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]


@pytest.fixture
def hold_before_commit(client: TestClient) -> Iterator[tuple[threading.Event, threading.Event]]:
    """(saving, release): the next command's thread stops right before its save, sets
    ``saving`` and waits for ``release`` (its key is running, its answer not stored yet)."""
    saving, release = threading.Event(), threading.Event()
    kam = kam_of(client)
    save = kam.save_aggregates

    def hold(*aggregates: Any, **kwargs: Any) -> Any:
        if not saving.is_set():
            saving.set()
            release.wait(30)
        return save(*aggregates, **kwargs)

    kam.save_aggregates = hold  # type: ignore[method-assign]
    try:
        yield saving, release
    finally:
        release.set()
        del kam.save_aggregates


def _post_in_thread(
    client: TestClient, headers: dict[str, str]
) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(
        target=lambda: answers.append(client.post("/accounts", json=BODY, headers=headers))
    )
    thread.start()
    return thread, answers


def test_a_repeat_while_the_first_runs_answers_409_in_progress(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    hold_before_commit: tuple[threading.Event, threading.Event],
) -> None:
    committed, release = hold_before_commit
    kam_of(client).idempotency.wait_seconds = 0.2
    headers = keyed(auth["dora"], "slow")
    thread, answers = _post_in_thread(client, headers)
    assert committed.wait(30)
    busy = client.post("/accounts", json=BODY, headers=headers)
    problem = assert_problem(busy, 409, "idempotency-in-progress")
    assert busy.headers["Retry-After"] == "1" and "slow" in problem["detail"]
    release.set()
    thread.join(30)
    assert answers[0].status_code == 201
    again = client.post("/accounts", json=BODY, headers=headers)
    assert again.json() == answers[0].json() and again.headers["Idempotent-Replayed"] == "true"


def test_a_repeat_while_the_first_runs_waits_for_its_answer(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    hold_before_commit: tuple[threading.Event, threading.Event],
) -> None:
    saving, release = hold_before_commit
    headers = keyed(auth["dora"], "slow")
    before = head(client)
    first, first_answers = _post_in_thread(client, headers)
    assert saving.wait(30)
    second, second_answers = _post_in_thread(client, headers)
    second.join(0.3)
    assert second.is_alive()  # waiting for the first
    release.set()
    first.join(30)
    second.join(30)
    assert first_answers[0].status_code == second_answers[0].status_code == 201
    assert second_answers[0].json() == first_answers[0].json()
    assert second_answers[0].headers["Idempotent-Replayed"] == "true"
    assert head(client) == first_answers[0].json()["position"] > before


@pytest.mark.parametrize("key", ["", "x" * 256, "with space"])
def test_a_malformed_key_is_a_422_and_writes_nothing(
    client: TestClient, auth: dict[str, dict[str, str]], key: str
) -> None:
    before = head(client)
    answer = client.post("/accounts", json=BODY, headers={**auth["dora"], "Idempotency-Key": key})
    assert_problem(answer, 422, "validation")
    assert head(client) == before


def test_the_header_is_documented_on_command_endpoints_only(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = {p["name"] for p in operation.get("parameters", [])}
            is_command = "x-rules" in operation.get("responses", {}).get("409", {})
            assert ("Idempotency-Key" in names) == is_command, (method, path)
            if is_command:
                conflict = operation["responses"]["409"]
                assert "idempotency-in-progress" in conflict["x-problem-types"]
                assert "idempotency-key-reused" in operation["responses"]["422"]["description"]


def test_a_process_killed_between_commit_and_answer_is_answered_on_retry(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    api_settings: Settings,
) -> None:
    """A child API process commits the command and dies before answering; the client's retry
    with the same key (here, to this process) gets the stored answer and writes nothing."""
    token = auth["dora"]["Authorization"].removeprefix("Bearer ")
    before = head(client)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.api.idempotency_child",
            api_settings.database_url,
            token,
            "lost-answer",
            json.dumps(BODY),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == KILLED, child.stderr[-3000:]
    committed = head(client)
    assert committed > before  # the child's events are in the log ...
    retry = client.post("/accounts", json=BODY, headers=keyed(auth["dora"], "lost-answer"))
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["position"] == committed
    assert head(client) == committed  # ... once
    registered = [
        n
        for n in kam_of(client).recorder.select_notifications(start=before + 1, limit=100)
        if n.topic.endswith("KeyAccount.Registered")
    ]
    assert len(registered) == 1 and str(registered[0].originator_id) == retry.json()["id"]
