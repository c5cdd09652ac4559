"""Rebuilds every read model of the store at URL in this process, the way ``kam rebuild`` does,
and prints one JSON line: events, seconds, the position rebuilt to and peak resident memory.

    python benchmarks/rebuild_child.py postgresql://...?schema=s [--profile out.prof]

Run by ``bench_projections.py`` as a child process, so the peak RSS is the rebuild's alone.
The peak is the process's ``VmHWM``: on Linux ``ru_maxrss`` of a process started with
vfork/exec (as ``subprocess`` does) also counts the parent's peak before the exec, so with a
large parent it reports the parent's size, not the rebuild's.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def peak_rss_kb() -> int:
    """The high-water mark of this process's resident memory (``VmHWM``), in KB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--profile", help="write cProfile stats of the rebuild to this file")
    args = parser.parse_args(argv)

    from kam_api.bootstrap import open_services
    from kam_api.settings import Settings
    from kam_projections.rebuild import rebuild

    with open_services(Settings(database_url=args.url), check_people=False) as services:
        app, views = services.app, services.views
        with views.read() as tx:
            # Not the last id: rolled-back group commits leave gaps in the ids.
            table = app.recorder.events_table_name  # type: ignore[attr-defined]
            row = tx.one(f"SELECT count(*) AS n FROM {table}")
        events = row["n"] if row else 0
        before_kb = peak_rss_kb()
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu_before = time.process_time()
        started = time.perf_counter()
        position = rebuild(app, views, row_cache_size=services.settings.rebuild_row_cache_size)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_before
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        peak_kb = peak_rss_kb()
        ru_maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "events": events,
                "position": position,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "rss_before_rebuild_kb": before_kb,
                "peak_rss_kb": peak_kb,
                "ru_maxrss_kb": ru_maxrss_kb,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
