"""For generated histories, processing the log incrementally in random batch sizes gives the
same five read models as rebuilding them from scratch (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.projections.test_projector import snapshot
from tests.strategies import apply_history, histories
from tests.support import open_views

from kam_domain.application import KamApplication
from kam_projections.db import ViewDatabase
from kam_projections.projector import Projector
from kam_projections.rebuild import rebuild

TODAY = date(2026, 6, 30)


@pytest.fixture
def views(database_url: str) -> Iterator[ViewDatabase]:
    database = open_views(database_url)
    try:
        yield database
    finally:
        database.close()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=histories(max_accounts=2, max_steps=40),
    sizes=st.lists(st.integers(min_value=1, max_value=25), min_size=1, max_size=8),
)
def test_incremental_processing_in_random_batch_sizes_equals_a_rebuild(
    app: KamApplication, views: ViewDatabase, steps: list[object], sizes: list[int]
) -> None:
    projector = Projector(app, views, clock=lambda: TODAY)
    projector.setup()
    apply_history(app, steps)  # type: ignore[arg-type]
    turn = 0
    while True:
        projector.batch_size = sizes[turn % len(sizes)]
        turn += 1
        if projector.run_once() == 0:
            break
    assert projector.position() == (app.recorder.max_notification_id() or 0)
    incremental = snapshot(views)
    rebuild(app, views, clock=lambda: TODAY)
    assert snapshot(views) == incremental
