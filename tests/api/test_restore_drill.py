"""Issue 15 part 7, the restore drill the README's operations section describes: a store with
a history, read models and a signed checkpoint is dumped with ``pg_dump --format=custom``,
restored with ``pg_restore`` into a new database, and there ``kam verify`` checks the whole
hash chain, the stored checkpoints and the one handed out before the dump; ``kam rebuild``
gives read models equal to the original's, and the restored store takes new writes whose
chain still verifies. Runs on a cluster of the test's own (never CI's server), with the
server's own pg_dump and pg_restore."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import psycopg
import pytest
from tests.pg_cluster import TemporaryCluster, required_binaries
from tests.projections.test_projector import snapshot
from tests.support import TEST_MASTER_KEY
from typer.testing import CliRunner

from kam_api.bootstrap import open_services
from kam_api.cli import cli
from kam_api.settings import Settings
from kam_domain.commands import RegisterAccount
from kam_domain.values import Envelope
from kam_store.checkpoint import SigningKey

TODAY = date(2026, 6, 30)
KEY = SigningKey.generate("kam-ledger.dev/log")


def environment(url: str) -> dict[str, str]:
    """The ``KAM_*`` settings of the drill's commands, on the database at ``url``."""
    return {
        "KAM_DATABASE_URL": url,
        "KAM_MASTER_KEY": TEST_MASTER_KEY,
        "KAM_LEDGER_KEY": KEY.to_base64(),
        "KAM_TODAY": TODAY.isoformat(),
    }


def kam(url: str, *args: str) -> str:
    """Runs ``kam <args>`` on the database at ``url``; its output (it must succeed)."""
    result = CliRunner().invoke(cli, list(args), env=environment(url))
    assert result.exit_code == 0, result.output
    return result.output


def run(*command: str | Path) -> None:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr or done.stdout


@pytest.mark.postgres
def test_a_dump_restored_into_a_new_database_verifies_and_rebuilds_the_same_read_models(
    tmp_path: Path,
) -> None:
    bin_dir = required_binaries()
    cluster = TemporaryCluster(bin_dir)
    try:
        cluster.start()
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE kam")
            conn.execute("CREATE DATABASE kam_restored")
        source, restored = cluster.url_of("kam"), cluster.url_of("kam_restored")

        kam(source, "demo", "--accounts", "3", "--seed", "11")
        settings = Settings(
            **{k.removeprefix("KAM_").lower(): v for k, v in environment(source).items()}
        )
        with open_services(settings) as services:
            services.projector.setup()
            services.projector.catch_up()  # the read models as the projector made them
            original = snapshot(services.views)
            head = services.app.recorder.max_notification_id() or 0
        assert head > 100 and original["rm_portfolio"]
        checkpoint = tmp_path / "checkpoint.txt"
        kam(source, "checkpoint", "--output", str(checkpoint))  # handed out before the dump

        dump = tmp_path / "kam.dump"
        run(bin_dir / "pg_dump", "--format=custom", "--file", dump, "--dbname", source)
        run(bin_dir / "pg_restore", "--exit-on-error", "--dbname", restored, dump)

        before = kam(source, "verify").splitlines()[-2]
        assert before.startswith("verified ") and before.endswith(f"up to position {head}")
        verified = kam(restored, "verify", "--checkpoint", str(checkpoint)).splitlines()
        assert verified[-3:] == [
            before,
            "1 stored checkpoints checked",
            f"checkpoint of {before.split()[1]} entries (position {head}) checked",
        ]

        assert f"to position {head}" in kam(restored, "rebuild")
        restored_settings = settings.model_copy(update={"database_url": restored})
        with open_services(restored_settings) as services:
            assert snapshot(services.views) == original
            # The restored store goes on: its positions continue the original's.
            written = services.app.handle(
                RegisterAccount(name="After the restore", industry="x", region="y"),
                meta=Envelope(actor="drill"),
            )
        assert written.position > head
        after = kam(restored, "verify").splitlines()
        entries = int(before.split()[1]) + written.position - head  # the new events
        assert after[-2] == f"verified {entries} entries up to position {written.position}"
    finally:
        cluster.remove()
