"""Builds the application service from settings (used by the CLI and, later, create_app)."""

from __future__ import annotations

from kam_api.settings import Settings
from kam_domain.application import KamApplication
from kam_projections.db import ViewDatabase, open_views, setup_lock


def open_application(settings: Settings) -> KamApplication:
    """The application service on the store the settings name (creating its tables if need
    be, one process at a time)."""
    with setup_lock(settings.database_url):
        return _application(settings)


def _application(settings: Settings) -> KamApplication:
    return KamApplication(
        env=settings.library_env(),
        tier_caps=settings.tier_caps,
        snapshot_interval=settings.snapshot_interval,
        aggregate_cache_size=settings.aggregate_cache_size,
        liveness_ttl=settings.liveness_ttl,
    )


def open_read_models(settings: Settings) -> ViewDatabase:
    """The read-model database that goes with the settings' event store."""
    return open_views(settings.database_url)
