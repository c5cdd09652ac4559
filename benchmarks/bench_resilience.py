"""Recovery after a PostgreSQL restart (issue 15), on a cluster of the benchmark's own.

- recovery_after_pg_restart_s: seconds from PostgreSQL accepting connections again (after an
  outage of ``KAM_BENCH_OUTAGE_SECONDS``, default 15, during which the standalone projector
  kept failing and backing off) until a command was written through the service's pools and
  the standalone projector (``kam project``) had projected it into every read model.

Needs root and PostgreSQL's server binaries (initdb, pg_ctl): the cluster runs as ``postgres``
on a free port and is deleted afterwards; CI's server is never touched.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.pg_cluster

from tests.pg_cluster import TemporaryCluster, binaries

from kam_api.bootstrap import open_services
from kam_api.settings import Settings
from kam_domain.commands import RegisterAccount
from kam_domain.values import Envelope, ServiceProfile
from kam_projections.db import PostgresViews
from kam_projections.freshness import wait_for_position
from kam_projections.standalone import StandaloneProjector

TARGETS = {"recovery_after_pg_restart_s": ("<=", 5.0)}
OUTAGE_SECONDS = float(os.environ.get("KAM_BENCH_OUTAGE_SECONDS", "15"))
META = Envelope(actor="bench", correlation_id="bench-resilience")


def register(services: object, name: str) -> int:
    app = services.app  # type: ignore[attr-defined]
    result = app.handle(
        RegisterAccount(
            name=name,
            industry="Manufacturing",
            region="EMEA",
            service_profile=ServiceProfile.PREMIUM,
        ),
        meta=META,
    )
    return int(result.position)


def run() -> dict[str, float]:
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("needs root and PostgreSQL's initdb/pg_ctl for a cluster of its own")
    cluster = TemporaryCluster(bin_dir)
    try:
        cluster.start()
        settings = Settings(database_url=cluster.url, pg_connect_timeout=1, pg_pool_size=4)
        with open_services(settings, check_people=False) as services:
            views = services.views
            assert isinstance(views, PostgresViews)
            services.projector.setup()  # its tables exist before the first wait below
            runner = StandaloneProjector(
                services.projector,
                views,
                channel=services.app.recorder.channel_name,  # type: ignore[attr-defined]
                poll_interval=0.5,
            )
            thread = threading.Thread(target=runner.run, name="bench-projector", daemon=True)
            thread.start()
            try:
                position = register(services, "Before the outage")
                if not wait_for_position(views, position, 30):
                    raise RuntimeError("the projector did not start")
                cluster.stop()
                print(f"   PostgreSQL stopped for {OUTAGE_SECONDS:.0f} s", flush=True)
                time.sleep(OUTAGE_SECONDS)  # the outage itself: nothing to wait on
                cluster.start()
                back = time.monotonic()
                attempt = 0
                while True:
                    attempt += 1
                    try:
                        position = register(services, f"After the outage {attempt}")
                        break
                    except Exception:
                        if time.monotonic() - back > 60:
                            raise
                written = time.monotonic() - back
                if not wait_for_position(views, position, 60):
                    raise RuntimeError("the projector did not recover within 60 s")
                recovered = time.monotonic() - back
                print(f"   first write after {written:.2f} s, projected after {recovered:.2f} s")
            finally:
                runner.stop()
                thread.join(30)
        return {"recovery_after_pg_restart_s": round(recovered, 2)}
    finally:
        cluster.remove()


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name}: {value}")
