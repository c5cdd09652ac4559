"""Issue 15 part 5: docker-compose.yml runs two API replicas behind a load balancer and two
standalone projectors (one active, one standing by on the advisory lock). Docker cannot run
here: these check the file's structure, that the load balancer's configuration names the
replicas as the compose file does (and parses, where HAProxy is installed), and that the
replicas fit PostgreSQL's connections."""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from kam_api.cli import cli
from kam_api.settings import Settings
from kam_projections.db import PostgresViews

ROOT = Path(__file__).resolve().parents[2]

#: PostgreSQL's default max_connections less its superuser_reserved_connections.
CONNECTIONS = 100 - 3

#: Connections a process opens besides its pools: the projector's lock-and-LISTEN (or the
#: webhook deliverer's LISTEN) connection, the set-up and rebuild locks taken at start-up and
#: the ledger verifier's.
DEDICATED_CONNECTIONS = 3


def services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(compose, dict)
    found: dict[str, Any] = compose["services"]
    return found


def replicas(service: dict[str, Any]) -> int:
    return int(service.get("deploy", {}).get("replicas", 1))


def haproxy_config() -> tuple[Path, str]:
    (mount,) = services()["lb"]["volumes"]
    source, target, *_ = mount.split(":")
    assert target == "/usr/local/etc/haproxy/haproxy.cfg"  # where the image reads it
    path = (ROOT / source).resolve()
    return path, path.read_text()


def test_two_api_replicas_serve_only_through_the_load_balancer() -> None:
    found = services()
    api, lb = found["api"], found["lb"]
    assert replicas(api) >= 2
    assert "ports" not in api  # two replicas cannot publish one host port
    assert api["expose"] == ["8000"] and api["command"][-2:] == ["--port", "8000"]
    assert lb["image"].startswith("haproxy:")
    assert lb["ports"] == ["8000:8000"]
    assert "api" in lb["depends_on"]


def test_the_load_balancer_finds_every_replica_and_checks_readiness() -> None:
    _, config = haproxy_config()
    assert re.search(r"^\s*bind :8000$", config, re.M)
    template = re.search(r"^\s*server-template api (\d+) api:8000$", config, re.M)
    assert template and int(template.group(1)) >= replicas(services()["api"])
    assert re.search(r"nameserver \w+ 127\.0\.0\.11:53", config)  # Docker's DNS
    assert re.search(r"default-server .*\bresolvers docker\b.*\binit-addr none\b", config)
    assert "option httpchk GET /readyz" in config
    assert "http-check expect status 200" in config


def test_the_load_balancer_config_parses() -> None:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        if os.environ.get("CI") == "true":  # .ci/run installs it: under CI the check runs
            pytest.fail("HAProxy is not installed (apt-get install haproxy)")
        pytest.skip("HAProxy is not installed (apt-get install haproxy)")
    path, _ = haproxy_config()
    done = subprocess.run(
        [haproxy, "-c", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr or done.stdout


def test_two_standalone_projectors_one_active_one_standing_by() -> None:
    projector = services()["projector"]
    assert replicas(projector) >= 2
    assert projector["command"] == ["kam", "project"]
    assert "project" in get_command(cli).commands  # type: ignore[attr-defined]
    assert "embedded" not in " ".join(projector["command"])


def test_the_replicas_fit_postgresql_s_connections() -> None:
    views_pool = inspect.signature(PostgresViews).parameters["pool_size"].default
    used = 0
    for service in services().values():
        env = service.get("environment", {})
        if service.get("command", [""])[0] != "kam" or "KAM_DATABASE_URL" not in env:
            continue
        pool = sum(
            int(env.get(f"KAM_{name.upper()}", Settings.model_fields[name].default))
            for name in ("pg_pool_size", "pg_max_overflow")
        )
        used += replicas(service) * (pool + views_pool + DEDICATED_CONNECTIONS)
    assert 0 < used <= CONNECTIONS
