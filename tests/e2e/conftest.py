"""A real service: `kam serve` (uvicorn) in a subprocess on a fresh store, plus `kam project` on
PostgreSQL, and a director token made with `kam users add`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx2 as httpx
import pytest
from tests.support import TEST_MASTER_KEY

KAM = str(Path(sys.executable).with_name("kam"))


#: The service's "today" (KAM_TODAY): the journey's dates are relative to it, never to the
#: machine's date.
TODAY = date(2026, 6, 15)


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    env: dict[str, str]
    today: date = TODAY

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def add_user(self, name: str, role: str) -> str:
        """Creates a user with `kam users add`; the token is the last line of its output."""
        done = subprocess.run(
            [KAM, "users", "add", name, "--role", role],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    marker = request.node.get_closest_marker("today")
    today: date = marker.args[0] if marker is not None else TODAY
    env = {
        **os.environ,
        "KAM_DATABASE_URL": database_url,
        "KAM_PROJECTOR_POLL_INTERVAL": "0.2",
        "KAM_PG_POOL_SIZE": "6",
        "KAM_PG_MAX_OVERFLOW": "10",
        "KAM_TODAY": today.isoformat(),
        "KAM_MASTER_KEY": TEST_MASTER_KEY,
    }
    port = free_port()
    logs = (tmp_path / "serve.log").open("w")
    processes = [
        subprocess.Popen(
            [KAM, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=logs,
            stderr=subprocess.STDOUT,
        )
    ]
    if database_url.startswith("postgresql"):
        processes.append(
            subprocess.Popen(
                [KAM, "project", "--poll-interval", "0.2"],
                env=env,
                stdout=logs,
                stderr=subprocess.STDOUT,
            )
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or processes[0].poll() is not None:
                raise RuntimeError((tmp_path / "serve.log").read_text()[-3000:])
            time.sleep(0.2)
        token = Server(url, "", env).add_user("dora", "director")
        yield Server(url, token, env, today)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()
