"""The composition root: settings -> the services every entry point uses, opened on first use
and closed together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from kam_api.auth import Role
from kam_api.bootstrap import open_services
from kam_api.cli import cli
from kam_api.settings import Settings
from kam_domain.commands import RegisterAccount
from kam_domain.values import Envelope, ServiceProfile
from kam_projections.db import PostgresViews, SqliteViews
from kam_projections.projector import MODEL_NAMES
from kam_store.features import PostgresStoreFeatures, StoredBytesFeatures


def test_the_services_are_those_of_the_store_the_settings_name(database_url: str) -> None:
    with open_services(Settings(database_url=database_url, pg_pool_size=4)) as services:
        app = services.app
        assert services.app is app  # opened once
        result = app.handle(
            RegisterAccount(
                name="Root Co", industry="x", region="y", service_profile=ServiceProfile.LIGHT
            ),
            meta=Envelope(actor="ann"),
        )
        projector = services.projector
        projector.setup()
        projector.catch_up()
        assert projector.position() == result.position
        assert services.users.authenticate(services.users.add("ann", Role.VIEWER)) is not None
        assert services.report_executor.submit(lambda: 42).result() == 42
        views = services.views
        if services.database.is_postgres:
            assert isinstance(app.store_features, PostgresStoreFeatures)
            assert isinstance(views, PostgresViews)
        else:
            assert isinstance(app.store_features, StoredBytesFeatures)
            assert isinstance(views, SqliteViews)
    # Closing the services closes the read models' database: on PostgreSQL, its pool (which
    # the abstract ViewDatabase.close, once registered by mistake, left open until collected).
    if isinstance(views, PostgresViews):
        assert views.pool.closed


def test_a_service_is_opened_only_when_used(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/var/kam.db")
    with open_services(settings) as services:
        services.users.add("root", Role.ADMIN)
    # The user store is in the read models' file; the event store was never opened.
    assert (tmp_path / "var" / "kam-views.db").exists()
    assert not (tmp_path / "var" / "kam.db").exists()


def test_closing_the_services_closes_what_was_opened(tmp_path: Path) -> None:
    with open_services(Settings(database_url=f"sqlite:///{tmp_path}/kam.db")) as services:
        executor: ThreadPoolExecutor = services.report_executor
        assert services.app.exists(uuid4()) is False
    with pytest.raises(RuntimeError):
        executor.submit(lambda: None)  # shut down
    with pytest.raises(RuntimeError, match="closed"):
        _ = services.app


def test_rebuild_help_names_every_read_model() -> None:
    result = CliRunner().invoke(cli, ["rebuild", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for name in MODEL_NAMES:
        assert name in text
    assert f"all {len(MODEL_NAMES)} by default" in text
