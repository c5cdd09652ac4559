"""The application service's machinery: environment, loading, saving, snapshots, retries.

The command handlers (``kam_domain.handlers``) use these; ``application.KamApplication``
adds the dispatcher and the queries.

Loading and the aggregate cache: with ``aggregate_cache_size`` > 0 a command first runs on a
cached copy of its aggregates, with no read from the store. The save is checked against the
stored version all the same, so a cache that missed another process's write cannot overwrite
it: the save conflicts, and the command is run once more on freshly loaded aggregates. A
command refused on cached state is retried on fresh state too, so a stale cache never shows
as a wrong answer. Reads (``get_account`` ...) always load from the store.

Retrying conflicts: commands of one process that change the same aggregate take turns (a
lock per aggregate being written), so they never conflict with each other; a command that
conflicts on fresh state (another writer saved the same
aggregate between its load and its save) is run again on fresh state, up to
``command_retries`` more times, after ``retry_pause(retry)`` (the composition root passes a
jittered sleep, so writers that collided do not collide again in step). An unconditional
command thus succeeds or is refused by a business rule; a conditional one (``expected_version``,
HTTP If-Match) fails with ``VersionMismatchError`` on its first fresh load after the conflict.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, Recording
from eventsourcing.utils import Environment, EnvType

from kam_domain.account_plans import AccountPlan
from kam_domain.base import REPLAY_MARK, KamAggregate, replay
from kam_domain.commands.base import CommandResult
from kam_domain.dates import DEFAULT_TOLERANCE_DAYS, DateBounds
from kam_domain.errors import (
    AccountExitedError,
    AccountNotFoundError,
    ConflictError,
    KamError,
    NotFoundError,
    PlanNotFoundError,
    StakeholderNotFoundError,
    VersionMismatchError,
)
from kam_domain.exchange_rates import ExchangeRate
from kam_domain.idempotency import (
    AlreadyAppliedError,
    AnswerStore,
    IdempotencyPolicy,
    IdempotentWrite,
    claim_used,
    current_claim,
)
from kam_domain.indexes import TierRoster
from kam_domain.key_accounts import KeyAccount
from kam_domain.people import PeopleDirectory
from kam_domain.relationships import Relationship
from kam_domain.store_features import LibraryStoreFeatures, MapperFactory, StoreFeaturesFactory
from kam_domain.transcodings import register_kam_transcodings
from kam_domain.values import Tier, require_currency

A = TypeVar("A", bound=KamAggregate)

DEFAULT_TIER_CAPS: Mapping[Tier, int] = {Tier.STRATEGIC: 10, Tier.KEY: 30, Tier.EMERGING: 60}


def _project(aggregate: Any, domain_events: Any) -> Any:
    # The library's projector minus a per-event runtime ``Protocol`` isinstance check that
    # cost more than applying the event.
    return replay(domain_events, aggregate)


class KamApplicationBase(Application[UUID]):
    """Loading, saving and retrying for the KAM use cases."""

    is_snapshotting_enabled = True
    NOT_FOUND: ClassVar[dict[type[KamAggregate], type[NotFoundError]]] = {
        KeyAccount: AccountNotFoundError,
        AccountPlan: PlanNotFoundError,
        Relationship: StakeholderNotFoundError,
    }

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        tier_caps: Mapping[Tier, int] = DEFAULT_TIER_CAPS,
        snapshot_interval: int = 50,
        aggregate_cache_size: int = 0,
        liveness_ttl: float = 2.0,
        store_features: StoreFeaturesFactory = LibraryStoreFeatures,
        mapper: MapperFactory | None = None,
        clock: Callable[[], date] | None = None,
        future_tolerance_days: int = DEFAULT_TOLERANCE_DAYS,
        reporting_currency: str = "EUR",
        people: PeopleDirectory | None = None,
        command_retries: int = 8,
        retry_pause: Callable[[int], None] | None = None,
        idempotency_hours: float = 24.0,
    ) -> None:
        if command_retries < 0:
            raise ValueError("command_retries must not be negative")
        if idempotency_hours <= 0:
            raise ValueError("idempotency_hours must be positive")
        if snapshot_interval < 1:
            raise ValueError("snapshot_interval must be at least 1")
        if aggregate_cache_size < 0:
            raise ValueError("aggregate_cache_size must not be negative")
        if future_tolerance_days < 0:
            raise ValueError("future_tolerance_days must not be negative")
        self.tier_caps = dict(tier_caps)
        #: The currency exchange rates are recorded to (``RecordExchangeRate``).
        self.reporting_currency = require_currency("reporting_currency", reporting_currency)
        #: Today, for the dates commands may carry (None: no "today", only the floor applies).
        self.clock = clock
        self.future_tolerance_days = future_tolerance_days
        #: The users the people a command names must be (None: names are not checked).
        self.people = people
        self.aggregate_cache_size = aggregate_cache_size
        #: Runs on fresh state after a conflict before the command gives up (see ``run``).
        self.command_retries = command_retries
        #: Called with the retry's number (0, 1, ...) before it: waits (None: at once).
        self.retry_pause = retry_pause
        #: How long idempotency keys live, and the keys running in this process.
        self.idempotency = IdempotencyPolicy(hours=idempotency_hours)
        # Writers in this process that change one aggregate queue here instead of conflicting
        # at the save; retries are left for other processes' writes.
        self._turns: dict[UUID, _Turn] = {}
        self._turns_lock = threading.Lock()
        self.liveness_ttl = liveness_ttl
        self._live_until: dict[UUID, float] = {}
        #: Called with the last position after each save (wakes an embedded projector).
        self.saved_listeners: list[Callable[[int], None]] = []
        #: Makes the mapper (the store's, sealing personal data); None: the library's.
        self.mapper_factory = mapper
        # Instance attribute on purpose: the interval is a setting, not a class constant.
        self.snapshotting_intervals = {  # type: ignore[misc]
            KeyAccount: snapshot_interval,
            AccountPlan: snapshot_interval,
            Relationship: snapshot_interval,
            TierRoster: snapshot_interval,
            ExchangeRate: snapshot_interval,
        }
        super().__init__(env)
        #: The store's answers to as-of and last-topic questions (see ``store_features``).
        self.store_features = store_features(self)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only the given environment: settings are translated in one place (kam_store.env),
        so stray ``KAM_*`` or ``POSTGRES_*`` process variables cannot re-point the store."""
        _env = {"IS_SNAPSHOTTING_ENABLED": "y", "PERSISTENCE_MODULE": "eventsourcing.popo"}
        _env.update(env or {})
        if self.aggregate_cache_size:
            # No fast-forward read on every get: the version check at save time and one retry
            # on fresh state keep a stale cache harmless (see the module docstring).
            _env["AGGREGATE_CACHE_MAXSIZE"] = str(self.aggregate_cache_size)
            _env["AGGREGATE_CACHE_FASTFORWARD"] = "n"
        return Environment(name, _env)

    def construct_mapper(self) -> Mapper[UUID]:
        if self.mapper_factory is None:
            return super().construct_mapper()
        return self.mapper_factory(self, self.construct_transcoder())

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_kam_transcodings(transcoder)

    def close(self) -> None:
        self.store_features.close()
        super().close()

    def date_bounds(self) -> DateBounds:
        """The bounds of a command's dates now: today from the clock, if one was given."""
        today = self.clock() if self.clock is not None else None
        return DateBounds(today=today, tolerance_days=self.future_tolerance_days)

    # --- Loading ------------------------------------------------------------------------

    def get(self, cls: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        """The aggregate as stored now (or as of ``version``), or its typed not-found error."""
        return self.load(cls, aggregate_id, version=version, fresh=True)

    def load(
        self,
        cls: type[A],
        aggregate_id: UUID,
        *,
        version: int | None = None,
        fresh: bool,
        copy: bool = True,
    ) -> A:
        """The aggregate, from the cache unless ``fresh``; typed not-found error if absent.

        ``copy=False`` hands out the cached object itself, for readers that never change it
        (a report over a few dozen aggregates would otherwise copy each one).
        """
        if fresh:
            self._evict(aggregate_id)
        try:
            aggregate = self.repository.get(
                aggregate_id,
                version=version,
                projector_func=_project,
                deepcopy_from_cache=copy,
            )
        except AggregateNotFoundError:
            aggregate = None
        if aggregate is not None and REPLAY_MARK in vars(aggregate):
            aggregate = self._replayed(aggregate_id, version)
        if not isinstance(aggregate, cls):
            raise self.NOT_FOUND.get(cls, NotFoundError)(
                f"no {noun(cls)} {aggregate_id}", id=str(aggregate_id)
            )
        return aggregate

    def load_expected(
        self, cls: type[A], aggregate_id: UUID, expected_version: int | None, *, fresh: bool
    ) -> A:
        """The aggregate (see ``load``), refused with ``VersionMismatchError`` unless it is at
        ``expected_version`` (when one is given: HTTP If-Match)."""
        aggregate = self.load(cls, aggregate_id, fresh=fresh)
        check_version(aggregate, expected_version)
        return aggregate

    def get_as_of(self, cls: type[A], aggregate_id: UUID, at: datetime) -> A:
        """The aggregate as it was at instant ``at``: built from the events recorded up to then
        (via the snapshots before it); the aggregate's not-found error if it did not exist."""
        version = self.version_at(aggregate_id, at)
        if version is None:
            raise self.NOT_FOUND.get(cls, NotFoundError)(
                f"{noun(cls)} {aggregate_id} did not exist at {at.isoformat()}",
                id=str(aggregate_id),
            )
        return self.load(cls, aggregate_id, version=version, fresh=False)

    def version_at(self, aggregate_id: UUID, at: datetime) -> int | None:
        """The aggregate's last version recorded at or before ``at`` (None if none was; a
        naive instant is UTC), as the store features find it: a binary search over versions,
        in the database where the store can (PostgreSQL)."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return self.store_features.version_at(aggregate_id, at)

    def _replayed(self, aggregate_id: UUID, version: int | None) -> Any:
        """The aggregate rebuilt from its events alone: for a snapshot its upcaster could not
        bring up to date (``REPLAY_MARK``); not cached, so the next load decides again until
        a newer snapshot is taken."""
        self._evict(aggregate_id)
        return replay(self.repository.event_store.get(aggregate_id, lte=version))

    def _evict(self, aggregate_id: UUID) -> None:
        cache = self.repository.cache
        if cache is not None:
            with contextlib.suppress(KeyError):
                cache.get(aggregate_id, evict=True)

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether any event of this aggregate is stored."""
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    # --- Saving -------------------------------------------------------------------------

    def save_aggregates(
        self, *aggregates: KamAggregate, idempotency: IdempotentWrite | None = None
    ) -> list[Recording[UUID]]:
        """Saves the aggregates' new events in one transaction (``Application.save`` without
        its per-object runtime Protocol checks, which cost more than the rest of the save);
        ``idempotency``: the key and answer the recorder writes in that transaction."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        if idempotency is not None:
            processing_event.saved_kwargs["idempotency"] = idempotency
        for aggregate in aggregates:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def commit(
        self, primary: KamAggregate, *others: KamAggregate, entity_id: UUID | None = None
    ) -> CommandResult:
        """Saves the aggregates' new events in one transaction; ``ConflictError`` (nothing
        written) if any of them was changed by someone else since it was loaded. A command
        with an idempotency key (``kam_domain.idempotency``) stores its answer in the same
        transaction; if another writer committed that key first, ``AlreadyAppliedError``."""
        claim = current_claim()
        write = None
        if claim is not None:
            write = IdempotentWrite(claim, primary.id, primary.version, entity_id)
        try:
            recordings = self.save_aggregates(primary, *others, idempotency=write)
        except IntegrityError:
            for aggregate in (primary, *others):
                self._evict(aggregate.id)
            if claim is not None and isinstance(self.recorder, AnswerStore):
                stored = self.recorder.stored_answer(claim.user, claim.key, claim.now)
                if stored is not None:
                    raise AlreadyAppliedError(stored) from None
            raise ConflictError(
                f"{noun(type(primary))} {primary.id} was changed by someone else; "
                "reload and try again",
                id=str(primary.id),
            ) from None
        if claim is not None:
            claim_used()
        position = max((r.notification.id for r in recordings), default=0)
        return CommandResult(primary.id, primary.version, position, entity_id)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if recordings and self.saved_listeners:
            position = recordings[-1].notification.id
            for listener in list(self.saved_listeners):
                listener(position)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshots each saved aggregate whose new events crossed a multiple of its interval.

        The library reloads the aggregate from the store to snapshot it; the object just saved
        already holds exactly that state, so it is snapshotted as it is (one load fewer).
        """
        if self.snapshots is None:
            return
        crossed: dict[UUID, KamAggregate] = {}
        for domain_event in processing_event.events:
            aggregate = processing_event.aggregates.get(domain_event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))  # type: ignore[arg-type]
            if interval and domain_event.originator_version % interval == 0:
                assert isinstance(aggregate, KamAggregate)
                crossed[aggregate.id] = aggregate
        if crossed:
            self.snapshots.put([Snapshot.take(a) for a in crossed.values()])

    # --- Running commands ---------------------------------------------------------------

    def run(
        self, attempt: Callable[[bool], CommandResult], key: UUID | None = None
    ) -> CommandResult:
        """Runs ``attempt(fresh)``: on cached aggregates first when caching, then on fresh ones
        if that was refused or conflicted, and again on fresh ones after each conflict, up to
        ``command_retries`` times (see the module docstring). ``key``: the aggregate the
        command changes first; commands on it in this process run one at a time."""
        if key is None:
            return self._run(attempt)
        with self._turn(key):
            return self._run(attempt)

    @contextlib.contextmanager
    def _turn(self, key: UUID) -> Iterator[None]:
        """Holds the lock of the aggregate ``key`` in this process (made on first use, dropped
        when no writer holds or waits for it: one per aggregate being written, not per id)."""
        with self._turns_lock:
            turn = self._turns.get(key)
            if turn is None:
                turn = self._turns[key] = _Turn()
            turn.users += 1
        try:
            with turn.lock:
                yield
        finally:
            with self._turns_lock:
                turn.users -= 1
                if not turn.users:
                    del self._turns[key]

    def _run(self, attempt: Callable[[bool], CommandResult]) -> CommandResult:
        if self.aggregate_cache_size:
            try:
                return attempt(False)
            except KamError:
                pass  # refused or conflicted on cached state: decide on fresh state
        retry = 0
        while True:
            try:
                return attempt(True)
            except VersionMismatchError:
                raise  # If-Match named a version that is gone: only the client can decide
            except ConflictError:
                if retry >= self.command_retries:
                    raise
            if self.retry_pause is not None:
                self.retry_pause(retry)
            retry += 1

    def change(
        self,
        cls: type[A],
        aggregate_id: UUID,
        expected_version: int | None,
        command: Callable[[A], UUID | None],
        *,
        guard: Callable[[A], None] | None = None,
    ) -> CommandResult:
        """Loads one aggregate, checks ``expected_version``, applies the command, saves."""

        def attempt(fresh: bool) -> CommandResult:
            aggregate = self.load_expected(cls, aggregate_id, expected_version, fresh=fresh)
            if guard is not None:
                guard(aggregate)
            return self.commit(aggregate, entity_id=command(aggregate))

        return self.run(attempt, aggregate_id)

    # --- Account liveness ---------------------------------------------------------------

    def ensure_live(self, account_id: UUID) -> None:
        """Refuses work on an exited account's plans and stakeholders.

        Exiting is final, so the account's last stored event tells, without replaying the
        account. The check cannot be atomic with a write to another aggregate anyway, so a
        "still live" answer is trusted for ``liveness_ttl`` seconds: an exit made in this
        process applies at once, one made by another process within that time.
        """
        now = time.monotonic()
        if self._live_until.get(account_id, 0.0) > now:
            return
        topic = self.store_features.last_topic(account_id)
        if topic is None:
            raise AccountNotFoundError(f"KeyAccount {account_id} not found", id=str(account_id))
        if topic.endswith(f":{KeyAccount.__qualname__}.Exited"):
            raise AccountExitedError(f"account {account_id} has exited the programme")
        if self.liveness_ttl > 0:
            if len(self._live_until) > 100_000:
                self._live_until.clear()
            self._live_until[account_id] = now + self.liveness_ttl

    def forget_liveness(self, account_id: UUID) -> None:
        self._live_until.pop(account_id, None)


class _Turn:
    """One aggregate's writers' lock and how many hold or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        # Re-entrant: a handler that runs another command on the same aggregate must not hang.
        self.lock = threading.RLock()
        self.users = 0


#: What messages call an aggregate whose class name is not its everyday name.
NOUNS = {"KeyAccount": "account", "AccountPlan": "plan", "Relationship": "stakeholder"}


def noun(cls: type) -> str:
    """An aggregate class as a message names it: ``KeyAccount`` -> "account",
    ``ExchangeRate`` -> "exchange rate"."""
    name = cls.__name__
    return NOUNS.get(name) or re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def check_version(aggregate: KamAggregate, expected_version: int | None) -> None:
    """Raises ``VersionMismatchError`` unless the aggregate is at the expected version."""
    if expected_version is not None and expected_version != aggregate.version:
        raise VersionMismatchError(
            f"{noun(type(aggregate))} {aggregate.id} is at version {aggregate.version}, "
            f"not {expected_version}",
            current_version=aggregate.version,
        )
