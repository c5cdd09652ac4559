"""The ``kam`` command line's set-up errors: one line, exit code 2, nothing created; and
``kam serve`` refusing a mistyped store, saying when it starts on an empty one, logging JSON
with the request's correlation id on every line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kam_api.auth import Role
from kam_api.bootstrap import open_services
from kam_api.cli import serve_url
from kam_api.settings import Settings
from kam_domain.commands import RegisterAccount
from kam_domain.values import Envelope

KAM = str(Path(sys.executable).with_name("kam"))
SRC = str(Path(__file__).resolve().parents[2] / "src")
ROOT = Path(__file__).resolve().parents[2]


def kam(
    database_url: str, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAM_")}
    return subprocess.run(
        [KAM, *args],
        env={**clean, "PYTHONPATH": SRC, "KAM_DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def user_error(done: subprocess.CompletedProcess[str]) -> str:
    """The one line of a user's mistake: exit code 2, no traceback."""
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kam: "), done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:/nonsense", "sqlite:///nonsense"),
        ("sqlite:nonsense", "looks mistyped"),
        ("sqlite://var/kam.db", "sqlite:///var/kam.db"),
        ("postgress://localhost/kam", "did you mean postgres://"),
        ("postgresql://u:secret@localhost:port/kam", "port"),
        ("./var/kam.db", "sqlite:///./var/kam.db"),
    ],
)
def test_a_mistyped_database_url_is_one_line_and_creates_nothing(
    tmp_path: Path, url: str, says: str
) -> None:
    # Given a mistyped KAM_DATABASE_URL, when `kam status` runs
    done = kam(url, "status", cwd=tmp_path)

    # Then it says what to write in one line, exits 2, and no store appeared
    line = user_error(done)
    assert says in line
    assert "secret" not in line
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_postgresql_is_one_line(tmp_path: Path) -> None:
    # Given a PostgreSQL URL on a port nothing listens on, when `kam status` runs
    done = kam("postgresql://postgres@127.0.0.1:1/kam", "status", KAM_PG_CONNECT_TIMEOUT="1")

    # Then it names where it looked, in one line
    assert "cannot reach PostgreSQL at 127.0.0.1:1/kam" in user_error(done)


def test_a_store_in_a_missing_folder_is_refused_not_created(tmp_path: Path) -> None:
    # Given a SQLite URL whose folder does not exist
    url = f"sqlite:///{tmp_path}/typo/kam.db"

    # When `kam serve` or `kam status` starts on it
    for command in (["serve", "--port", "1"], ["status"]):
        line = user_error(kam(url, *command))
        # Then each refuses, naming the folder, and creates nothing
        assert f"the folder {tmp_path}/typo" in line
    assert not (tmp_path / "typo").exists()


def test_the_default_stores_folder_is_made_when_missing(tmp_path: Path) -> None:
    # Given no ./var yet, when `kam status` runs on the default URL (nobody typed it)
    done = kam("sqlite:///./var/kam.db", "status", cwd=tmp_path)

    # Then the store is made there, as before
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "var" / "kam.db").exists()


def test_a_mistyped_url_keeps_kam_serve_from_starting(tmp_path: Path) -> None:
    done = kam("sqlite:/kam.db", "serve", "--port", "1", cwd=tmp_path)
    assert "sqlite:///kam.db" in user_error(done)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_output_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    # Given a store, when a report is asked into a folder that is not there
    url = f"sqlite:///{tmp_path}/kam.db"
    done = kam(url, "handover-report", "Acme", "-o", str(tmp_path / "missing" / "x.html"))

    # Then one line names the folder, and the store was not even opened
    assert f"the folder {tmp_path}/missing does not exist" in user_error(done)
    assert not (tmp_path / "kam.db").exists()
    checkpoint = kam(url, "checkpoint", "-o", str(tmp_path / "missing" / "c.txt"))
    assert "--output" in user_error(checkpoint)


def test_an_unknown_account_suggests_the_closest_names(database_url: str) -> None:
    # Given a store with two accounts
    with open_services(Settings(database_url=database_url)) as services:
        for name in ("Kestrel Logistics", "Acme Industrial"):
            services.app.handle(
                RegisterAccount(name=name, industry="Retail", region="EMEA"),
                meta=Envelope(actor="dora"),
            )

    # When the report of a misspelt account is asked
    done = kam(database_url, "handover-report", "Kestral Logistic")

    # Then one line says there is none and suggests the close one, not the other
    line = user_error(done)
    assert "no account named 'Kestral Logistic'" in line
    assert "did you mean 'Kestrel Logistics'?" in line
    assert "Acme" not in line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_kam_serve_says_it_starts_on_an_empty_store_and_logs_json_with_correlation_ids(
    tmp_path: Path,
) -> None:
    # Given a new store with an admin, and the service started with JSON logs
    url = f"sqlite:///{tmp_path}/kam.db"
    with open_services(Settings(database_url=url)) as services:
        token = services.users.add("root", Role.ADMIN)
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAM_")}
    env = {**clean, "PYTHONPATH": SRC, "KAM_DATABASE_URL": url, "KAM_LOG_FORMAT": "json"}
    server = subprocess.Popen(
        [KAM, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:  # refused, reset, or a read timed out while it starts
                pass
            assert server.poll() is None and time.monotonic() < deadline, "no service"
            time.sleep(0.2)

        # When a client registers an account under its correlation id
        request = urllib.request.Request(
            f"{base}/accounts",
            data=json.dumps({"name": "Globex", "industry": "Energy", "region": "EMEA"}).encode(),
            headers={
                "Authorization": f"Bearer {token}",
                "X-Correlation-ID": "corr-42",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 201
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)

    # Then the banner says the store is empty and where the service is
    assert "starting on an EMPTY store" in err
    assert f"KAM Ledger on http://127.0.0.1:{port} (docs at http://127.0.0.1:{port}/docs)" in out
    # and every log line is JSON; the request's lines (the command, the access log) carry its id
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert logs and all({"time", "level", "logger", "message"} <= set(line) for line in logs)
    lines = [line for line in logs if line["correlation_id"] == "corr-42"]
    assert {line["logger"] for line in lines} == {"kam.commands", "uvicorn.access"}, logs
    access = [line for line in logs if line["logger"] == "uvicorn.access"]
    assert all(line["correlation_id"] != "-" for line in access)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("0.0.0.0", "http://127.0.0.1:8000"),
        ("::", "http://[::1]:8000"),
        ("kam.internal", "http://kam.internal:8000"),
    ],
)
def test_the_url_printed_is_the_one_to_open(host: str, url: str) -> None:
    assert serve_url(host, 8000) == url


def test_make_run_serves_and_prints_on_the_host_and_port_given() -> None:
    # Given HOST and PORT, when `make run` is planned (not run)
    done = subprocess.run(
        ["make", "-n", "run", "HOST=0.0.0.0", "PORT=9137"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr

    # Then the first user's message and the service both use them
    lines = done.stdout.splitlines()
    assert any("kam users bootstrap --host 0.0.0.0 --port 9137" in line for line in lines)
    assert any("kam serve --host 0.0.0.0 --port 9137" in line for line in lines)
