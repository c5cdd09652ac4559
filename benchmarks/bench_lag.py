"""Projection lag seen by a client through the HTTP API, with the standalone projector.

One server (`kam serve`, one uvicorn worker, embedded projector off) and one `kam project`,
both child processes on a fresh PostgreSQL schema; 320 accounts registered through the API
(20 per writer). Then 16 writers, each noting competitors on its own accounts
(``POST /accounts/{id}/competitors``), in three phases:

1. **calibration** (``KAM_BENCH_LAG_SECONDS`` / 6, 10 s by default): writers as fast as the
   server answers; its commands/s is the measured maximum (``lag_max_commands_per_s``);
2. **half load** (``KAM_BENCH_LAG_SECONDS`` / 3, 20 s): each writer paced so that together
   they send half that maximum;
3. **full load** (``KAM_BENCH_LAG_SECONDS``, 60 s): as in calibration, for longer.

A **probe** is one read-your-writes read: right after a command's answer (its ``position``),
``GET /portfolio?limit=1&min_position=<position>``, which waits in the server until every read
model has passed the position (up to ``KAM_READ_WAIT_SECONDS``, 5 s by default) and then
answers 200, or 503 when the wait ran out. Its **lag** is the time from the command's answer
arriving to the probe's 200 arriving (so it includes one short read's round trip). A writer
does not wait for its probe before its next command: then the writes are the load the write
path takes, and the read models can fall behind them (a writer that waited would hold the
backlog at 16 commands whatever the projector's speed, and the growth below would always look
fine). Each writer has at most one probe (or control read, below) in flight: a command
answered while its writer's previous probe still waits is not probed (so at most 16 reads
wait in the server at a time; when the lag is short nearly every command is probed).

Figures:

- ``projection_lag_p99_ms_half_load``: p99 of the probes' lag in the half-load phase.
- ``projection_lag_growth``: the full-load phase cut into quarters by the time each probed
  command was sent; p99 of the lag in the last quarter / p99 in the second (a backlog of the
  read models that keeps growing shows as > 1; the first quarter is warm-up). A probe that got
  a 503 or no answer counts with the time it waited, a lower bound of its lag (so once both
  quarters time out the ratio sits near 1: the next figure shows that case).
- ``read_your_writes_timeouts``: probes of the half- and full-load phases answered 503 (or not
  answered within 30 s, or answered another error): reads of one's own write that failed.
- ``lag_max_commands_per_s`` (reported): the calibration's commands/s (2xx answers).
- ``projection_lag_p99_ms_full_load`` (reported): p99 of the lag over the whole full-load phase.
- ``read_p99_ms_half_load`` (reported): the baseline of the first figure: p99 of the same read
  without ``min_position`` (``GET /portfolio?limit=1``, timed from its request to its answer),
  sent in the half-load phase in every 8th probe slot instead of a probe. The lag can be no
  shorter than this round trip; what it adds is the wait for the projector.

Also printed: per phase p50/p90/p99 and commands/s; per quarter p50/p99 and the projector's
backlog (head of the event log minus the lowest read-model position in ``rm_tracking``,
sampled every second) at the quarter's end; the load average; the client's own CPU time. The
load generator is Python (asyncio, one httpx AsyncClient with keep-alive connections), not wrk:
wrk cannot send a read carrying the position its own write was just answered with, nor pace
per writer. It runs on the same cores as the server, the projector and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx2 as httpx
import psycopg

from bench_api import KAM, director_token, free_port, wait_up
from common import POSTGRES_URL, fresh_schema

TARGETS = {
    "projection_lag_p99_ms_half_load": ("<=", 100.0),
    "projection_lag_growth": ("<=", 1.5),
    "read_your_writes_timeouts": ("<=", 0.0),
}
SECONDS = float(os.environ.get("KAM_BENCH_LAG_SECONDS", "60"))
WRITERS = 16
ACCOUNTS_PER_WRITER = 20
PROGRESS_EVERY = 5.0
CLIENT_TIMEOUT = 30.0
#: One probe slot in this many carries a control read instead (no min_position).
CONTROL_EVERY = 8


@dataclass
class Probe:
    """One read-your-writes read: when its command was sent (seconds into the phase), its lag
    (or the time it waited before failing) and whether it saw the write."""

    sent: float
    lag_ms: float
    ok: bool


@dataclass
class Phase:
    name: str
    seconds: float
    commands: int = 0
    refused: int = 0
    command_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    started: float = 0.0  # perf_counter time
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return self.commands / self.elapsed if self.elapsed else 0.0

    @property
    def failures(self) -> int:
        return sum(not p.ok for p in self.probes)


class Backlog:
    """Samples, every second in a thread, the head of the event log minus the lowest
    read-model position: the events the projector still has to apply."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Backlog:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{self.schema}"')
            table = events_table(conn, self.schema)
            while not self._stop.is_set():
                row = conn.execute(
                    f'SELECT (SELECT MAX(notification_id) FROM "{table}"), '
                    "(SELECT MIN(position) FROM rm_tracking)"
                ).fetchone()
                assert row is not None
                self.samples.append((time.perf_counter(), (row[0] or 0) - (row[1] or 0)))
                self._stop.wait(1.0)

    def at(self, moment: float) -> int | None:
        """The last sample taken at or before ``moment`` (a perf_counter time)."""
        taken = [b for t, b in self.samples if t <= moment]
        return taken[-1] if taken else None

    def latest(self) -> int | None:
        return self.samples[-1][1] if self.samples else None


def events_table(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> str:
    """The event store's table in the schema: the one with a notification_id column."""
    rows = conn.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = %s "
        "AND column_name = 'notification_id' ORDER BY table_name",
        (schema,),
    ).fetchall()
    names = [str(r[0]) for r in rows if str(r[0]).endswith("events")]
    assert len(names) == 1, f"event table not found among {rows}"
    return names[0]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``; nan when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def run() -> dict[str, float]:
    with fresh_schema("benchlag") as (schema, url):
        env = {**os.environ, "KAM_DATABASE_URL": url, "KAM_EMBEDDED_PROJECTOR": "false"}
        token = director_token(env)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryFile("w+") as log:
            server = subprocess.Popen(
                [KAM, "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            projector = subprocess.Popen([KAM, "project"], env=env, stdout=log, stderr=log)
            try:
                wait_up(base, seconds=180)  # a loaded machine starts it slowly
                print(f"   load average at start: {load_average()}", flush=True)
                figures = asyncio.run(measure(base, token, schema))
                print(f"   load average at end: {load_average()}", flush=True)
                # A projector that died half-way would have turned the lag into 503s.
                assert projector.poll() is None, "kam project exited during the run"
            finally:
                for child in (projector, server):
                    child.terminate()
                for child in (projector, server):
                    child.wait(timeout=30)
            log.seek(0)
            for line in log.read().splitlines()[-3:]:
                print(f"   projector log: {line[:160]}", flush=True)
            return figures


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


async def measure(base: str, token: str, schema: str) -> dict[str, float]:
    limits = httpx.Limits(max_connections=2 * WRITERS, max_keepalive_connections=2 * WRITERS)
    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        timeout=CLIENT_TIMEOUT,
        limits=limits,
    ) as client:
        cpu = time.process_time()
        accounts = await seed(client)
        print(
            f"   client: asyncio, one httpx2 AsyncClient, up to {2 * WRITERS} keep-alive "
            f"connections; {WRITERS} writers x {ACCOUNTS_PER_WRITER} accounts",
            flush=True,
        )
        with Backlog(schema) as backlog:
            calibration = await phase(client, accounts, "calibration", SECONDS / 6, None, backlog)
            half = await phase(
                client, accounts, "half load", SECONDS / 3, calibration.rate / 2, backlog
            )
            full = await phase(client, accounts, "full load", SECONDS, None, backlog)
        print(f"   client CPU time: {time.process_time() - cpu:.1f} s", flush=True)
    growth = quarters(full, backlog)
    return {
        "projection_lag_p99_ms_half_load": percentile([p.lag_ms for p in half.probes], 99),
        "projection_lag_growth": growth,
        "read_your_writes_timeouts": float(half.failures + full.failures),
        "lag_max_commands_per_s": calibration.rate,
        "projection_lag_p99_ms_full_load": percentile([p.lag_ms for p in full.probes], 99),
        "read_p99_ms_half_load": percentile(half.read_ms, 99),
    }


async def seed(client: httpx.AsyncClient) -> list[list[str]]:
    """Registers the accounts through the API; waits until the read models show them all."""
    count = WRITERS * ACCOUNTS_PER_WRITER
    print(f"   registering {count} accounts through the API ...", flush=True)
    ids: list[str] = []
    positions: list[int] = []

    async def register(start: int) -> None:
        for i in range(start, count, WRITERS):
            answer = await client.post(
                "/accounts",
                json={
                    "name": f"Lag account {i}",
                    "industry": "Retail",
                    "region": "EMEA",
                    "service_profile": "standard",
                },
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
            positions.append(answer.json()["position"])

    await asyncio.gather(*(register(w) for w in range(WRITERS)))
    deadline = time.monotonic() + 120
    while True:
        seen = await client.get("/portfolio", params={"limit": 1, "min_position": max(positions)})
        if seen.status_code == 200:
            break
        assert seen.status_code == 503 and time.monotonic() < deadline, seen.text
    return [ids[w::WRITERS] for w in range(WRITERS)]


async def phase(
    client: httpx.AsyncClient,
    accounts: list[list[str]],
    name: str,
    seconds: float,
    rate: float | None,
    backlog: Backlog,
) -> Phase:
    """``WRITERS`` writers for ``seconds``, unpaced (``rate`` None) or together at ``rate``
    commands/s; every command answered while its writer has no probe in flight is probed."""
    result = Phase(name, seconds)
    paced = f" paced at {rate:,.0f} commands/s" if rate else " unpaced"
    print(f"   {name}: {WRITERS} writers{paced} for {seconds:.0f} s ...", flush=True)
    start = result.started = time.perf_counter()
    deadline = start + seconds

    async def probe(sent: float, answered: float, position: int) -> None:
        try:
            seen = await client.get("/portfolio", params={"limit": 1, "min_position": position})
            ok = seen.status_code == 200
            if not ok and seen.status_code != 503:
                print(f"   probe answered {seen.status_code}: {seen.text[:200]}", flush=True)
        except httpx.TimeoutException:
            ok = False
        lag = (time.perf_counter() - answered) * 1000
        result.probes.append(Probe(sent - start, lag, ok))

    async def control() -> None:
        started = time.perf_counter()
        seen = await client.get("/portfolio", params={"limit": 1})
        assert seen.status_code == 200, seen.text
        result.read_ms.append((time.perf_counter() - started) * 1000)

    async def writer(w: int) -> None:
        mine = accounts[w]
        interval = WRITERS / rate if rate else 0.0
        next_at = start + interval * w / WRITERS
        in_flight: asyncio.Task[None] | None = None
        n = slots = 0
        while True:
            if rate:
                pause = next_at - time.perf_counter()
                if pause > 0:
                    await asyncio.sleep(pause)
                next_at = max(next_at + interval, time.perf_counter())
            sent = time.perf_counter()
            if sent >= deadline:
                break
            answer = await client.post(
                f"/accounts/{mine[n % len(mine)]}/competitors",
                json={"name": "Globex", "threat": "medium", "notes": f"seen {n}"},
            )
            n += 1
            result.command_ms.append((time.perf_counter() - sent) * 1000)
            if answer.status_code >= 300:
                result.refused += 1
                continue
            result.commands += 1
            if in_flight is None or in_flight.done():
                slots += 1
                if slots % CONTROL_EVERY == 0:
                    in_flight = asyncio.create_task(control())
                else:
                    answered = time.perf_counter()
                    position = answer.json()["position"]
                    in_flight = asyncio.create_task(probe(sent, answered, position))
        if in_flight is not None:
            await in_flight

    async def progress() -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            now = time.perf_counter() - start
            recent = [p.lag_ms for p in result.probes if p.sent >= now - PROGRESS_EVERY * 2]
            print(
                f"   {name} {now:4.0f} s: {result.commands / now:,.0f} commands/s, "
                f"{len(result.probes)} probes ({result.failures} failed), recent lag p50 "
                f"{percentile(recent, 50):,.0f} ms p99 {percentile(recent, 99):,.0f} ms, "
                f"backlog {backlog.latest()} events",
                flush=True,
            )

    reporter = asyncio.create_task(progress())
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    reporter.cancel()
    result.elapsed = min(time.perf_counter(), deadline) - start
    lags = [p.lag_ms for p in result.probes]
    print(
        f"   {name}: {result.rate:,.0f} commands/s ({result.refused} refused), "
        f"{len(lags)} probes, lag p50 {percentile(lags, 50):,.1f} ms, "
        f"p90 {percentile(lags, 90):,.1f} ms, p99 {percentile(lags, 99):,.1f} ms, "
        f"{result.failures} reads failed (503 or timeout); the commands' own round trip "
        f"p50 {percentile(result.command_ms, 50):,.1f} ms, "
        f"p99 {percentile(result.command_ms, 99):,.1f} ms; the same read without "
        f"min_position p50 {percentile(result.read_ms, 50):,.1f} ms, "
        f"p99 {percentile(result.read_ms, 99):,.1f} ms ({len(result.read_ms)} reads)",
        flush=True,
    )
    return result


def quarters(full: Phase, backlog: Backlog) -> float:
    """Prints each quarter's lag and the backlog at its end; p99(4th) / p99(2nd)."""
    quarter = full.seconds / 4
    p99s = []
    for q in range(4):
        lags = [p.lag_ms for p in full.probes if q * quarter <= p.sent < (q + 1) * quarter]
        failed = sum(not p.ok for p in full.probes if q * quarter <= p.sent < (q + 1) * quarter)
        p99s.append(percentile(lags, 99))
        at_end = backlog.at(full.started + (q + 1) * quarter)
        print(
            f"   full load quarter {q + 1}: {len(lags)} probes ({failed} failed), lag p50 "
            f"{percentile(lags, 50):,.1f} ms, p99 {p99s[-1]:,.1f} ms; backlog at its end "
            f"{at_end} events",
            flush=True,
        )
    return p99s[3] / p99s[1] if p99s[1] else float("nan")
