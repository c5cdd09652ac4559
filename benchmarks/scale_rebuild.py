"""How a rebuild's cost grows with the log (``make bench-scale``; not part of ``make bench``).

One log is written through the application with 16 threads (the workload of
``bench_projections``: the shared history generator's stories of ~500 accounts), first up to
``KAM_BENCH_SCALE_SMALL`` events (default 100,000), when every read model is rebuilt in a child
process as ``kam rebuild`` does; then on, up to ``KAM_BENCH_SCALE_LARGE`` (default 1,000,000),
and rebuilt again.

- rebuild_1m_vs_100k_per_event: seconds per event of the large rebuild divided by seconds per
  event of the small one (flat cost: 1.0).
- rebuild_1m_peak_rss_mb: the large rebuild's peak resident memory (``VmHWM`` of its process,
  which is the whole rebuild: it runs in one process).

Writing a million events takes most of the time: about 750 commands/s through the
application on an idle 2-core machine (measured 2026-12-02), so over 20 minutes, and each
rebuild a few minutes more.
"""

from __future__ import annotations

import os

from bench_projections import (
    STORE_TODAY,
    Progress,
    build_log,
    count_events,
    rebuild_in_child,
    write_until,
)
from common import fresh_schema
from kam_api.bootstrap import open_services
from kam_api.settings import Settings

TARGETS = {
    "rebuild_1m_vs_100k_per_event": ("<=", 1.2),
    "rebuild_1m_peak_rss_mb": ("<=", 300.0),
}
SMALL = int(os.environ.get("KAM_BENCH_SCALE_SMALL", "100000"))
LARGE = int(os.environ.get("KAM_BENCH_SCALE_LARGE", "1000000"))


def rebuilt(url: str, label: str) -> tuple[float, float]:
    """Rebuilds in a child process; returns seconds per event and peak RSS in MB."""
    report = rebuild_in_child(url)
    per_event = report["seconds"] / report["events"]
    peak_mb = report["peak_rss_kb"] / 1024
    print(
        f"   {label}: rebuilt {report['events']:,} events in {report['seconds']:.1f} s "
        f"({report['cpu_seconds']:.1f} s CPU, {1 / per_event:,.0f} events/s), peak RSS "
        f"{peak_mb:.0f} MB",
        flush=True,
    )
    return per_event, peak_mb


def run() -> dict[str, float]:
    with (
        fresh_schema("scale") as (schema, url),
        open_services(
            Settings(database_url=url, today=STORE_TODAY), check_people=False
        ) as services,
    ):
        writers, _ = build_log(services.app, schema, SMALL)
        small, _ = rebuilt(url, f"{SMALL:,} events")

        progress = Progress("grow", LARGE)
        progress.position = count_events(schema)
        progress.thread.start()
        try:
            while (stored := count_events(schema)) < LARGE:
                write_until(writers, progress.position + LARGE - stored, progress)
        finally:
            progress.stop.set()
        large, peak = rebuilt(url, f"{LARGE:,} events")
    return {"rebuild_1m_vs_100k_per_event": large / small, "rebuild_1m_peak_rss_mb": peak}
