"""Webhook delivery on PostgreSQL: from a command's commit to the event's arrival at a local
receiver.

- webhook_delivery_p99_ms: 16 writer threads note competitors on 64 accounts through the
  application service (each writer pausing ``KAM_BENCH_WEBHOOK_PAUSE`` seconds between
  commands) while the service's deliverer (one subscription to every event, woken by each
  save) posts each event to a threaded HTTP receiver in another process; the 99th percentile
  of (arrival at the receiver - return of the command that wrote it), in milliseconds. Each
  event is checked to arrive, signed, in log order.
- webhook_delivery_p50_ms: the median of the same.
The receiver runs in a process of its own; arrival and commit times are both read from
CLOCK_MONOTONIC.

- webhook_receiver_p50_ms: the baseline, a POST straight to the same receiver from the same
  client (what the deliverer cannot do faster than).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2 as httpx

from common import fresh_schema
from kam_api.bootstrap import open_services
from kam_api.schemas.webhooks import WebhookCreate
from kam_api.settings import Settings
from kam_api.webhooks.delivery import start_deliverer
from kam_api.webhooks.signing import verify
from kam_api.webhooks.subscribe import subscribe
from kam_domain.commands import NoteCompetitor, RegisterAccount
from kam_domain.errors import ConflictError
from kam_domain.values import Envelope, ThreatLevel

TARGETS = {
    "webhook_delivery_p99_ms": ("<=", 500.0),
    "webhook_delivery_p50_ms": ("report", 0.0),
    "webhook_receiver_p50_ms": ("report", 0.0),
}
WRITERS = 16
ACCOUNTS = 64
SECONDS = float(os.environ.get("KAM_BENCH_SECONDS", "4"))
PAUSE = float(os.environ.get("KAM_BENCH_WEBHOOK_PAUSE", "0.02"))
META = Envelope(actor="bench")


def receive() -> None:
    """The receiver, in a process of its own (as a real one is): a threaded HTTP server that
    notes when each message arrives (CLOCK_MONOTONIC, shared by every process), prints its
    port, and on a line on stdin prints {position: arrival}, the order and the last message."""
    arrived: dict[int, float] = {}
    order: list[int] = []
    last: list[Any] = [None]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            at = time.monotonic()
            if "webhook-id" in self.headers:
                position = int(self.headers["webhook-id"].removeprefix("kam-"))
                with lock:
                    arrived.setdefault(position, at)
                    order.append(position)
                    last[0] = [{k.lower(): v for k, v in self.headers.items()}, body.decode()]
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.readline()
    with lock:
        print(json.dumps({"arrived": arrived, "order": order, "last": last[0]}), flush=True)


class Receiver:
    """The receiver process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "receive"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}/hook"

    def report(self) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("report\n")
        self.process.stdin.flush()
        result: dict[str, Any] = json.loads(self.process.stdout.readline())
        result["arrived"] = {int(k): v for k, v in result["arrived"].items()}
        return result

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def receiver_p50(url: str) -> float:
    with httpx.Client() as client:
        samples = []
        for _ in range(200):
            started = time.perf_counter()
            client.post(url, content=b'{"type":"ping"}')
            samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def run() -> dict[str, float]:
    receiver = Receiver()
    try:
        with fresh_schema("bench_hooks") as (_schema, url):
            settings = Settings(database_url=url, pg_pool_size=WRITERS + 4, webhook_poll_interval=1)
            with open_services(settings, check_people=False) as services:
                app = services.app
                accounts = [
                    app.handle(
                        RegisterAccount(name=f"Account {i}", industry="Food", region="EMEA"),
                        meta=META,
                    ).id
                    for i in range(ACCOUNTS)
                ]
                _, secret = subscribe(
                    services.webhooks, app, WebhookCreate(url=receiver.url), actor="bench"
                )
                baseline = receiver_p50(receiver.url)
                deliverer = start_deliverer(services)
                committed: dict[int, float] = {}
                lock = threading.Lock()
                deadline = time.perf_counter() + SECONDS

                def write(n: int) -> None:
                    i = 0
                    while time.perf_counter() < deadline:
                        command = NoteCompetitor(
                            account_id=accounts[(n * 7 + i) % ACCOUNTS],
                            name=f"C{i % 5}",
                            threat=ThreatLevel.MEDIUM,
                            notes=f"seen {n}-{i}",
                        )
                        try:
                            position = app.handle(command, meta=META).position
                        except ConflictError:
                            continue  # another writer changed the account at the same time
                        at = time.monotonic()
                        with lock:
                            committed[position] = at
                        i += 1
                        time.sleep(PAUSE)

                writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
                for t in writers:
                    t.start()
                for t in writers:
                    t.join()
                head = app.recorder.max_notification_id() or 0
                wait_until = time.perf_counter() + 60
                while time.perf_counter() < wait_until:
                    if services.webhooks.all()[0].position >= head:
                        break
                    time.sleep(0.05)
                deliverer.stop()
                received = receiver.report()
    finally:
        receiver.close()
    arrived: dict[int, float] = received["arrived"]
    missing = set(committed) - set(arrived)
    if missing:
        raise RuntimeError(f"{len(missing)} events never arrived")
    if received["order"] != sorted(received["order"]):
        raise RuntimeError("events arrived out of log order")
    headers, text = received["last"]
    body = text.encode()
    if not verify(secret, headers["webhook-id"], headers["webhook-timestamp"], body,
                  headers["webhook-signature"]):  # fmt: skip
        raise RuntimeError("a delivery's signature does not verify")
    json.loads(body)
    latencies = sorted((arrived[p] - at) * 1000 for p, at in committed.items())
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"   {len(latencies)} events from {WRITERS} writers in {SECONDS:.0f} s", flush=True)
    return {
        "webhook_delivery_p99_ms": p99,
        "webhook_delivery_p50_ms": statistics.median(latencies),
        "webhook_receiver_p50_ms": baseline,
    }


if __name__ == "__main__" and sys.argv[1:] == ["receive"]:
    receive()
