"""Idempotency keys: what a replayed command costs next to the command itself.

- idempotent_replay_vs_command: median latency of a command sent again with its
  Idempotency-Key (answered from the stored answer, nothing written) divided by the median
  latency of the original command with a fresh key (the events and the key's row written in
  one transaction), through the HTTP app in process (no network), on PostgreSQL
  (KAM_BENCH_POSTGRES_URL, default the CI server on 5432: fsync on). Each round sends an
  original and then its replay, side by side, over 40 accounts.
- idempotent_replay_vs_command_core: the same ratio for ``KamApplication.handle_once``
  alone (no HTTP), reported.
- keyed_command_vs_plain: median latency of a command with a fresh key divided by the same
  command without one: what storing the key adds to a write, reported.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from common import fresh_schema
from kam_api.auth import Role
from kam_api.main import create_app
from kam_api.settings import Settings
from kam_domain.commands import NoteCompetitor, RegisterAccount
from kam_domain.values import Envelope, ThreatLevel

TARGETS = {
    "idempotent_replay_vs_command": ("<=", 0.5),
    "idempotent_replay_vs_command_core": ("report", 0.0),
    "keyed_command_vs_plain": ("report", 0.0),
}
ROUNDS = int(os.environ.get("KAM_BENCH_IDEMPOTENCY_ROUNDS", "400"))
ACCOUNTS = 40


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _ratio(numerator: list[float], denominator: list[float]) -> float:
    return statistics.median(numerator) / statistics.median(denominator)


def run() -> dict[str, float]:
    with fresh_schema("bench_idem") as (_schema, url):
        settings = Settings(database_url=url, embedded_projector=False, pg_pool_size=4)
        app = create_app(settings)
        with TestClient(app, raise_server_exceptions=True) as client:
            kam = app.state.kam
            token = app.state.users.add("dora", Role.DIRECTOR)
            headers = {"Authorization": f"Bearer {token}"}
            meta = Envelope(actor="dora")
            accounts = [
                kam.handle(
                    RegisterAccount(name=f"Account {n}", industry="Retail", region="EMEA"),
                    meta=meta,
                ).id
                for n in range(ACCOUNTS)
            ]

            def post(n: int, key: str | None) -> Callable[[], Any]:
                sent = dict(headers) if key is None else {**headers, "Idempotency-Key": key}
                body = {"name": f"Rival {n}", "threat": "medium"}

                def call() -> None:
                    answer = client.post(
                        f"/accounts/{accounts[n % ACCOUNTS]}/competitors", json=body, headers=sent
                    )
                    assert answer.status_code == 200, answer.text

                return call

            for n in range(40):  # warm-up: connections, prepared statements, caches
                key = uuid.uuid4().hex
                post(n, key)()
                post(n, key)()
                post(n, None)()
            originals, replays, plains = [], [], []
            for n in range(ROUNDS):
                key = uuid.uuid4().hex
                originals.append(_timed(post(n, key)))
                replays.append(_timed(post(n, key)))
                plains.append(_timed(post(n, None)))
            core_originals, core_replays = [], []
            for n in range(ROUNDS):
                key = uuid.uuid4().hex
                command = NoteCompetitor(
                    account_id=accounts[n % ACCOUNTS], name=f"Core {n}", threat=ThreatLevel.LOW
                )

                def once(command: NoteCompetitor = command, key: str = key) -> None:
                    kam.handle_once(command, meta=meta, user="dora", key=key)

                core_originals.append(_timed(once))
                core_replays.append(_timed(once))
    print(
        f"   HTTP median: original {statistics.median(originals) * 1e3:.2f} ms, replay "
        f"{statistics.median(replays) * 1e3:.2f} ms, no key "
        f"{statistics.median(plains) * 1e3:.2f} ms; core: original "
        f"{statistics.median(core_originals) * 1e3:.2f} ms, replay "
        f"{statistics.median(core_replays) * 1e3:.2f} ms ({ROUNDS} rounds, {url.split('?')[0]})",
        flush=True,
    )
    return {
        "idempotent_replay_vs_command": _ratio(replays, originals),
        "idempotent_replay_vs_command_core": _ratio(core_replays, core_originals),
        "keyed_command_vs_plain": _ratio(originals, plains),
    }
