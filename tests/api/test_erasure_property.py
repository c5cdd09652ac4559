"""Erasure forgets a person: a property over generated histories, on both backends.

After random people are erased, no read path (state, as-of before the erasure, history and
its CSV, ``/events``, changes, the handover report in every format, the read models, search, a
rebuild from scratch) shows their plaintext, other people's data is intact, and no database
byte holds it (the SQLite files and WALs after a checkpoint; ``pg_dump --data-only`` on PostgreSQL).

Generated histories give the store a realistic shape; the people whose data is searched for
are added on top with a unique token in every personal field and free text (corrected titles
and contact details too), so a search for the token can only find that person's data.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.strategies import Step, apply_history, histories
from tests.support import TEST_MASTER_KEY, api_app, postgres_url_or_skip

from kam_api.auth import Role
from kam_api.bootstrap import open_services
from kam_api.settings import Settings
from kam_projections.rebuild import rebuild

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
REASON = "Erasure request under GDPR art. 17"


@contextlib.contextmanager
def fresh_store(backend: str) -> Iterator[tuple[str, Path | None, str | None]]:
    """An empty store: (database URL, SQLite directory, PostgreSQL schema)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="kam-erasure-") as directory:
            yield f"sqlite:///{directory}/kam.db", Path(directory), None
        return
    url = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}?schema={schema}", None, schema
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def erasure_settings(url: str) -> Settings:
    """The API's test settings (personal data sealed under the tests' master key)."""
    return Settings(
        database_url=url,
        embedded_projector=True,
        projector_poll_interval=0.05,
        read_wait_seconds=10,
        pg_pool_size=8,
        master_key=TEST_MASTER_KEY,
        # After the generated histories' last day (``kam_api.demo.walk.LAST_DAY``): nothing
        # they record is in the future.
        today="2028-06-15",
    )


class Person:
    """A stakeholder whose every personal field and free text carries one unique token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.id = ""
        self.account_id = ""


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _add_person(
    client: TestClient, headers: dict[str, str], account_id: str, person: Person, acts: int
) -> int:
    """Identifies the person and records ``acts`` things about them; returns the position."""
    token = person.token
    body = _ok(
        client.post(
            f"/accounts/{account_id}/stakeholders",
            json={
                "name": f"Zed {token}",
                "email": f"{token}@example.com",
                "phone": "+44 20 7946 0000",
                "personal_notes": f"Notes {token}",
                "title": f"Head of {token}",
                "buying_role": "economic_buyer",
                "influence": 4,
            },
            headers=headers,
        ),
        201,
    )
    person.id, person.account_id = str(body["id"]), account_id
    position = int(body["position"])
    base = f"/stakeholders/{person.id}"
    for n in range(acts):
        kind = n % 4
        if kind == 0:
            result = _ok(
                client.post(
                    f"{base}/interactions",
                    json={
                        "kind": "meeting",
                        "on": f"2026-03-0{1 + n % 9}",
                        "summary": f"Met {token} {n}",
                        "sentiment": 1,
                    },
                    headers=headers,
                ),
                201,
            )
        elif kind == 1:
            made = _ok(
                client.post(
                    f"{base}/commitments",
                    json={"description": f"Promise {token} {n}", "due_on": "2026-05-01"},
                    headers=headers,
                ),
                201,
            )
            result = _ok(
                client.post(
                    f"{base}/commitments/{made['entity_id']}/fulfilment",
                    json={"note": f"Kept {token} {n}", "reason": f"Done {token}"},
                    headers=headers,
                )
            )
        elif kind == 2:  # corrections: a new title, email and phone, each with its reason
            _ok(
                client.post(
                    f"{base}/title",
                    json={"title": f"Chief {token} {n}", "reason": f"Misspelt {token}"},
                    headers=headers,
                )
            )
            result = _ok(
                client.post(
                    f"{base}/contact-details",
                    json={
                        "email": f"{token}.{n}@example.org",
                        "phone": f"+44 20 7946 {n:04d}",
                        "reason": f"Moved {token}",
                    },
                    headers=headers,
                )
            )
        else:
            current = _ok(client.get(base, headers=headers))["disposition"]
            result = _ok(
                client.post(
                    f"{base}/disposition",
                    json={
                        "disposition": "supporter" if current != "supporter" else "neutral",
                        "reason": f"Because {token} {n}",
                    },
                    headers=headers,
                )
            )
        position = int(result["position"])
    return position


def _pages(client: TestClient, headers: dict[str, str], url: str, key: str, param: str) -> str:
    """Every page of a paged read, as one text; each answer must be a 200."""
    texts, cursor = [], None
    while True:
        sep = "&" if "?" in url else "?"
        page_url = url if cursor is None else f"{url}{sep}{param}={cursor}"
        response = client.get(page_url, headers=headers)
        texts.append(response.text)
        page = _ok(response)
        cursor = page.get(key)
        if cursor is None or page.get("caught_up"):
            return "\n".join(texts)


def read_everything(
    client: TestClient,
    headers: dict[str, str],
    accounts: list[str],
    people: list[Person],
    before: datetime,
    head: int,
) -> str:
    """The text of every read path over these accounts and people (all must answer 200)."""
    wait = f"min_position={head}"
    texts = [_pages(client, headers, "/events?limit=1000", "next_after", "after")]
    for person in people:
        base = f"/stakeholders/{person.id}"
        # The subject-access answer lists read-model rows: read it once they hold the log.
        as_of = f"{base}?as_of={before:%Y-%m-%dT%H:%M:%S.%fZ}"
        search = f"/search?q={person.token}&{wait}"
        for url in (base, as_of, f"{base}/personal-data?{wait}", search):
            response = client.get(url, headers=headers)
            _ok(response)
            texts.append(response.text)
    for account in accounts:
        base = f"/accounts/{account}"
        texts.append(
            _pages(client, headers, f"{base}/history?limit=100&{wait}", "next_cursor", "cursor")
        )
        for url in (
            f"{base}/stakeholders?limit=100&{wait}",
            f"{base}/handover-report?{wait}",
            f"{base}/handover-report?format=markdown&{wait}",
            f"{base}/handover-report?format=html&{wait}",
            f"{base}/changes?from=2000-01-01&{wait}",
            f"{base}/health?{wait}",
            f"{base}/history?format=csv&{wait}",
        ):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.text)
            texts.append(response.text)
    for url in (
        f"/relationship-health?{wait}",
        f"/portfolio?{wait}",
        f"/actions?{wait}",
        f"/search?q=zq&limit=500&{wait}",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)
        texts.append(response.text)
    return "\n".join(texts)


def stored_bytes(url: str, directory: Path | None, schema: str | None) -> bytes:
    """Every byte the databases hold: the SQLite files and WALs after a checkpoint, or a
    data-only dump of the PostgreSQL schema."""
    if directory is not None:
        for database in directory.glob("*.db"):
            with contextlib.closing(sqlite3.connect(database)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return b"".join(path.read_bytes() for path in sorted(directory.iterdir()) if path.is_file())
    assert schema is not None
    dump = subprocess.run(
        ["pg_dump", "--data-only", f"--schema={schema}", postgres_url_or_skip()],
        check=True,
        capture_output=True,
    )
    return dump.stdout


@pytest.mark.parametrize("backend", BACKENDS)
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories(max_accounts=2, max_steps=25), data=st.data())
def test_erased_people_are_forgotten_everywhere(
    backend: str, history: list[Step], data: st.DataObject
) -> None:
    n_people = data.draw(st.integers(1, 3), label="people")
    people = [Person(f"zq{uuid.uuid4().hex[:12]}") for _ in range(n_people)]
    acts = [data.draw(st.integers(0, 4), label="acts") for _ in people]
    erase = data.draw(
        st.lists(st.booleans(), min_size=n_people, max_size=n_people).filter(any), label="erase"
    )
    with fresh_store(backend) as (url, directory, schema):
        api_settings = erasure_settings(url)
        with TestClient(api_app(api_settings), raise_server_exceptions=False) as client:
            kam = client.app.state.kam  # type: ignore[attr-defined]
            result = apply_history(kam, history)
            users = client.app.state.users  # type: ignore[attr-defined]
            headers = {"Authorization": f"Bearer {users.add('dora', Role.DIRECTOR)}"}
            account = str(
                _ok(
                    client.post(
                        "/accounts",
                        json={"name": "Erasure Test Ltd", "industry": "Retail", "region": "EMEA"},
                        headers=headers,
                    ),
                    201,
                )["id"]
            )
            for person, count in zip(people, acts, strict=True):
                _add_person(client, headers, account, person, count)
            generated = list(result.stakeholder_ids)
            also = (
                data.draw(
                    st.lists(st.sampled_from(generated), unique=True, max_size=2),
                    label="generated erased",
                )
                if generated
                else []
            )
            before = datetime.now(UTC)
            head = 0
            for person, chosen in zip(people, erase, strict=True):
                if chosen:
                    answer = _ok(
                        client.post(
                            f"/stakeholders/{person.id}/erasure",
                            json={"reason": REASON},
                            headers=headers,
                        )
                    )
                    head = max(head, int(answer["position"]))
            for stakeholder_id in also:
                response = client.post(
                    f"/stakeholders/{stakeholder_id}/erasure",
                    json={"reason": REASON},
                    headers=headers,
                )
                # A generated history may have erased them already.
                assert response.status_code in (200, 409), response.text
                if response.status_code == 200:
                    head = max(head, int(response.json()["position"]))
            accounts = [account, *(str(a) for a in result.account_ids)]
            text = read_everything(client, headers, accounts, people, before, head)
        erased = [p for p, chosen in zip(people, erase, strict=True) if chosen]
        kept = [p for p, chosen in zip(people, erase, strict=True) if not chosen]
        for person in erased:
            assert person.token not in text
        for person in kept:
            assert f"Zed {person.token}" in text
            assert f"Met {person.token}" in text or not any(
                n % 4 == 0 for n in range(acts[people.index(person)])
            )

        # A rebuild from scratch shows them no more than the live read models did.
        with open_services(api_settings) as services:
            rebuild(services.app, services.views, clock=api_settings.clock)
        with TestClient(api_app(api_settings), raise_server_exceptions=False) as client:
            users = client.app.state.users  # type: ignore[attr-defined]
            headers = {"Authorization": f"Bearer {users.add('audrey', Role.AUDITOR)}"}
            rebuilt = read_everything(client, headers, accounts, people, before, head)
        for person in erased:
            assert person.token not in rebuilt
        for person in kept:
            assert f"Zed {person.token}" in rebuilt

        raw = stored_bytes(url, directory, schema)
        for person in erased:
            assert person.token.encode() not in raw
