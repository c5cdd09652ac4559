"""``kam rebuild``: rebuilds read models from the whole log without readers ever seeing an empty
or half-built model.

1. Builds into fresh tables (``<table>__build``), streaming the log in chunks, so memory stays
   flat however long the log is. Health scores and revenue ranks are computed once at the end.
   A killed rebuild leaves these tables behind: the next rebuild, and every projector as it
   starts (``rebuild_stale``), drops them, unless a rebuild running now holds the lock.
2. Then, in one transaction that holds the live models' tracking rows (the live projector
   waits): catches up with events written meanwhile, swaps the fresh tables in, sets their
   tracking position and bumps the generation so every projector drops what it had cached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from kam_domain.application import KamApplication
from kam_projections.db import Tx, ViewDatabase
from kam_projections.health import HealthModel
from kam_projections.health_model import HealthWeights
from kam_projections.portfolio import PortfolioModel
from kam_projections.projector import MODEL_NAMES, Projector, build_models, record_shapes
from kam_projections.tables import ReadModel

SUFFIX = "__build"
#: Rows each table keeps in memory between a rebuild's chunks by default (``kam rebuild`` takes
#: ``KAM_REBUILD_ROW_CACHE_SIZE``). At 100,000 events (measured 2026-12-03): peak RSS 170 MB in
#: 32.0 s, against 209 MB in 27.4 s keeping every row written, which grew to 940 MB at 1,000,000.
REBUILD_ROW_CACHE_SIZE = 5_000

log = logging.getLogger("kam.rebuild")


class UnknownReadModelError(ValueError):
    """No read model has that name."""


def rebuild(
    app: KamApplication,
    views: ViewDatabase,
    names: Sequence[str] = MODEL_NAMES,
    *,
    chunk: int = 10_000,
    clock: Callable[[], date] = date.today,
    progress: Callable[[int, int], None] | None = None,
    weights: HealthWeights | None = None,
    only_stale: bool = False,
    models: Callable[[], list[ReadModel]] | None = None,
    row_cache_size: int = REBUILD_ROW_CACHE_SIZE,
) -> int:
    """Rebuilds the named read models (``only_stale``: those of them whose shape changed);
    returns the position they were rebuilt to. One rebuild runs at a time per set of read models
    (a database; on PostgreSQL, a schema).
    ``models`` makes the set of models to build (default: ``build_models`` with ``weights`` and
    the application's reporting currency). ``row_cache_size``: rows each table keeps in memory
    between chunks, which bounds the rebuild's memory however long the log."""
    factory = models or (lambda: build_models(weights, app.reporting_currency))
    unknown = set(names) - set(MODEL_NAMES)
    if unknown:
        raise UnknownReadModelError(
            f"unknown read model {', '.join(sorted(unknown))}; one of {', '.join(MODEL_NAMES)}"
        )
    with views.rebuilding():
        drop_build_tables(views)  # a killed rebuild's; this one makes its own afresh
        live = Projector(app, views, factory(), clock=clock)
        live.setup()  # tracking rows and live tables exist before they are swapped
        if only_stale:
            names = [name for name in live.stale_models() if name in names]
            if not names:
                return live.position()
        built = [model for model in factory() if model.name in names]
        for model in built:
            model.bound_caches(row_cache_size)
        return _rebuild(app, views, built, chunk=chunk, clock=clock, progress=progress)


def rebuild_stale(
    projector: Projector, *, progress: Callable[[int, int], None] | None = None
) -> list[str]:
    """Sets the projector's tables up and rebuilds the models whose shape changed since their
    rows were built (a new column, index or revision, another reporting currency or health
    weights: ``ReadModel.shape``); returns their names. Every process that projects calls
    this before it starts, so a store written by an older version needs no manual step.
    It first drops the tables a killed rebuild left behind (``drop_leftover_builds``)."""
    drop_leftover_builds(projector.views)
    projector.setup()
    stale = projector.stale_models()
    if not stale:
        return []
    log.warning("read models %s changed shape; rebuilding them from the log", ", ".join(stale))
    rebuild(
        projector.app,
        projector.views,
        stale,
        clock=projector.clock,
        progress=progress,
        only_stale=True,
        models=lambda: [model.fresh() for model in projector.models],
    )
    projector.forget()
    return stale


def drop_leftover_builds(views: ViewDatabase) -> list[str]:
    """Drops the ``__build`` tables a killed rebuild left behind and returns their names;
    none while a rebuild runs (it holds the rebuild lock, and those tables are its own)."""
    with views.rebuilding(wait=False) as held:
        return drop_build_tables(views) if held else []


def drop_build_tables(views: ViewDatabase) -> list[str]:
    """Drops every read model's ``__build`` table (their indexes go with them); call it only
    holding the rebuild lock."""
    pattern = "rm\\_%" + SUFFIX.replace("_", "\\_")  # LIKE: "_" is a wildcard unescaped
    if views.dialect == "postgres":
        sql = (
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE :pattern ESCAPE '\\' ORDER BY tablename"
        )
    else:
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name LIKE :pattern ESCAPE '\\' ORDER BY name"
        )
    with views.transaction() as tx:
        names = [str(row["name"]) for row in tx.execute(sql, {"pattern": pattern})]
        for name in names:
            tx.execute(f"DROP TABLE IF EXISTS {name}")
    if names:
        log.warning("dropped %d table(s) a killed rebuild left behind: %s", len(names), names)
    return names


def _rebuild(
    app: KamApplication,
    views: ViewDatabase,
    models: Sequence[ReadModel],
    *,
    chunk: int,
    clock: Callable[[], date],
    progress: Callable[[int, int], None] | None,
) -> int:
    builder = Projector(app, views, models, batch_size=chunk, clock=clock)
    _prepare(views, models)
    position, head = 0, app.recorder.max_notification_id() or 0
    # Read the next chunk of the log while this one is applied (database I/O overlaps
    # Python work); one chunk ahead at most, so memory stays flat.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kam-rebuild-read") as reader:
        pending = reader.submit(app.recorder.select_notifications, 1, chunk)
        while True:
            notifications = pending.result()
            if not notifications:
                break
            position = notifications[-1].id
            pending = reader.submit(app.recorder.select_notifications, position + 1, chunk)
            start = notifications[0].id - 1
            with views.transaction() as tx:
                builder._apply(
                    tx, notifications, {m.name: (start, 0) for m in models}, clock(), track=False
                )
            for model in models:
                model.committed()
            if progress is not None:
                progress(position, max(head, position))
    with views.transaction() as tx:
        _finish_derived(tx, models, clock())
    for model in models:
        _stop_deferring(model)
        model.committed()
    return _swap(app, views, builder, models, position, clock)


def _prepare(views: ViewDatabase, models: Sequence[ReadModel]) -> None:
    with views.transaction() as tx:
        for model in models:
            for table in model.table_names():
                tx.execute(f"DROP TABLE IF EXISTS {table}{SUFFIX}")
            for statement in model.ddl(views.dialect, SUFFIX):
                tx.execute(statement)
    for model in models:
        model.use_suffix(SUFFIX, assume_empty=True)
        if isinstance(model, HealthModel):
            model.defer_scores = True
        if isinstance(model, PortfolioModel):
            model.defer_shares = True


def _finish_derived(tx: Tx, models: Sequence[ReadModel], today: date) -> None:
    for model in models:
        if isinstance(model, HealthModel):
            model.score(tx, sorted(model.dirty_accounts), today)
            model.scores.flush(tx)
            model.dirty_accounts.clear()
        if isinstance(model, PortfolioModel):
            model.rank(tx)
            model.revenue_changed = False


def _stop_deferring(model: ReadModel) -> None:
    if isinstance(model, HealthModel):
        model.defer_scores = False
    if isinstance(model, PortfolioModel):
        model.defer_shares = False


def _swap(
    app: KamApplication,
    views: ViewDatabase,
    builder: Projector,
    models: Sequence[ReadModel],
    position: int,
    clock: Callable[[], date],
) -> int:
    for model in models:
        model.use_suffix(SUFFIX, assume_empty=False)
    with views.transaction() as tx:
        builder.tracked(tx, lock=True)  # the live projector waits until the swap commits
        while True:  # events written since the build: applied to the fresh tables first
            notifications = app.recorder.select_notifications(position + 1, limit=5000)
            if not notifications:
                break
            builder._apply(
                tx, notifications, {m.name: (position, 0) for m in models}, clock(), track=False
            )
            position = notifications[-1].id
        for model in models:
            for table in model.table_names():
                tx.execute(f"DROP TABLE IF EXISTS {table}")
                tx.execute(f"ALTER TABLE {table}{SUFFIX} RENAME TO {table}")
            for index, _table, _columns in model.indexes:
                tx.execute(f"DROP INDEX IF EXISTS {index}{SUFFIX}")
            for statement in model.index_ddl(""):
                tx.execute(statement)
            tx.execute(
                "UPDATE rm_tracking SET position = :position, generation = generation + 1 "
                "WHERE model = :model",
                {"position": position, "model": model.name},
            )
        record_shapes(tx, views.dialect, models)
    for model in models:
        model.use_suffix("", assume_empty=False)
    _analyze(views, models)
    return position


def _analyze(views: ViewDatabase, models: Sequence[ReadModel]) -> None:
    """Fresh statistics for the swapped-in tables, so queries get index plans at once."""
    with views.transaction() as tx:
        for model in models:
            for table in model.table_names():
                tx.execute(f"ANALYZE {table}")
