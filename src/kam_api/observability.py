"""Operations: the request's correlation id (on every log line and every event's envelope),
structured logs, and the Prometheus metrics ``GET /metrics`` serves (``routes/metrics.py``).

- **Correlation id:** ``CorrelationMiddleware`` (plain ASGI, so uvicorn's access log line,
  written while the response starts, runs in the request's context) takes the request's
  ``X-Correlation-ID`` (else ``X-Request-ID``) when it is a short token, else makes one, keeps
  it in a context variable and ``request.state``, and answers it in both headers.
- **Logs:** ``log_config(format)`` is the ``logging.config.dictConfig`` of ``kam serve`` (passed
  to uvicorn): one JSON object a line (``json``) or a readable line (``text``), each with the
  correlation id of the request it belongs to (``-`` outside one).
- **Metrics:** ``Metrics`` holds one registry per app: request counts and latency by route
  template (never the raw path), commands by type and result, and, read at each scrape, the
  log's and the read models' positions, the projector's lag and the PostgreSQL pools' figures.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kam_api.errors import ERROR_TABLE, ApiError
from kam_domain.errors import RuleViolationError
from kam_store.bounded_cache import CacheStats, live_stats

log = logging.getLogger("kam.commands")

LogFormat = Literal["auto", "json", "text"]

#: The correlation id of the request being served (None outside a request).
CORRELATION_ID: ContextVar[str | None] = ContextVar("kam_correlation_id", default=None)

#: A correlation id a client may choose: short, and nothing a log line or header could misread.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,100}$")

CORRELATION_HEADERS = (b"x-correlation-id", b"x-request-id")


def new_correlation_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Correlation-ID`` (else ``X-Request-ID``) if it is a usable token,
    else a new random one."""
    given = dict(headers)
    for name in CORRELATION_HEADERS:
        value = given.get(name, b"").decode("latin-1").strip()
        if _CLIENT_ID.match(value):
            return value
    return str(uuid.uuid4())


class CorrelationMiddleware:
    """Gives each HTTP request its correlation id (context variable, ``request.state``, both
    response headers) and counts it in ``metrics`` by route template, method and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation = new_correlation_id(scope.get("headers", ()))
        scope.setdefault("state", {})["correlation_id"] = correlation
        token = CORRELATION_ID.set(correlation)
        status = [500]
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                value = correlation.encode("latin-1")
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-correlation-id", value),
                    (b"x-request-id", value),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            self.metrics.request(
                scope["method"], template, status[0], time.perf_counter() - started
            )
        # Reset only after an answer: an error escaping here is logged (and answered 500) by
        # the server around us, in this request's task, still under its id.
        CORRELATION_ID.reset(token)


class CorrelationFilter(logging.Filter):
    """Puts the current correlation id on every record (``-`` outside a request), and leaves
    the values of query parameters out of uvicorn's access lines: a search term (``?q=``) may
    be a person's name, and logs must hold no personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = CORRELATION_ID.get() or "-"
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            record.args = tuple(
                without_query_values(arg) if i == 2 and isinstance(arg, str) else arg
                for i, arg in enumerate(record.args)
            )
        return True


def without_query_values(path: str) -> str:
    """``/search?q=Ann&limit=5`` -> ``/search?q=…&limit=…``: the names of the parameters, not
    their values."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    names = [part.partition("=")[0] for part in query.split("&") if part]
    return base + "?" + "&".join(f"{name}=…" for name in names)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, correlation id, and the
    exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", None) or "-",
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"


def resolve_log_format(chosen: LogFormat, stream: Any = None) -> Literal["json", "text"]:
    """``auto``: readable text on a terminal, JSON otherwise (a service's logs are collected)."""
    if chosen != "auto":
        return chosen
    stream = stream if stream is not None else sys.stderr
    return "text" if getattr(stream, "isatty", lambda: False)() else "json"


def log_config(chosen: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """The logging configuration of the service: uvicorn's loggers and ours (``kam``) write to
    standard error through one handler that adds the correlation id."""
    form = resolve_log_format(chosen)
    formatter: dict[str, Any] = {"()": JsonFormatter} if form == "json" else {"format": TEXT_FORMAT}
    loggers = ("kam", "uvicorn", "uvicorn.error", "uvicorn.access")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"correlation": {"()": CorrelationFilter}},
        "formatters": {"kam": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["correlation"],
                "formatter": "kam",
            }
        },
        "loggers": {
            name: {"handlers": ["stderr"], "level": level, "propagate": False} for name in loggers
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},  # libraries: warnings and worse
    }


def error_family(error: Exception) -> str:
    """The problem type a refusal answers with: its rule, or its family (``not-found``...)."""
    if isinstance(error, RuleViolationError):
        return str(error.rule)
    if isinstance(error, ApiError):
        return error.slug
    for cls, _status, slug, _title in ERROR_TABLE:
        if isinstance(error, cls):
            return slug or "rule-violation"
    return type(error).__name__


#: The methods counted by name (label values must come from a bounded set).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: Latency buckets (seconds): commands take milliseconds, reports up to seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's metrics: its own registry (apps in one process never share figures)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "kam_http_requests",
            "HTTP requests answered, by method, route template and status",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "kam_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ("method", "route"),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.commands = Counter(
            "kam_commands",
            "Commands sent, by type and result (accepted, refused, replayed) and, when "
            "refused, the problem type: the rule broken or the error family",
            ("command", "result", "error"),
            registry=self.registry,
        )

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        # Labels only from bounded sets: any method a client invents counts as "other".
        method = method if method in METHODS else "other"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def accepted(self, command: str, position: int) -> None:
        self.commands.labels(command, "accepted", "").inc()
        log.info("%s accepted at position %d", command, position)

    def replayed(self, command: str) -> None:
        """A command sent again with its idempotency key: answered, nothing written."""
        self.commands.labels(command, "replayed", "").inc()
        log.info("%s replayed (idempotency key)", command)

    def refused(self, command: str, error: Exception) -> None:
        family = error_family(error)
        self.commands.labels(command, "refused", family).inc()
        # Not the message: it may quote what was sent, and logs must hold no one's personal data.
        log.info("%s refused (%s)", command, family)

    def watch(self, read: Callable[[], Iterator[Metric]]) -> None:
        """Adds figures read at each scrape (``ServiceFigures.collect``)."""
        self.registry.register(_Collector(read))


class _Collector:
    def __init__(self, read: Callable[[], Iterator[Metric]]) -> None:
        self.collect = read


#: psycopg_pool's figures (``get_stats()``): stat -> (metric name, help). Gauges are the pool's
#: state now, counters count since the pool opened.
POOL_GAUGES = {
    "pool_min": ("kam_db_pool_min_connections", "Connections the pool keeps open at least"),
    "pool_max": ("kam_db_pool_max_connections", "Connections the pool may open at most"),
    "pool_size": ("kam_db_pool_connections", "Connections the pool holds now (busy or idle)"),
    "pool_available": ("kam_db_pool_idle_connections", "Idle connections in the pool now"),
    "requests_waiting": ("kam_db_pool_waiting_requests", "Requests waiting for a connection"),
}
POOL_COUNTERS = {
    "requests_num": ("kam_db_pool_requests", "Connections asked of the pool"),
    "requests_queued": ("kam_db_pool_queued_requests", "Requests that waited for a connection"),
    "requests_wait_ms": ("kam_db_pool_wait_milliseconds", "Milliseconds requests waited, in all"),
    "requests_errors": ("kam_db_pool_request_errors", "Requests that got no connection"),
    "connections_num": ("kam_db_pool_connections_opened", "Connections opened to the server"),
    "connections_errors": ("kam_db_pool_connection_errors", "Failed attempts to connect"),
    "connections_lost": ("kam_db_pool_connections_lost", "Connections found broken"),
}


class ServiceFigures:
    """What ``/metrics`` reads from the services at each scrape: positions, the projector's lag
    and the PostgreSQL pools. A store that does not answer gives ``kam_store_up 0``, never an
    error."""

    def __init__(self, state: Any) -> None:
        self.state = state  # the app's state: kam, projector, views (once the lifespan ran)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("kam_store_up", "1 if the event store and read models answered")
        kam = getattr(self.state, "kam", None)
        projector = getattr(self.state, "projector", None)
        if kam is None or projector is None:
            up.add_metric([], 0)
            yield up
            return
        try:
            head = kam.recorder.max_notification_id() or 0
            position = projector.position()
            lag_seconds = self._lag_seconds(kam, position, head)
        except Exception:  # a scrape reports the store down, it does not fail
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            yield CounterMetricFamily(
                "kam_events_written",
                "Events in the log (its last position): rate() is events written per second",
                value=head,
            )
            yield CounterMetricFamily(
                "kam_events_projected",
                "Events every read model has passed: rate() is events projected per second",
                value=position,
            )
            yield GaugeMetricFamily(
                "kam_projector_lag_events",
                "Events in the log the read models have not passed yet",
                value=max(head - position, 0),
            )
            yield GaugeMetricFamily(
                "kam_projector_lag_seconds",
                "Age of the oldest event the read models have not passed yet (0: caught up)",
                value=lag_seconds,
            )
        yield from self._pools(kam)

    @staticmethod
    def _lag_seconds(kam: Any, position: int, head: int) -> float:
        if head <= position:
            return 0.0
        waiting = kam.recorder.select_notifications(position + 1, limit=1)
        if not waiting:
            return 0.0
        recorded: datetime = kam.store_features.recorded_at(waiting[0])
        return max((datetime.now(UTC) - recorded).total_seconds(), 0.0)

    def _pools(self, kam: Any) -> Iterator[Metric]:
        pools: dict[str, Any] = {
            "events": getattr(getattr(kam.recorder, "datastore", None), "pool", None),
            "read_models": getattr(getattr(self.state, "views", None), "pool", None),
        }
        stats = {
            name: pool.get_stats()
            for name, pool in pools.items()
            if hasattr(pool, "get_stats")  # psycopg_pool's; SQLite has none worth showing
        }
        if not stats:
            return
        for key, (metric, help_text) in POOL_GAUGES.items():
            gauge = GaugeMetricFamily(metric, help_text, labels=["pool"])
            for name, figures in stats.items():
                gauge.add_metric([name], figures.get(key, 0))
            yield gauge
        for key, (metric, help_text) in POOL_COUNTERS.items():
            counter = CounterMetricFamily(metric, help_text, labels=["pool"])
            for name, figures in stats.items():
                counter.add_metric([name], figures.get(key, 0))
            yield counter


def cache_stats(state: Any) -> list[CacheStats]:
    """The figures of this process's caches (``kam_store.bounded_cache``), and of the
    application's aggregate cache (the event-sourcing library's: no counts, only its size)."""
    stats = live_stats()
    cache = getattr(getattr(getattr(state, "kam", None), "repository", None), "cache", None)
    maxsize = getattr(cache, "maxsize", None)
    if maxsize is not None:
        stats.append(CacheStats("aggregates", len(cache.cache), maxsize))  # type: ignore[union-attr]
    return stats


#: CacheStats field -> (metric, help, counter?)
CACHE_FIGURES = {
    "size": ("kam_cache_entries", "Entries a cache holds now", False),
    "maxsize": ("kam_cache_max_entries", "Entries a cache may hold at most (its setting)", False),
    "hits": ("kam_cache_hits", "Reads a cache answered", True),
    "misses": ("kam_cache_misses", "Reads a cache did not answer", True),
    "evictions": ("kam_cache_evictions", "Entries dropped to keep a cache in its bound", True),
}


class CacheFigures:
    """``/metrics``' figures of the in-process caches, by cache name (instances of one name,
    such as each read-model table's rows, summed)."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        totals: dict[str, dict[str, int]] = {}
        for stats in cache_stats(self.state):
            figures = totals.setdefault(stats.name, {})
            for field in CACHE_FIGURES:
                value = getattr(stats, field)
                if value is not None:
                    figures[field] = figures.get(field, 0) + value
        for field, (metric, help_text, counter) in CACHE_FIGURES.items():
            family: GaugeMetricFamily | CounterMetricFamily = (
                CounterMetricFamily(metric, help_text, labels=["cache"])
                if counter
                else GaugeMetricFamily(metric, help_text, labels=["cache"])
            )
            for name, figures in sorted(totals.items()):
                if field in figures:
                    family.add_metric([name], figures[field])
            yield family
