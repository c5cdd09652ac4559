"""``kam project``: the projector as its own process on PostgreSQL.

- One active instance: a session-level advisory lock on a dedicated connection. Others stand
  by, retrying the lock; when the active one dies its session ends, the lock is released and a
  stand-by takes over.
- Woken by LISTEN/NOTIFY on the events channel (every write notifies), polling as a fallback.
- Survives its connection being killed: any database error drops the connection, backs off
  (doubling, capped at one second, reset by a successful batch) and reconnects (then competes
  for the lock again). The library's own runner stops silently here.
- Stops cleanly on SIGTERM/SIGINT after the batch in hand; logs lag and throughput.
- ``kam project --workers N`` splits the read models into N groups of about equal cost
  (``projector.model_groups``), each fed by a worker process of its own (``run_workers``)
  with its own tracked positions and lock, so the groups are projected side by side on
  several cores; started on several machines, each group is active in one process and stands
  by in the others.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError

from kam_projections.backoff import Backoff
from kam_projections.db import PostgresViews
from kam_projections.projector import Projector
from kam_projections.rebuild import rebuild_stale

log = logging.getLogger("kam.projector")

#: Errors that mean "the database is unreachable or the session died": the read-model side
#: raises psycopg's, the event store the library's own (after its retries are exhausted).
DATABASE_ERRORS = (psycopg.Error, PersistenceError)


def lock_key(name: str) -> int:
    """The advisory-lock key of a projector (one per read-model set and schema)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


class StandaloneProjector:
    """Runs a ``Projector`` until stopped, as the one active instance among any started."""

    def __init__(
        self,
        projector: Projector,
        views: PostgresViews,
        *,
        channel: str,
        poll_interval: float = 2.0,
        standby_interval: float = 1.0,
        report_interval: float = 10.0,
        name: str = "kam-projector",
    ) -> None:
        self.projector = projector
        self.views = views
        self.channel = channel
        self.poll_interval = poll_interval
        self.standby_interval = standby_interval
        self.report_interval = report_interval
        self.key = lock_key(f"{name}:{views.schema or 'public'}")
        self.stopping = threading.Event()
        self.active = threading.Event()
        self.processed = 0
        self.backoff = Backoff(first=0.2)

    def stop(self, *_: Any) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %d: stopping after the current batch", signum)
        self.stop()

    def run(self) -> None:
        """Runs until ``stop()``; reconnects after any database error."""
        while not self.stopping.is_set():
            try:
                with self.views.connect() as conn:
                    self._hold_lock_and_project(conn)
            except DATABASE_ERRORS as error:
                self.active.clear()
                self.projector.forget()
                delay = self.backoff.next()
                log.warning(
                    "database connection lost (%s); reconnecting in %.1f s",
                    error.__class__.__name__,
                    delay,
                )
                self.stopping.wait(delay)
        self.active.clear()
        try:
            log.info("projector stopped at position %d", self.projector.position())
        except DATABASE_ERRORS:
            log.info("projector stopped (database unreachable)")

    def _hold_lock_and_project(self, conn: psycopg.Connection[Any]) -> None:
        while not self.stopping.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (self.key,)).fetchone()
            if row and row["locked"]:
                break
            log.debug("another projector is active; standing by")
            self.stopping.wait(self.standby_interval)
        if self.stopping.is_set():
            return
        log.info("active (advisory lock %d held); listening on %s", self.key, self.channel)
        # Under the lock: instances started together must not race to create the tables.
        rebuild_stale(self.projector)
        conn.execute(f'LISTEN "{self.channel}"')
        self.active.set()
        try:
            self._project(conn)
        finally:
            self.active.clear()
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))

    def _project(self, conn: psycopg.Connection[Any]) -> None:
        last_report = time.monotonic()
        since_report = 0
        while not self.stopping.is_set():
            # Check the lock session is alive before each batch: if it was killed, another
            # instance may already be active, and this one must not keep writing.
            conn.execute("SELECT 1")
            processed = self.projector.run_once()
            self.backoff.reset()  # working again: the next outage starts with a short wait
            self.processed += processed
            since_report += processed
            now = time.monotonic()
            if now - last_report >= self.report_interval:
                head = self.projector.app.recorder.max_notification_id() or 0
                position = self.projector.position()
                log.info(
                    "position %d, lag %d events, %.0f events/s",
                    position,
                    head - position,
                    since_report / (now - last_report),
                )
                last_report, since_report = now, 0
            if processed == 0:
                for _ in conn.notifies(timeout=self.poll_interval, stop_after=1):
                    pass


def run_workers(commands: Sequence[Sequence[str]], *, poll_interval: float = 0.5) -> int:
    """Runs each command as a child process (a projector worker) until one of them stops or
    this process is told to stop (SIGTERM/SIGINT); then stops the others and returns 0 after
    a requested stop, else the stopped worker's exit code (1 if it was 0), so a supervisor
    restarts the whole set."""
    stopping = threading.Event()
    code = 0

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %d: stopping the projector workers", signum)
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    parent = {**os.environ, PARENT_ENV: str(os.getpid())}
    children = [subprocess.Popen(list(command), env=parent) for command in commands]
    try:
        while not stopping.is_set():
            ended = next((c for c in children if c.poll() is not None), None)
            if ended is not None:
                code = ended.returncode or 1
                log.error(
                    "projector worker %d ended with %d; stopping the others",
                    ended.pid,
                    ended.returncode,
                )
                break
            stopping.wait(poll_interval)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


#: Set for a worker started by ``run_workers``: the pid of the process that started it.
PARENT_ENV = "KAM_PROJECTOR_PARENT"


def stop_with_parent(stop: Callable[[], None], *, interval: float = 1.0) -> None:
    """In a worker started by ``run_workers``: calls ``stop`` once that process is gone
    (killed with -9, say), so no worker outlives the command that started it."""
    expected = os.environ.get(PARENT_ENV)
    if not expected:
        return

    def watch() -> None:
        while os.getppid() == int(expected):
            time.sleep(interval)
        log.warning("the process that started this worker is gone: stopping")
        stop()

    threading.Thread(target=watch, name="kam-projector-parent", daemon=True).start()
