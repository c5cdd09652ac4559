"""The webhook deliverer: each active subscription gets the log's events after its position,
one signed POST per event, in log order, at least once.

A round takes one subscription (``WebhookStore.claimed``: on PostgreSQL its row is locked
``FOR UPDATE SKIP LOCKED``, so one process alone delivers to it however many run), reads up
to ``batch_size`` events after its position as ``GET /events`` shows them (erased people's
data redacted), and posts each one its filter wants (for at most ``round_seconds`` once one
is sent, so an admin's change to the subscription never waits long for the row). A 2xx
moves the position past the event; any other answer, an error or a timeout ends the round:
the attempt is logged, the event is tried again after an exponential backoff with jitter,
and later events wait, so the order holds.
After ``max_attempts`` failed attempts at one event, or ``max_failing_seconds`` of failing,
the subscription is paused (``failing``) until an admin replays it. The outcome is written
with the round's attempts in one transaction; a crash before it re-delivers the round's
events (at least once), never skips one.

``EmbeddedDeliverer`` runs rounds on a thread of the API process, woken right after each local
save (the application's ``saved_listeners``) and, on PostgreSQL, by the events channel's
NOTIFY, polling otherwise.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx2
import psycopg
from psycopg_pool import PoolTimeout

from kam_api.event_feed import public_events
from kam_api.schemas.audit import EventPublic
from kam_api.webhooks.signing import headers
from kam_api.webhooks.store import WebhookStore
from kam_domain.application import KamApplication
from kam_projections.db import PostgresViews, ViewDatabase
from kam_projections.webhooks import ACTIVE, FAILING, RoundOutcome, Subscription
from kam_store.keys import MasterKeyError

if TYPE_CHECKING:
    from kam_api.bootstrap import Services

log = logging.getLogger("kam.webhooks")

#: A receiver's answer is read up to this many bytes (then the connection is dropped).
MAX_ANSWER_BYTES = 64 * 1024

#: Retries' jitter comes from a generator of its own, not the process's global one.
_JITTER = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed delivery is tried again, and when the subscription is paused."""

    base_seconds: float = 1.0
    cap_seconds: float = 300.0
    max_attempts: int = 10
    max_failing_seconds: float = 24 * 3600.0

    def delay(self, attempts: int, draw: Callable[[], float]) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones: the exponential
        ceiling (base x 2^(attempts-1), at most the cap), half of it fixed and half drawn."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** min(attempts - 1, 30))
        return ceiling / 2 + draw() * ceiling / 2

    def gives_up(self, attempts: int, failing_for: float) -> bool:
        return attempts >= self.max_attempts or failing_for >= self.max_failing_seconds


def message_id(position: int) -> str:
    """The ``webhook-id`` of the event at a position: the same on every attempt and replay,
    so a receiver can drop a message it has already handled."""
    return f"kam-{position}"


def payload(event: EventPublic) -> bytes:
    """A delivery's body: the event as ``GET /events`` shows it, under its type."""
    body = {
        "type": f"{event.aggregate_type}.{event.type}",
        "timestamp": event.recorded_at.isoformat(),
        "data": event.model_dump(mode="json"),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class _Result:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings every deliverer's client verifies receivers with, made once per
    process: loading the trusted certificates takes a tenth of a second, and an app (the tests
    build hundreds in one process) starts a deliverer each time."""
    return httpx2.create_ssl_context()


class Deliverer:
    """Delivery rounds over every due subscription; ``run_once`` does one pass."""

    def __init__(
        self,
        app: KamApplication,
        views: ViewDatabase,
        store: WebhookStore,
        *,
        timeout: float = 5.0,
        policy: RetryPolicy | None = None,
        batch_size: int = 100,
        round_seconds: float = 2.0,
        now: Callable[[], float] = time.time,
        draw: Callable[[], float] = _JITTER.random,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self.app = app
        self.views = views
        self.store = store
        self.policy = policy or RetryPolicy()
        self.batch_size = batch_size
        self.round_seconds = round_seconds
        self.now = now
        self.draw = draw
        self.client = httpx2.Client(
            timeout=httpx2.Timeout(timeout),
            follow_redirects=False,
            transport=transport,
            verify=tls_context(),
        )
        self._keys: dict[str, bytes] = {}

    def close(self) -> None:
        self.client.close()

    def run_once(self) -> int:
        """One round for each due subscription; returns how many attempts were made. A
        subscription whose secret does not unseal (another master key) is skipped, not the
        others."""
        made = 0
        for subscription_id in self.store.due(self.now()):
            try:
                made += self.deliver(subscription_id)
            except MasterKeyError as error:
                log.error("webhook %s not delivered: %s", subscription_id, error)
        return made

    def deliver(self, subscription_id: str) -> int:
        """One round for one subscription (nothing if another process holds it)."""
        with self.store.claimed(subscription_id, self.now()) as claim:
            if claim is None:
                return 0
            subscription = claim.subscription
            notifications = self.app.recorder.select_notifications(
                subscription.position + 1, self.batch_size
            )
            if not notifications:
                return 0
            outcome = self._round(subscription, public_events(self.app, self.views, notifications))
            if not claim.record(outcome):
                log.info("webhook %s changed during a round; its change stands", subscription.id)
            return len(outcome.log)

    def _round(self, subscription: Subscription, events: list[EventPublic]) -> RoundOutcome:
        position, attempts = subscription.position, subscription.attempts
        failing_since, last_error = subscription.failing_since, subscription.last_error
        status, next_attempt_at = ACTIVE, 0.0
        attempts_log: list[dict[str, Any]] = []
        key = self._key(subscription.id)
        started = time.monotonic()
        for event in events:
            if attempts_log and time.monotonic() - started > self.round_seconds:
                break  # the rest in the next round: an admin's change waits for this one
            if not subscription.wants(event.aggregate_type, event.type):
                position = event.position
                continue
            attempted_at = self.now()
            result = self._post(subscription.url, key, event, attempted_at)
            attempts_log.append(
                {
                    "subscription_id": subscription.id,
                    "position": event.position,
                    "message_id": message_id(event.position),
                    "attempt": attempts + 1,
                    "attempted_at": datetime.fromtimestamp(attempted_at, UTC).isoformat(),
                    "status_code": result.status_code,
                    "error": result.error,
                    "duration_ms": result.duration_ms,
                }
            )
            if result.ok:
                position, attempts, failing_since, last_error = event.position, 0, None, None
                continue
            attempts += 1
            now = self.now()
            failing_since = failing_since if failing_since is not None else attempted_at
            last_error = result.error or f"HTTP {result.status_code}"
            next_attempt_at = now + self.policy.delay(attempts, self.draw)
            if self.policy.gives_up(attempts, now - failing_since):
                status = FAILING
                log.warning(
                    "webhook %s paused after %d failed attempts at position %d: %s",
                    subscription.id,
                    attempts,
                    event.position,
                    last_error,
                )
            break
        return RoundOutcome(
            position=position,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            failing_since=failing_since,
            last_error=last_error,
            status=status,
            log=attempts_log,
        )

    def _key(self, subscription_id: str) -> bytes:
        key = self._keys.get(subscription_id)
        if key is None:
            key = self._keys[subscription_id] = self.store.secret_key(subscription_id)
        return key

    def _post(self, url: str, key: bytes, event: EventPublic, at: float) -> _Result:
        body = payload(event)
        sent = headers(key, message_id(event.position), int(at), body)
        started = time.perf_counter()
        try:
            with self.client.stream("POST", url, content=body, headers=sent) as response:
                code = response.status_code
                # Read a short answer to its end, so the connection is kept for the next one.
                read = 0
                for chunk in response.iter_raw():
                    read += len(chunk)
                    if read > MAX_ANSWER_BYTES:
                        break
        except httpx2.TimeoutException:
            return _Result(False, None, "timeout", _ms(started))
        except httpx2.HTTPError as error:
            return _Result(False, None, f"{type(error).__name__}: {error}"[:500], _ms(started))
        return _Result(200 <= code < 300, code, None, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class EmbeddedDeliverer:
    """The deliverer on a background thread, woken after each save, polling otherwise."""

    def __init__(
        self, deliverer: Deliverer, *, poll_interval: float = 1.0, channel: str | None = None
    ) -> None:
        self.deliverer = deliverer
        self.poll_interval = poll_interval
        self.channel = channel
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kam-webhooks", daemon=True)
        self._listener: threading.Thread | None = None
        #: Set while the listener's LISTEN is in place (PostgreSQL).
        self.listening = threading.Event()
        #: The listener's own channel: a NOTIFY on it ends the listener's wait at once.
        self._stop_channel = f"kam_stop_{uuid.uuid4().hex}"

    def start(self) -> None:
        self.deliverer.app.saved_listeners.append(self.wake)
        self._thread.start()
        views = self.deliverer.views
        if self.channel is not None and isinstance(views, PostgresViews):
            self._listener = threading.Thread(
                target=self._listen,
                args=(views, self.channel),
                name="kam-webhooks-listen",
                daemon=True,
            )
            self._listener.start()

    def wake(self, _position: int = 0) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        if self._listener is not None:
            self._interrupt_listener()
            self._listener.join(timeout)
        if self.wake in self.deliverer.app.saved_listeners:
            self.deliverer.app.saved_listeners.remove(self.wake)
        self.deliverer.close()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            self._wake.clear()
            try:
                made = self.deliverer.run_once()
                backoff = 0.1
            except Exception:
                log.exception("webhook round failed; retrying in %.1f s", backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if made == 0:
                self._wake.wait(self.poll_interval)

    def _interrupt_listener(self) -> None:
        """Ends the listener's wait for notifications now rather than at its next timeout
        (a NOTIFY on its own channel); when that cannot be sent, the timeout ends it."""
        views = self.deliverer.views
        if not self.listening.is_set() or not isinstance(views, PostgresViews):
            return
        try:
            with views.pool.connection(timeout=1.0) as conn:
                conn.execute(f'NOTIFY "{self._stop_channel}"')
        except (psycopg.Error, PoolTimeout):
            pass

    def _listen(self, views: PostgresViews, channel: str) -> None:
        """Other processes' writes: NOTIFY on the events channel wakes the deliverer."""
        while not self._stop.is_set():
            try:
                with views.connect() as conn:
                    conn.execute(f'LISTEN "{channel}"')
                    conn.execute(f'LISTEN "{self._stop_channel}"')
                    self.listening.set()
                    self.wake()  # what was written while it was not listening
                    while not self._stop.is_set():
                        # stop() NOTIFYs the stop channel; the short wait is for when it cannot.
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.wake()
            except psycopg.Error as error:
                self.listening.clear()
                log.warning("webhook listener lost its connection (%s)", type(error).__name__)
                self._stop.wait(1.0)


def start_deliverer(services: Services) -> EmbeddedDeliverer:
    """The services' deliverer, on its thread, with the settings' timeout and retry policy."""
    settings = services.settings
    app = services.app
    deliverer = Deliverer(
        app,
        services.views,
        services.webhooks,
        timeout=settings.webhook_timeout_seconds,
        policy=RetryPolicy(
            base_seconds=settings.webhook_backoff_seconds,
            cap_seconds=settings.webhook_backoff_cap_seconds,
            max_attempts=settings.webhook_max_attempts,
            max_failing_seconds=settings.webhook_max_failing_seconds,
        ),
    )
    embedded = EmbeddedDeliverer(
        deliverer,
        poll_interval=settings.webhook_poll_interval,
        channel=getattr(app.recorder, "channel_name", None),
    )
    embedded.start()
    return embedded
