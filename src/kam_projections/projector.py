"""The projector: reads the notification log from the last tracked position and feeds every
read model, many events per transaction, with the tracking position written in that same
transaction (exactly once: events at or below a model's tracked position are skipped, so a
duplicate delivery changes nothing and a crash at any point leaves the models equal to a
rebuild).

It runs embedded (a background thread in the API process, woken right after each local save,
polling as a fallback: SQLite has no subscriptions) or standalone (``kam project``: woken by
PostgreSQL LISTEN/NOTIFY with polling as a fallback, holding an advisory lock so exactly one
instance is active while others stand by, reconnecting when its connection is killed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from kam_domain.application import KamApplication
from kam_projections.actions import ActionStatusModel
from kam_projections.backoff import Backoff
from kam_projections.db import Dialect, PostgresViews, Tx, ViewDatabase
from kam_projections.erasure import redact
from kam_projections.events import Relationship
from kam_projections.freshness import wait_for_position
from kam_projections.health import HealthModel, refresh_health
from kam_projections.health_model import HealthWeights
from kam_projections.portfolio import PortfolioModel
from kam_projections.search import SearchModel
from kam_projections.sources import SourcesModel
from kam_projections.tables import Event, ReadModel
from kam_projections.timeline import Timeline
from kam_store.bounded_cache import BoundedCache

log = logging.getLogger("kam.projector")

MODEL_NAMES = ("portfolio", "actions", "health", "timeline", "sources", "search")

#: What each model costs to feed, relative to the others (measured with py-spy over a
#: catch-up of 30,000 events: health re-scores accounts, sources and timeline write a row or
#: more per event), used to split the models among worker processes.
MODEL_COSTS = {"health": 3, "portfolio": 2, "timeline": 2, "sources": 2, "actions": 1, "search": 1}


def model_groups(workers: int) -> list[tuple[str, ...]]:
    """The read models split into ``workers`` groups of about equal cost (largest first, each
    to the cheapest group so far), for ``kam project --workers``: each group is fed by a
    process of its own, with its own tracked positions and lock."""
    if not 1 <= workers <= len(MODEL_NAMES):
        raise ValueError(f"workers must be between 1 and {len(MODEL_NAMES)}")
    groups: list[list[str]] = [[] for _ in range(workers)]
    costs = [0] * workers
    for name in sorted(MODEL_NAMES, key=lambda n: (-MODEL_COSTS[n], MODEL_NAMES.index(n))):
        cheapest = costs.index(min(costs))
        groups[cheapest].append(name)
        costs[cheapest] += MODEL_COSTS[name]
    return [tuple(sorted(g, key=MODEL_NAMES.index)) for g in groups]


def build_models(
    weights: HealthWeights | None = None, reporting_currency: str = "EUR"
) -> list[ReadModel]:
    """The read models, in the order they are fed (the portfolio's money in
    ``reporting_currency``)."""
    return [
        PortfolioModel(reporting_currency),
        ActionStatusModel(),
        HealthModel(weights),
        Timeline(),
        SourcesModel(),
        SearchModel(),
    ]


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


#: Events per batch at most (one transaction). A batch's fixed costs (re-scoring the accounts
#: it touched, re-ranking revenue, a query per table for the rows it reads) are shared by its
#: events: catching up 30,000 events took 30 % less CPU with 5,000 than with 1,000. A projector
#: that keeps up gets small batches whatever this is.
BATCH_SIZE = 5000

#: Events whose decoding is prepared at once (see ``StoreFeatures.prepare``): few enough that
#: they are decoded while the people's keys read for them are still cached (1 s), even on a
#: loaded machine; a profile of a rebuild under a load average of 20 found a quarter of its
#: time in one-by-one key reads after the cache had expired mid-slice with 500.
PREPARE_AHEAD = 200


def decode(app: KamApplication, notification: Notification) -> Event:
    """A stored event as the read models see it (upcast like any domain event)."""
    return decode_stored(app, notification, notification.id)


def decode_stored(app: KamApplication, stored: StoredEvent, position: int) -> Event:
    """A stored event, read from the log at ``position`` (0 when read by aggregate), as the
    read models see it."""
    domain_event = app.mapper.to_domain_event(stored)
    data = dict(vars(domain_event))
    if b"\\u0000" in stored.state:
        # PostgreSQL text cannot hold NUL: one such event must not wedge the projector.
        data = {k: _without_nul(v) for k, v in data.items()}
    for key in ("originator_id", "originator_version", "originator_topic"):
        data.pop(key, None)
    recorded_at = data.pop("timestamp")
    return Event(
        position=position,
        name=stored.topic.rsplit(":", 1)[-1],
        aggregate_id=stored.originator_id,  # type: ignore[arg-type]
        version=stored.originator_version,
        recorded_at=recorded_at,
        data=data,
        cls=type(domain_event),
    )


class Projector:
    """Feeds the read models from the log; ``run_once`` processes one batch."""

    def __init__(
        self,
        app: KamApplication,
        views: ViewDatabase,
        models: Sequence[ReadModel] | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], date] = date.today,
        peers: Sequence[str] = (),
        owner_cache_size: int = 50_000,
    ) -> None:
        self.app = app
        #: Models other processes feed (``kam project --workers``): their tracking rows are
        #: made here too, at position 0, so a read-your-writes wait (the lowest position of
        #: all) waits for them even before their own process has started.
        self.peers = tuple(peers)
        self.views = views
        self.models = (
            list(models)
            if models is not None
            else build_models(reporting_currency=app.reporting_currency)
        )
        self.batch_size = batch_size
        self.clock = clock
        self._owners: BoundedCache[UUID, UUID] = BoundedCache("projector_owners", owner_cache_size)
        self._generation: int | None = None
        self._committed: dict[str, int] = {}  # what this projector last wrote, per model
        self._refreshed_on: date | None = None
        self._erased: set[UUID] | None = None  # stakeholders whose personal data is erased
        #: Called between the view writes and the commit (tests inject failures here).
        self.before_commit: Callable[[], None] | None = None

    # --- Schema -----------------------------------------------------------------------

    def setup(self) -> None:
        """Creates the read-model tables and tracking rows if they do not exist."""
        big = "BIGINT" if self.views.dialect == "postgres" else "INTEGER"
        with self.views.transaction() as tx:
            self.views.lock_for_setup(tx)
            tx.execute(
                f"CREATE TABLE IF NOT EXISTS rm_tracking (model TEXT PRIMARY KEY, "
                f"position {big} NOT NULL, generation INTEGER NOT NULL)"
            )
            tx.execute(
                "CREATE TABLE IF NOT EXISTS rm_owners (aggregate_id TEXT PRIMARY KEY, "
                "account_id TEXT NOT NULL, kind TEXT NOT NULL)"
            )
            tx.execute(
                "CREATE INDEX IF NOT EXISTS rm_owners_account ON rm_owners (account_id, kind)"
            )
            tx.execute(
                "CREATE TABLE IF NOT EXISTS rm_erased (aggregate_id TEXT PRIMARY KEY, "
                f"position {big} NOT NULL)"
            )
            tx.execute(
                "CREATE TABLE IF NOT EXISTS rm_shapes (model TEXT PRIMARY KEY, shape TEXT NOT NULL)"
            )
            for model in self.models:
                for statement in model.ddl(self.views.dialect, "") + model.index_ddl(""):
                    tx.execute(statement)
            for name in dict.fromkeys([*(m.name for m in self.models), *self.peers]):
                tx.execute(
                    "INSERT INTO rm_tracking (model, position, generation) "
                    "VALUES (:model, 0, 0) ON CONFLICT (model) DO NOTHING",
                    {"model": name},
                )

    def stale_models(self) -> list[str]:
        """The models whose stored rows were built under another shape (tables, indexes,
        revision or parameters; ``ReadModel.shape``), which must be rebuilt before use.

        A model with no recorded shape is new if it has projected nothing (its shape is
        recorded now), and stale if it has (rows from before shapes were recorded)."""
        dialect = self.views.dialect
        with self.views.transaction() as tx:
            self.views.lock_for_setup(tx)
            stored = {
                r["model"]: r["shape"] for r in tx.execute("SELECT model, shape FROM rm_shapes")
            }
            tracked = self.tracked(tx)
            stale, fresh = [], []
            for model in self.models:
                shape = stored.get(model.name)
                if shape is None and tracked.get(model.name, (0, 0))[0] == 0:
                    fresh.append(model)
                elif shape != model.shape(dialect):
                    stale.append(model.name)
            record_shapes(tx, dialect, fresh)
        return stale

    # --- Positions --------------------------------------------------------------------

    def tracked(self, tx: Tx | None = None, *, lock: bool = False) -> dict[str, tuple[int, int]]:
        """Each model's (position, generation). ``lock``: this projector's models' rows are
        locked for the transaction (another projector feeding the same models waits; one
        feeding other models does not)."""
        sql = "SELECT model, position, generation FROM rm_tracking"
        params: dict[str, str] = {}
        if lock and self.views.dialect == "postgres":
            params = {f"m{i}": model.name for i, model in enumerate(self.models)}
            sql += (
                f" WHERE model IN ({', '.join(':' + k for k in params)}) ORDER BY model FOR UPDATE"
            )
        rows = tx.execute(sql, params) if tx is not None else self.views.query(sql)
        return {r["model"]: (r["position"], r["generation"]) for r in rows}

    def position(self) -> int:
        """The position every read model has passed."""
        tracked = self.tracked()
        return min((tracked.get(m.name, (0, 0))[0] for m in self.models), default=0)

    # --- Processing -------------------------------------------------------------------

    def run_once(self) -> int:
        """Processes the next batch of events in one transaction; returns how many."""
        start = self.position()
        notifications = self.app.recorder.select_notifications(start + 1, limit=self.batch_size)
        if not notifications:
            self._refresh_if_new_day()
            return 0
        today = self.clock()
        try:
            with self.views.transaction() as tx:
                tracked = self.tracked(tx, lock=True)
                self._check_generation(tracked)
                processed = self._apply(tx, notifications, tracked, today)
                if self.before_commit is not None:
                    self.before_commit()
        except BaseException:
            self.forget()
            raise
        for model in self.models:
            model.committed()
            self._committed[model.name] = notifications[-1].id
        return processed

    def _apply(
        self,
        tx: Tx,
        notifications: Sequence[Notification],
        tracked: dict[str, tuple[int, int]],
        today: date,
        models: Sequence[ReadModel] | None = None,
        *,
        track: bool = True,
    ) -> int:
        models = list(models) if models is not None else self.models
        owners: list[dict[str, str]] = []
        erasures: list[dict[str, Any]] = []
        processed = 0
        floor = min(tracked.get(m.name, (0, 0))[0] for m in models)
        fresh = [n for n in notifications if n.id > floor]  # others: a duplicate delivery
        for start in range(0, len(fresh), PREPARE_AHEAD):
            # A slice at a time: what decoding it needs (the people's keys) in one query, so
            # nothing read ahead outlives the store's key cache; then its events decoded and
            # the rows their reactions read fetched a query per table (``prefetch``).
            part = fresh[start : start + PREPARE_AHEAD]
            self.app.store_features.prepare(part)
            decoded = [self._decode(tx, n, owners, erasures) for n in part]
            for model in models:
                position = tracked.get(model.name, (0, 0))[0]
                model.prefetch(tx, [(e, a) for e, _, a in decoded if e.position > position])
            for event, history, account_id in decoded:
                for model in models:
                    if event.position > tracked.get(model.name, (0, 0))[0]:
                        model.apply(tx, event, account_id)
                        if history is not None:
                            model.erase(tx, event, history, account_id)
                processed += 1
        last = notifications[-1].id
        tx.upsert_rows(
            "rm_owners", ["aggregate_id"], ["aggregate_id", "account_id", "kind"], owners,
            update=False,
        )  # fmt: skip
        tx.upsert_rows(
            "rm_erased", ["aggregate_id"], ["aggregate_id", "position"], erasures, update=False
        )
        for model in models:
            model.finish(tx, today)
        behind = {
            f"m{i}": model.name
            for i, model in enumerate(models)
            if last > tracked.get(model.name, (0, 0))[0]
        }
        if track and behind:  # one statement: a round trip per batch, not per model
            tx.execute(
                "UPDATE rm_tracking SET position = :position "
                f"WHERE model IN ({', '.join(':' + k for k in behind)})",
                {"position": last, **behind},
            )
        return processed

    def _decode(
        self,
        tx: Tx,
        notification: Notification,
        owners: list[dict[str, str]],
        erasures: list[dict[str, Any]],
    ) -> tuple[Event, list[Event] | None, UUID | None]:
        """An event as the models see it, with the erased person's history (an erasure) and
        the account it belongs to."""
        event = decode(self.app, notification)
        history = None
        if event.aggregate_type == "Relationship":
            event, history = self._as_erased(tx, event, erasures)
        return event, history, self._owner(tx, event, owners)

    def _as_erased(
        self, tx: Tx, event: Event, erasures: list[dict[str, Any]]
    ) -> tuple[Event, list[Event] | None]:
        """A stakeholder's event as the models see it: redacted once the person is erased
        (whether or not the store already decodes it so). With an erasure, also the person's
        earlier events, read again and redacted, for the models to rewrite what they hold."""
        if self._erased is None:
            rows = tx.execute("SELECT aggregate_id FROM rm_erased")
            self._erased = {UUID(r["aggregate_id"]) for r in rows}
        if event.cls is not Relationship.PersonalDataErased:
            erased = event.aggregate_id in self._erased
            return (redact(event), None) if erased else (event, None)
        self._erased.add(event.aggregate_id)
        erasures.append({"aggregate_id": str(event.aggregate_id), "position": event.position})
        stored = self.app.recorder.select_events(event.aggregate_id, lte=event.version - 1)
        history = [redact(decode_stored(self.app, s, 0)) for s in stored]
        return redact(event), history

    def _owner(self, tx: Tx, event: Event, owners: list[dict[str, str]]) -> UUID | None:
        """The account an event belongs to (None for the index aggregates)."""
        kind = event.aggregate_type
        if kind == "KeyAccount":
            return event.aggregate_id
        if kind not in ("AccountPlan", "Relationship"):
            return None
        account = self._owners.get(event.aggregate_id)
        if account is None and event.version == 1:
            account = event.data["account_id"]
            owners.append(
                {"aggregate_id": str(event.aggregate_id), "account_id": str(account), "kind": kind}
            )
        elif account is None:
            row = tx.one(
                "SELECT account_id FROM rm_owners WHERE aggregate_id = :a",
                {"a": str(event.aggregate_id)},
            )
            account = UUID(row["account_id"]) if row else None
        if account is not None:
            self._owners.put(event.aggregate_id, account)
        return account

    def _check_generation(self, tracked: dict[str, tuple[int, int]]) -> None:
        generation = sum(tracked.get(m.name, (0, 0))[1] for m in self.models)
        if self._generation is not None and generation != self._generation:
            self.forget()  # a rebuild swapped tables: nothing cached is valid any more
        elif any(
            tracked.get(name, (0, 0))[0] != position for name, position in self._committed.items()
        ):
            self.forget()  # another projector (e.g. another API worker) wrote since our last
        self._generation = generation

    def _refresh_if_new_day(self) -> None:
        today = self.clock()
        if today != self._refreshed_on:
            health = next((m for m in self.models if isinstance(m, HealthModel)), None)
            if health is not None:
                refreshed = refresh_health(self.views, health, today)
                if refreshed:
                    log.info("re-scored %d accounts for %s", refreshed, today)
            self._refreshed_on = today

    def forget(self) -> None:
        for model in self.models:
            model.forget()
        self._owners.clear()
        self._committed.clear()
        self._erased = None

    def catch_up(self) -> int:
        """Processes batches until the log is exhausted; returns how many events."""
        total = 0
        while processed := self.run_once():
            total += processed
        return total

    def wait(self, position: int, timeout: float) -> bool:
        """Waits until every read model has passed ``position``; False on timeout."""
        return wait_for_position(self.views, position, timeout)


def record_shapes(tx: Tx, dialect: Dialect, models: Sequence[ReadModel]) -> None:
    for model in models:
        tx.execute(
            "INSERT INTO rm_shapes (model, shape) VALUES (:model, :shape) "
            # Unchanged shapes are not written again: a start writes nothing it need not.
            "ON CONFLICT (model) DO UPDATE SET shape = excluded.shape "
            "WHERE rm_shapes.shape <> excluded.shape",
            {"model": model.name, "shape": model.shape(dialect)},
        )


class EmbeddedProjector:
    """The projector on a background thread, woken after each local save, polling otherwise."""

    def __init__(self, projector: Projector, *, poll_interval: float = 1.0) -> None:
        self.projector = projector
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kam-projector", daemon=True)

    def start(self) -> None:
        self.projector.setup()
        self.projector.app.saved_listeners.append(self.wake)
        self._thread.start()

    def wake(self, _position: int = 0) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        if self.wake in self.projector.app.saved_listeners:
            self.projector.app.saved_listeners.remove(self.wake)

    def _run(self) -> None:
        backoff = Backoff()
        failing = False
        while not self._stop.is_set():
            try:
                processed = self.projector.run_once()
                backoff.reset()
                failing = False
            except Exception as error:
                delay = backoff.next()
                if failing:  # one traceback per outage, then one line per attempt
                    log.warning(
                        "projector batch failed again (%s); retrying in %.1f s",
                        type(error).__name__,
                        delay,
                    )
                else:
                    log.exception("projector batch failed; retrying in %.1f s", delay)
                failing = True
                self._stop.wait(delay)
                continue
            if processed == 0:
                self._wake.wait(self.poll_interval)
                self._wake.clear()


__all__ = [
    "MODEL_NAMES",
    "EmbeddedProjector",
    "PostgresViews",
    "Projector",
    "build_models",
    "decode",
    "decode_stored",
    "model_groups",
]
