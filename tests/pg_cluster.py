"""A PostgreSQL cluster of a test's own, on a free port, that the test may stop and start
(never CI's server on 5432), or a streaming replica of one (``pg_basebackup -R``). Needs root
(to run the server as ``postgres``) and ``initdb``."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

#: Under CI the outage tests must run, not skip.
IN_CI = os.environ.get("CI", "") == "true"


def binaries() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``, or None where this machine cannot run a
    cluster of its own (not root, no server installed)."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def required_binaries() -> Path:
    """``binaries()``, or the test skips (fails under CI: there it must run)."""
    bin_dir = binaries()
    if bin_dir is None:
        reason = "needs root and PostgreSQL's initdb to run a cluster of its own"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return bin_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TemporaryCluster:
    """initdb'd in a fresh folder owned by ``postgres`` (or, with ``primary``, a hot standby
    streaming from that running cluster); ``stop()``/``start()`` at will. ``settings``: extra
    server settings (``name=value``) it starts with."""

    def __init__(
        self,
        bin_dir: Path,
        *,
        settings: Sequence[str] = (),
        primary: TemporaryCluster | None = None,
    ) -> None:
        self.bin_dir = bin_dir
        self.settings = tuple(settings)
        self.root = Path(tempfile.mkdtemp(prefix="kam-pg-"))
        shutil.chown(self.root, "postgres")
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        if primary is None:
            self._as_postgres(
                str(bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                "-N",
            )  # fmt: skip
        else:
            # -R writes standby.signal and primary_conninfo: it starts as a streaming replica.
            self._as_postgres(
                str(bin_dir / "pg_basebackup"), "-D", str(self.data), "-R", "-X", "stream",
                "-c", "fast", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            )  # fmt: skip

    def url_of(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        return self.url_of("postgres")

    def start(self) -> None:
        # fsync off: a throwaway cluster; the socket in /tmp is named by the port.
        options = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off"
        options += "".join(f" -c {setting}" for setting in self.settings)
        self._pg_ctl("start", "-w", "-o", options, "-l", str(self.log))

    def stop(self) -> None:
        self._pg_ctl("stop", "-w", "-m", "fast")

    def remove(self) -> None:
        """Stops the server (if it runs) and deletes the cluster."""
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin_dir / "pg_ctl"), "-D",
             str(self.data), "stop", "-m", "immediate"],
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        self._as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args)

    def _as_postgres(self, *command: str) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
        )
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{command[0]} failed: {done.stderr or done.stdout}\n{log}")
