"""Read models on PostgreSQL: rebuild throughput against raw batched inserts and against one
transaction per event, the rebuild's peak memory, and projection lag under write load.

One log of ``KAM_BENCH_EVENTS`` events (default 100,000) is written first, through the
application service with 16 threads, each telling the stories of its own ~32 accounts (~500 in
all) with the shared history generator (``kam_api.demo``), and is reused by every figure:

- rebuild_vs_raw_batched: events/s of ``kam_projections.rebuild.rebuild`` (all five read models,
  the whole log, run as ``kam rebuild`` would be, in a child process) divided by rows/s of raw
  psycopg ``executemany`` inserts of as many timeline-shaped rows (12 columns, an ~80-character
  summary) in one transaction per 1,000 rows, into a table in the same schema, measured just
  before and just after each rebuild (geometric mean). Rounds: ``KAM_BENCH_ROUNDS``, default 2;
  the figure is the median of the per-round ratios.
- rebuild_vs_per_event_txn: the same rebuild rate divided by the events/s of a ``Projector``
  with ``batch_size=1`` (one transaction per event) over fresh read-model tables in a second
  schema, timed over the first ``KAM_BENCH_PER_EVENT`` events of the log (default 2,000), once
  per round.
- rebuild_peak_rss_mb: the largest peak RSS of the rebuild child processes, in MB.
- projector_vs_write_16: events/s applied by ``kam project`` (a child process, as deployed)
  catching up the whole log into empty read models, divided by the commands/s the 16 writer
  threads achieved while writing that log through the application. The projector's rate is
  taken from its first position past zero to the head (its start-up not counted), polled every
  50 ms from ``rm_tracking``.
- projection_lag_p99_ms: 16 writer threads issue commands for ``KAM_BENCH_LAG_SECONDS``
  (default 5) while a ``StandaloneProjector`` (LISTEN/NOTIFY) runs in a thread; a watcher polls
  ``MIN(position)`` of ``rm_tracking`` every ~2 ms and records, per command, the time from the
  use case returning its ``CommandResult`` to every read model having passed its position.
  ``KAM_BENCH_LAG_PROJECTOR=process`` runs ``kam project`` in a child process instead, as
  deployed (the thread shares the GIL with the 16 writers).
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from common import POSTGRES_URL, fresh_schema
from kam_api.bootstrap import open_services
from kam_api.demo import PortfolioStory, Runner, demo_account_names
from kam_api.demo.story import occurred
from kam_api.settings import Settings
from kam_domain.application import CommandResult, KamApplication
from kam_projections.db import PostgresViews
from kam_projections.freshness import wait_for_position
from kam_projections.projector import Projector
from kam_projections.standalone import StandaloneProjector

TARGETS = {
    "projector_vs_write_16": (">=", 2.0),
    "rebuild_vs_raw_batched": (">=", 0.25),
    "rebuild_vs_per_event_txn": (">=", 10.0),
    "rebuild_peak_rss_mb": ("<=", 300.0),
    "projection_lag_p99_ms": ("report", 0.0),
}
THREADS = 16
EVENTS = int(os.environ.get("KAM_BENCH_EVENTS", "100000"))
ROUNDS = int(os.environ.get("KAM_BENCH_ROUNDS", "2"))
PER_EVENT = int(os.environ.get("KAM_BENCH_PER_EVENT", "2000"))
LAG_SECONDS = float(os.environ.get("KAM_BENCH_LAG_SECONDS", "5"))
#: Where the projector runs in the lag run: "thread" (default) or "process" (``kam project``).
LAG_PROJECTOR = os.environ.get("KAM_BENCH_LAG_PROJECTOR", "thread")
RAW_BATCH = 1000
CHILD = Path(__file__).resolve().parent / "rebuild_child.py"
TODAY = date.today()
#: The story runs past today, so its commands are dated ahead of the real date: the store that
#: records them is told "today" is beyond the story's end (the bound on future dates). The
#: stories of 512 accounts make about 38,000 events a year of story time (measured: ~75 per
#: account-year), so a million events take ~26 years; 60 leave room for 2,000,000.
STORE_TODAY = TODAY + timedelta(days=366 * 60)
#: Steps in a row a writer may take without storing an event before it gives up: a story that
#: has run past ``STORE_TODAY`` is refused step after step, and would otherwise spin for ever.
BARREN_STEPS = 2000

# --- A realistic workload --------------------------------------------------------------------


class Writer:
    """One thread's share of the workload: the stories of its own accounts, told by the shared
    history generator (``kam_api.demo``) from two years ago on and past today, so commands
    seldom conflict (only classification touches shared aggregates, the tier rosters)."""

    def __init__(self, app: KamApplication, index: int, accounts: int) -> None:
        seed = 1000 + index
        story = PortfolioStory(
            demo_account_names(accounts, seed),
            seed=seed,
            starts_on=TODAY - timedelta(days=730),
            today=TODAY,
        )
        self.steps = story.steps()  # endless: the accounts' lives go on
        self.runner = Runner(app, name_suffix=f"#{index:02d}", conflict_retries=10)
        self.barren = 0

    @property
    def refused(self) -> int:
        return self.runner.result().refused

    @property
    def conflicts(self) -> int:
        return self.runner.conflicts

    def step(self) -> CommandResult | None:
        """Runs the next step of the thread's accounts, as an API request would (with a
        correlation id)."""
        step = next(self.steps)
        meta = dataclasses.replace(step.meta, correlation_id=uuid.uuid4().hex)
        result = self.runner.run(dataclasses.replace(step, meta=meta))
        self.barren = 0 if result is not None else self.barren + 1
        if self.barren >= BARREN_STEPS:
            raise RuntimeError(
                f"{BARREN_STEPS} steps in a row stored nothing (last: {self.runner.outcomes[-1]} "
                f"on {occurred(step):%Y-%m-%d}; the store's today is {STORE_TODAY}): the story "
                "has outrun the store"
            )
        return result


class Progress:
    """Prints the log's growth every few seconds while the workload runs."""

    def __init__(self, label: str, target: int | None) -> None:
        self.label = label
        self.target = target
        self.position = 0
        self.commands = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = last_t = time.perf_counter()
        last = 0
        while not self.stop.wait(5.0):
            now, position = time.perf_counter(), self.position
            of = f"/{self.target:,}" if self.target else ""
            rate = (position - last) / (now - last_t)
            print(
                f"   {self.label}: {position:,}{of} events, {rate:,.0f}/s now, "
                f"{position / (now - started):,.0f}/s overall",
                flush=True,
            )
            last, last_t = position, now


def count_events(schema: str) -> int:
    """Events stored (not the last id: rolled-back group commits leave gaps in the ids)."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{schema}".kam_events').fetchone()
    return int(row[0]) if row else 0


def write_until(writers: list[Writer], target: int, progress: Progress) -> None:
    """Runs every writer on its own thread until a command's position reaches ``target``."""
    done = threading.Event()
    errors: list[BaseException] = []

    def note(result: CommandResult | None) -> None:
        if result is not None:
            progress.commands += 1  # a lost update now and then: a progress figure
            progress.position = max(progress.position, result.position)
            if result.position >= target:
                done.set()

    def work(writer: Writer) -> None:
        try:
            while not done.is_set():
                note(writer.step())
        except BaseException as error:  # re-raised below
            errors.append(error)
            done.set()

    pool = [threading.Thread(target=work, args=(w,)) for w in writers]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]


def build_log(app: KamApplication, schema: str, events: int) -> tuple[list[Writer], float]:
    """Writes ``events`` events (a few more) with 16 threads; returns the writers (reused
    by the lag run, so it continues the same accounts, plans and stakeholders) and the
    commands/s they achieved."""
    accounts = max(THREADS, min(512, events // 100))
    writers = [
        Writer(app, i, accounts // THREADS + (1 if i < accounts % THREADS else 0))
        for i in range(THREADS)
    ]
    progress = Progress("build", events)
    started = time.perf_counter()
    progress.thread.start()
    try:
        write_until(writers, events, progress)
        stored = count_events(schema)
        while stored < events:
            # Ids have gaps (a group commit that conflicted is redone under new ids): top up.
            write_until(writers, progress.position + events - stored, progress)
            stored = count_events(schema)
    finally:
        progress.stop.set()
    seconds = time.perf_counter() - started
    print(
        f"   built {stored:,} events (last id {progress.position:,}; {accounts} accounts) in "
        f"{seconds:.1f} s ({stored / seconds:,.0f} events/s, "
        f"{progress.commands / seconds:,.0f} commands/s); conflicts retried "
        f"{sum(w.conflicts for w in writers)}, refused {sum(w.refused for w in writers)}",
        flush=True,
    )
    return writers, progress.commands / seconds


def catch_up_rate(url: str, schema: str) -> tuple[float, int]:
    """Events/s of ``kam project`` (a child process) catching up the whole log into empty
    read models, from its first tracked position past zero to the head; and the events."""
    head = count_events(schema)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        last = conn.execute(f'SELECT max(notification_id) FROM "{schema}".kam_events').fetchone()
    last_id = int(last[0]) if last and last[0] is not None else 0
    kam = Path(sys.executable).with_name("kam")
    child = subprocess.Popen(
        [str(kam), "project", "--poll-interval", "2"],
        env={**os.environ, "KAM_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sql = f'SELECT MIN(position) FROM "{schema}".rm_tracking'
    first: tuple[float, int] | None = None
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            deadline = time.monotonic() + 3600
            while time.monotonic() < deadline:
                if child.poll() is not None:
                    raise RuntimeError(f"kam project stopped:\n{child.stderr.read()}")  # type: ignore[union-attr]
                try:
                    row = conn.execute(sql).fetchone()
                except psycopg.errors.UndefinedTable:
                    row = None  # not set up yet
                now = time.perf_counter()
                position = int(row[0]) if row and row[0] is not None else 0
                if position > 0 and first is None:
                    first = (now, position)
                if position >= last_id:
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("kam project did not catch up within an hour")
    finally:
        child.terminate()
        child.wait(30)
    assert first is not None
    seconds = now - first[0]
    # Events (not ids) between the two positions: ids have gaps.
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        row = conn.execute(
            f'SELECT count(*) FROM "{schema}".kam_events WHERE notification_id > %s', (first[1],)
        ).fetchone()
    events = int(row[0]) if row else head
    return events / seconds, events


# --- Baselines ---------------------------------------------------------------------------------

SUMMARIES = [
    "Quarterly business review with procurement on renewal terms and volume commitments",
    "Call with the CIO about the migration roadmap and the pilot in the Hamburg plant",
    "Lunch with the new head of supply chain; interested in the forecasting module",
    "Email exchange on the delayed invoice and the credit note for the March shipment",
    "Workshop on the joint innovation programme; three use cases shortlisted for Q3",
]


def timeline_rows(count: int) -> list[tuple[Any, ...]]:
    """Rows shaped like ``rm_timeline``'s: 12 columns, an ~80-character summary."""
    rng = random.Random(7)
    accounts = [str(uuid.uuid4()) for _ in range(500)]
    base = datetime(2026, 1, 1, 9, 0)
    rows = []
    for i in range(1, count + 1):
        at = (base + timedelta(seconds=i)).isoformat()
        rows.append(
            (
                i,
                rng.choice(accounts),
                str(uuid.uuid4()),
                "AccountPlan",
                rng.randint(1, 200),
                "ActionRescheduled",
                "kam3@example.com",
                at,
                at,
                "customer asked to move it" if i % 5 == 0 else None,
                uuid.uuid4().hex,
                rng.choice(SUMMARIES)[:80],
            )
        )
    return rows


def raw_batched_rate(schema: str, rows: list[tuple[Any, ...]]) -> float:
    """Rows/s of executemany inserts, one transaction per ``RAW_BATCH`` rows."""
    table = f'"{schema}".raw_timeline'
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(
            f"CREATE TABLE {table} (position BIGINT PRIMARY KEY, account_id TEXT NOT NULL, "
            "aggregate_id TEXT NOT NULL, aggregate_type TEXT NOT NULL, "
            "aggregate_version INTEGER NOT NULL, event_type TEXT NOT NULL, actor TEXT NOT NULL, "
            "recorded_at TEXT NOT NULL, occurred_at TEXT NOT NULL, reason TEXT, "
            "correlation_id TEXT, summary TEXT NOT NULL)"
        )
        sql = f"INSERT INTO {table} VALUES ({', '.join(['%s'] * 12)})"
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for i in range(0, len(rows), RAW_BATCH):
                with conn.transaction():
                    cursor.executemany(sql, rows[i : i + RAW_BATCH])
        seconds = time.perf_counter() - started
        conn.execute(f"DROP TABLE {table}")
    return len(rows) / seconds


def rebuild_in_child(url: str) -> dict[str, Any]:
    """Runs ``rebuild_child.py`` and returns what it printed (events, seconds, peak RSS)."""
    done = subprocess.run(
        [sys.executable, str(CHILD), url], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"rebuild child failed:\n{done.stdout}\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def per_event_rate(app: KamApplication, count: int) -> tuple[float, int]:
    """Events/s of a projector committing one transaction per event, over the log's first
    ``count`` events, into fresh read-model tables in a schema of their own."""
    with (
        fresh_schema("bench_pe") as (schema, url),
        open_services(
            Settings(database_url=url, today=STORE_TODAY), check_people=False
        ) as services,
    ):
        views = services.views
        assert isinstance(views, PostgresViews) and views.schema == schema
        projector = Projector(app, views, batch_size=1)
        projector.setup()
        processed = 0
        started = time.perf_counter()
        while processed < count:
            n = projector.run_once()
            if n == 0:
                break
            processed += n
        seconds = time.perf_counter() - started
    return processed / seconds, processed


# --- Projection lag ------------------------------------------------------------------------------


@contextmanager
def running_projector(url: str, mode: str) -> Iterator[Callable[[], int | None]]:
    """A standalone projector over the store at ``url``, caught up and past its first idle pass
    (when it re-scores health for the day) before this yields a function giving the number of
    events it processed (None in a child process).

    ``thread``: ``StandaloneProjector`` on a thread of this process (it shares the GIL with the
    writers); ``process``: ``kam project`` in a child process, as deployed.
    """
    settings = Settings(database_url=url, today=STORE_TODAY)
    with open_services(settings, check_people=False) as services:
        views = services.views
        assert isinstance(views, PostgresViews)
        with open_services(settings, check_people=False) as at_start:
            head = at_start.app.recorder.max_notification_id() or 0
        if mode == "process":
            kam = Path(sys.executable).with_name("kam")
            child = subprocess.Popen(
                [str(kam), "project", "--poll-interval", "2"],
                env={**os.environ, "KAM_DATABASE_URL": url},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                if not wait_for_position(views, head, 120):
                    raise RuntimeError("kam project did not catch up before the lag run")
                time.sleep(3.0)  # its first idle pass re-scores health for the day
                yield lambda: None
            finally:
                child.terminate()
                child.wait(30)
            return
        with open_services(settings, check_people=False) as projecting:
            projector_app = projecting.app
            runner = StandaloneProjector(
                Projector(projector_app, views),
                views,
                channel=projector_app.recorder.channel_name,  # type: ignore[attr-defined]
                poll_interval=2.0,
            )
            thread = threading.Thread(target=runner.run, name="bench-projector", daemon=True)
            thread.start()
            try:
                if not runner.active.wait(30) or not runner.projector.wait(head, 120):
                    raise RuntimeError(
                        "the standalone projector did not catch up before the lag run"
                    )
                deadline = time.monotonic() + 60
                while runner.projector._refreshed_on is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                yield lambda: runner.processed
            finally:
                runner.stop()
                thread.join(30)


def projection_lag(
    url: str, schema: str, writers: list[Writer], mode: str
) -> tuple[list[float], float]:
    """Per-command lag (seconds) from commit to visible in every read model; and commands/s."""
    with running_projector(url, mode) as processed:
        pending: list[tuple[int, float]] = []  # (position, committed at), a heap
        lock = threading.Lock()
        lags: list[float] = []
        writing = threading.Event()
        writing.set()

        def watch() -> None:
            sql = f'SELECT MIN(position) FROM "{schema}".rm_tracking'
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                deadline = None
                while True:
                    row = conn.execute(sql, prepare=True).fetchone()
                    seen_at = time.perf_counter()
                    visible = row[0] if row and row[0] is not None else 0
                    with lock:
                        while pending and pending[0][0] <= visible:
                            lags.append(seen_at - heapq.heappop(pending)[1])
                        left = len(pending)
                    if not writing.is_set():
                        if not left:
                            return
                        deadline = deadline or seen_at + 60
                        if seen_at > deadline:
                            print(f"   watcher gave up with {left} pending", flush=True)
                            return
                    time.sleep(0.002)

        def write(writer: Writer) -> None:
            while writing.is_set():
                result = writer.step()
                if result is not None and result.position:
                    committed = time.perf_counter()
                    with lock:
                        heapq.heappush(pending, (result.position, committed))

        before = processed()
        watcher = threading.Thread(target=watch, name="bench-watcher", daemon=True)
        watcher.start()
        pool = [threading.Thread(target=write, args=(w,)) for w in writers]
        started = time.perf_counter()
        for t in pool:
            t.start()
        time.sleep(LAG_SECONDS)
        writing.clear()
        for t in pool:
            t.join()
        wrote = time.perf_counter() - started
        watcher.join(90)
        after = processed()
        projected = (
            f", projector processed {after - before:,} events"
            if after is not None and before is not None
            else ""
        )
        print(
            f"   lag run ({mode}): {len(lags):,} commands in {wrote:.1f} s "
            f"({len(lags) / wrote:,.0f}/s){projected}",
            flush=True,
        )
        return lags, len(lags) / wrote


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- The benchmark -------------------------------------------------------------------------------


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    with (
        fresh_schema() as (schema, url),
        open_services(
            Settings(database_url=url, today=STORE_TODAY), check_people=False
        ) as services,
    ):
        app = services.app
        writers, write_rate = build_log(app, schema, EVENTS)
        project_rate, projected = catch_up_rate(url, schema)
        print(
            f"   kam project caught up {projected:,} events at {project_rate:,.0f} events/s "
            f"= {project_rate / write_rate:.2f} x the writers' {write_rate:,.0f} commands/s",
            flush=True,
        )
        figures["projector_vs_write_16"] = project_rate / write_rate
        rows = timeline_rows(count_events(schema))

        raw_ratios, per_event_ratios, peaks = [], [], []
        for round_ in range(ROUNDS):
            # The machine is shared: the baseline is taken just before and just after the
            # rebuild, and their geometric mean used, so a change of load mid-round evens out.
            raw_before = raw_batched_rate(schema, rows)
            report = rebuild_in_child(url)
            raw_after = raw_batched_rate(schema, rows)
            raw = (raw_before * raw_after) ** 0.5
            rebuild_rate = report["events"] / report["seconds"]
            per_event, n = per_event_rate(app, PER_EVENT)
            peak_mb = report["peak_rss_kb"] / 1024
            peaks.append(peak_mb)
            raw_ratios.append(rebuild_rate / raw)
            per_event_ratios.append(rebuild_rate / per_event)
            print(
                f"   round {round_ + 1}: raw batched {raw_before:,.0f} / {raw_after:,.0f} "
                f"rows/s (before / after), rebuild {report['events']:,} events in "
                f"{report['seconds']:.1f} s ({report['cpu_seconds']:.1f} s CPU) = "
                f"{rebuild_rate:,.0f} events/s (peak RSS {peak_mb:.0f} MB, "
                f"{report['rss_before_rebuild_kb'] / 1024:.0f} MB before it), per-event txn "
                f"{per_event:,.0f} events/s over the first {n:,}; ratios "
                f"{rebuild_rate / raw:.3f} and {rebuild_rate / per_event:.1f}",
                flush=True,
            )
        children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        mine_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"   (RUSAGE_CHILDREN ru_maxrss {children_kb / 1024:.0f} MB is not used: it "
            f"includes this process's pre-exec peak, {mine_kb / 1024:.0f} MB)",
            flush=True,
        )
        figures["rebuild_vs_raw_batched"] = statistics.median(raw_ratios)
        figures["rebuild_vs_per_event_txn"] = statistics.median(per_event_ratios)
        figures["rebuild_peak_rss_mb"] = max(peaks)

        del rows
        lags, _ = projection_lag(url, schema, writers, LAG_PROJECTOR)
        if lags:
            print(
                f"   lag ms: p50 {percentile(lags, 0.5) * 1e3:.1f}, p90 "
                f"{percentile(lags, 0.9) * 1e3:.1f}, p99 {percentile(lags, 0.99) * 1e3:.1f}, "
                f"max {max(lags) * 1e3:.1f}",
                flush=True,
            )
            figures["projection_lag_p99_ms"] = percentile(lags, 0.99) * 1e3
    return figures
